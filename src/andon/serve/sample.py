"""The sample endpoints of the demo line (fraud-ml): the promoted fraud model and an LLM."""

from __future__ import annotations


def sample_endpoints(
    team: str = "fraud-ml", llm_url: str = "http://127.0.0.1:8781/v1"
) -> dict[str, str]:
    """Endpoint YAML documents by file name: ``fraud-scorer`` serves the model version the
    ``champion`` alias points to; ``fraud-explainer`` proxies an OpenAI-compatible server at
    ``llm_url`` (the demo starts one on loopback) under a small daily budget."""
    return {
        "fraud-scorer.endpoint.yaml": f"""# A registry model behind the gateway (andon endpoint apply)
name: fraud-scorer
team: {team}
kind: model
description: Scores card-not-present payments for the fraud review queue.
model: fraud-detector
alias: champion            # a promotion or rollback moves what this serves, without a restart
timeout: 500ms
retries: 0
limits:
  max_in_flight: 32
  max_queue: 32
  max_body: 256KB
fallback:                  # what callers get while a cord stops it: send to manual review
  predictions: [1]
  note: stopped; every payment goes to manual review
""",
        "fraud-explainer.endpoint.yaml": f"""# An OpenAI-compatible LLM behind the gateway (andon endpoint apply)
name: fraud-explainer
team: {team}
kind: llm
description: Drafts the analyst's note explaining why a payment was flagged.
upstreams:                 # the fallback chain: tried in order
  - url: {llm_url}
    model: demo-llm
    api_key_env: FRAUD_LLM_KEY   # read by each gateway worker; never stored
timeout: 10s
retries: 2                 # never on a 4xx; exponential backoff with jitter
limits:
  max_in_flight: 16
  max_queue: 16
  max_body: 1MB
cost:
  per_request: 0.01
budgets:                   # small on purpose: the demo spends it and sees the 429
  - {{scope: endpoint, period: day, limit: 0.10}}
guards:                    # checked on every answer before any of it is sent
  pii: [card_number, email]
  trip: {{violations: 3, window: 60s}}   # jidoka: 3 refused answers in a minute stop it
# No fallback: while a cord stops it, callers get 503 problem+json naming who and why.
""",
    }
