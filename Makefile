# andon: two commands on a fresh machine, `make demo` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
VENV := .venv
BIN := $(VENV)/bin
PG_BIN := /usr/lib/postgresql/15/bin
CHROMIUM := /usr/bin/chromium
CHECKED := src tests benchmarks
DEMO_GATEWAY_PORT ?= 8780
DEMO_TELEMETRY_PORT ?= 8781
DEMO_LLM_PORT ?= 8781

.PHONY: demo test env system-deps lint unit clean docs

# --compile-bytecode: a venv without .pyc files makes every process compile its imports
# (about 3,200 files) where Python may not write them (PYTHONDONTWRITEBYTECODE, read-only CI).
$(BIN)/andon: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	uv sync --frozen --extra spark --python python3.11 --compile-bytecode
	@touch $@

env: $(BIN)/andon

# Debian packages the tests need: a PostgreSQL server, a browser for the console test and a
# Java runtime for the Spark engine (the andon[spark] extra, installed by `env`).
system-deps:
	@missing=""; \
	[ -x $(PG_BIN)/initdb ] || missing="$$missing postgresql"; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing"; \
	    mkdir -p /usr/share/man/man1; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note:$$missing missing and not root: those tests will skip"; fi; \
	fi

demo: env
	$(BIN)/andon init
	$(BIN)/andon demo-seed
	@echo "--- AI-ready data: a sample with injected defects, its contract, one scan per table (exit 4 expected)"
	$(BIN)/andon data sample --out $${ANDON_HOME:-.andon}/sample
	$(BIN)/andon contract apply $${ANDON_HOME:-.andon}/sample/orders.odcs.yaml --team fraud-ml
	@echo "--- Where contracts may read: the team's data roots (the home's sample folder is everyone's)"
	$(BIN)/andon data root list fraud-ml
	$(BIN)/andon check run $${ANDON_HOME:-.andon}/sample/orders.odcs.yaml || [ $$? -eq 4 ]
	@echo "--- The contract is ODCS as the standard writes it (its own JSON schema judges every contract)"
	$(BIN)/andon contract show sample-orders | head -n 14
	$(BIN)/andon data snapshot fraud-ml/orders --materialize
	@echo "--- Catalog: a profile (PII masked), field classification by the data-steward, proposals"
	$(BIN)/andon data profile fraud-ml/orders
	ANDON_PRINCIPAL=fatou $(BIN)/andon catalog classify fraud-ml/orders
	$(BIN)/andon catalog proposals fraud-ml/orders --status pending
	@echo "--- Schema changes are incidents: version 2.0.0 drops a column, so it waits for a data-steward"
	$(BIN)/andon data sample-change --out $${ANDON_HOME:-.andon}/sample
	$(BIN)/andon contract apply $${ANDON_HOME:-.andon}/sample/orders-v2.odcs.yaml --team fraud-ml
	$(BIN)/andon contract changes sample-orders
	@if $(BIN)/andon contract changes sample-orders --status pending -f json | grep -q '"pending"'; then \
	  echo "ANDON_PRINCIPAL=fatou andon contract approve sample-orders@2.0.0 (fatou is fraud-ml's data-steward)"; \
	  ANDON_PRINCIPAL=fatou $(BIN)/andon contract approve sample-orders@2.0.0 \
	    --reason "fraud features no longer read customer_email"; \
	fi
	@echo "--- The AI factory: tracked runs, registered models, lineage"
	$(BIN)/andon model demo-train
	$(BIN)/andon model list
	@echo "--- Evaluations: each challenger against the champion on the holdout (quality, slices, bias, latency, cost)"
	$(BIN)/andon eval run fraud-detector@2 --suite $${ANDON_HOME:-.andon}/fraud/fraud-suite.yaml
	$(BIN)/andon eval run fraud-detector@3 --suite $${ANDON_HOME:-.andon}/fraud/fraud-suite.yaml
	$(BIN)/andon lineage show fraud-detector@champion --upstream
	@echo "--- Model cards: the owner writes the narrative, andon gathers the facts"
	$(BIN)/andon model card-edit fraud-detector@champion purpose --text "Flags card-not-present payments that look fraudulent, so analysts review them before settlement."
	$(BIN)/andon model card-edit fraud-detector@champion intended_users --text "The fraud operations team, as a review queue; never to decline a payment on its own."
	$(BIN)/andon model card-edit fraud-detector@champion limitations --text "Trained on synthetic sample data: not validated on real traffic or new merchant segments."
	$(BIN)/andon model card-edit fraud-detector@champion risks --text "A false positive delays an honest customer; a false negative lets fraud settle. Analysts confirm every flag."
	$(BIN)/andon model card fraud-detector@champion
	$(BIN)/andon model card fraud-detector@3 --format html --out $${ANDON_HOME:-.andon}/fraud-detector-3-card.html
	@echo "--- Gates as policy: the fraud-ml stage policy (gate, four eyes, rollback rule)"
	$(BIN)/andon policy sample --team fraud-ml --out $${ANDON_HOME:-.andon}/fraud-ml.policy.yaml
	$(BIN)/andon policy apply $${ANDON_HOME:-.andon}/fraud-ml.policy.yaml
	@echo "--- The gate: challenger @3 is biased (exit 4 expected, the failing clause named), @2 passes"
	$(BIN)/andon gate check fraud-detector@3 --stage production || [ $$? -eq 4 ]
	$(BIN)/andon gate check fraud-detector@2 --stage production
	@echo "--- Four eyes: admin asks, gita (approver) and hugo (risk-owner) approve, then promotion"
	@request=$$($(BIN)/andon approval request fraud-detector@2 --stage production \
	    --reason "F1 up 13 points on the holdout, bias within bound" --format json \
	  | $(BIN)/python -c 'import json, sys; print(json.load(sys.stdin)["id"])') && \
	echo "approval request $$request" && \
	ANDON_PRINCIPAL=gita $(BIN)/andon approval approve $$request --as approver \
	  --reason "gate passed; slices and latency reviewed" && \
	ANDON_PRINCIPAL=hugo $(BIN)/andon approval approve $$request --as risk-owner \
	  --reason "fairness across age bands reviewed"
	$(BIN)/andon model promote fraud-detector@2 --stage production --reason "challenger beats champion"
	@echo "--- Rollback: one command puts the previous champion back, with the reason recorded"
	$(BIN)/andon model rollback fraud-detector --stage production --reason "demo: p95 regression seen after release"
	$(BIN)/andon model promotions fraud-detector
	@echo "--- Inference: the endpoints the gateway serves (the champion fraud model, an LLM explainer)"
	$(BIN)/andon endpoint sample --out $${ANDON_HOME:-.andon}/endpoints --llm-url http://127.0.0.1:$(DEMO_LLM_PORT)/v1
	$(BIN)/andon endpoint apply $${ANDON_HOME:-.andon}/endpoints/fraud-scorer.endpoint.yaml
	$(BIN)/andon endpoint apply $${ANDON_HOME:-.andon}/endpoints/fraud-explainer.endpoint.yaml
	$(BIN)/andon endpoint list
	@echo "--- The gateway: 2 workers in front of the registry and a loopback LLM the demo starts"
	@home=$${ANDON_HOME:-.andon}; gw=http://127.0.0.1:$(DEMO_GATEWAY_PORT); \
	$(BIN)/andon demo-llm --port $(DEMO_LLM_PORT) > $$home/demo-llm.log 2>&1 & llm=$$!; \
	$(BIN)/andon gateway --workers 2 --port $(DEMO_GATEWAY_PORT) > $$home/gateway.log 2>&1 & gateway=$$!; \
	trap 'kill $$llm $$gateway 2>/dev/null; wait 2>/dev/null' EXIT; \
	export ANDON_GATEWAY_TOKEN=$$($(BIN)/andon token create --name demo-traffic | tail -n 1); \
	set -e; \
	echo "\$$ andon demo-traffic serve   # a prediction from the champion, an explanation from the LLM"; \
	$(BIN)/andon demo-traffic serve --gateway $$gw; \
	echo "\$$ andon demo-traffic guard   # answers quoting a card number are refused; the third stops the endpoint"; \
	$(BIN)/andon demo-traffic guard --gateway $$gw; \
	$(BIN)/andon endpoint violations fraud-explainer; \
	echo "--- The cord stops serving on every worker: the explainer (stopped by the gateway) answers 503, the scorer its safe fallback"; \
	$(BIN)/andon cord pull fraud-detector --reason "demo: merchant_risk drifted"; \
	sleep 0.5; \
	$(BIN)/andon demo-traffic stopped --gateway $$gw; \
	$(BIN)/andon cord status; \
	ANDON_PRINCIPAL=hugo $(BIN)/andon cord release --endpoint fraud-explainer --reason "prompt no longer echoes payment data"; \
	ANDON_PRINCIPAL=hugo $(BIN)/andon cord release fraud-detector --reason "drift explained: a new merchant segment"; \
	sleep 0.5; \
	echo "\$$ andon demo-traffic budget  # the explainer's 0.10 USD a day runs out: 429 naming the budget"; \
	$(BIN)/andon demo-traffic budget --gateway $$gw; \
	$(BIN)/andon budget show --endpoint fraud-explainer; \
	$(BIN)/andon demo-traffic predict --gateway $$gw; \
	curl -s $$gw/metrics 2>/dev/null | grep -E '^andon_gateway_requests_total' || true
	@echo "--- Telemetry: OTLP in (an app's traces as OTLP/JSON), PII masked at intake, tail sampling keeps every error trace"
	@home=$${ANDON_HOME:-.andon}; \
	$(BIN)/andon telemetry serve --port $(DEMO_TELEMETRY_PORT) > $$home/telemetry.log 2>&1 & receiver=$$!; \
	trap 'kill $$receiver 2>/dev/null; wait 2>/dev/null' EXIT; \
	export ANDON_TELEMETRY_TOKEN=$$($(BIN)/andon token create --name demo-otlp | tail -n 1); \
	set -e; \
	$(BIN)/andon demo-otlp --receiver http://127.0.0.1:$(DEMO_TELEMETRY_PORT) --team fraud-ml; \
	sleep 2; \
	echo "\$$ andon telemetry query \"SELECT name, status_code, attributes FROM spans WHERE status_code = 'error' ... LIMIT 3\""; \
	$(BIN)/andon telemetry query "SELECT name, status_code, attributes->>'$$.\"enduser.email\"' AS email, attributes->>'$$.\"payment.note\"' AS note FROM spans WHERE status_code = 'error' AND service_name = 'checkout' ORDER BY start_time LIMIT 3"; \
	echo "\$$ andon telemetry query (p95 and errors per endpoint: the gateway's spans and the app's)"; \
	$(BIN)/andon telemetry query "SELECT service_name, endpoint, count(*) AS spans, round(quantile_cont(duration_ms, 0.95), 1) AS p95_ms, count(*) FILTER (WHERE status_code = 'error') AS errors FROM spans WHERE parent_span_id = '' GROUP BY ALL ORDER BY ALL"
	$(BIN)/andon telemetry sampling
	@echo "--- Lineage coverage: which production models can be explained end to end"
	$(BIN)/andon lineage coverage
	@echo "--- The andon board"
	$(BIN)/andon status
	@if [ "$${ANDON_DEMO_SERVE:-1}" != "0" ]; then \
	  echo "console sign-in token for admin (shown once):"; \
	  $(BIN)/andon token create --name console-demo | tail -n 1; \
	  $(BIN)/andon serve; \
	fi

lint: env
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/ruff format --check $(CHECKED)
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two workers (pytest-xdist): the suite is designed for 2 cores; each worker starts its own
# PostgreSQL and Spark when its tests need them.
unit: env
	$(BIN)/pytest -n 2 --durations=20

test: env system-deps lint unit

clean:
	rm -rf $(VENV) .andon .pytest_cache .mypy_cache .ruff_cache

# Regenerate docs/cli.md from the commands (tests/test_docs.py fails when it is stale).
docs: env
	$(BIN)/typer andon.cli.main utils docs --name andon --output docs/cli.md
