"""`andon endpoint apply|list|show` through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, andon_env, run  # noqa: F401  (CLI fixtures)


def test_apply_list_show(run: Run, tmp_path: Path) -> None:  # noqa: F811
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    path = tmp_path / "bot.yaml"
    path.write_text(
        "name: fraud-explainer\nteam: fraud-ml\nkind: llm\n"
        "upstreams:\n  - {url: 'http://127.0.0.1:8001/v1', model: small, api_key_env: LLM_KEY}\n"
        "timeout: 2s\nfallback: {content: paused}\n"
    )
    applied = run("endpoint", "apply", str(path), "--reason", "first")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (
        "endpoint fraud-explainer v1 of team fraud-ml applied: llm, serves http://127.0.0.1:8001/v1"
    )
    again = run("endpoint", "apply", str(path))
    assert "v1 of team fraud-ml unchanged" in again.stdout
    listed = json.loads(run("endpoint", "list", "--format", "json").stdout)
    assert [(e["name"], e["version"], e["kind"]) for e in listed] == [("fraud-explainer", 1, "llm")]
    shown = run("endpoint", "show", "fraud-explainer")
    assert shown.returncode == 0
    assert "upstream 1: http://127.0.0.1:8001/v1 as small, key from $LLM_KEY" in shown.stdout
    assert "timeout 2000 ms, at most 2 retries" in shown.stdout and "fallback: {'content'" in (
        shown.stdout
    )
    as_json = json.loads(run("endpoint", "show", "fraud-explainer", "--format", "json").stdout)
    assert as_json["spec"]["upstreams"][0]["api_key_env"] == "LLM_KEY"

    path.write_text("name: fraud-explainer\nteam: fraud-ml\nkind: llm\nretries: -1\nbudget: 3\n")
    bad = run("endpoint", "apply", str(path))
    assert bad.returncode == 2
    assert "budget: is not a key of an endpoint" in bad.stderr
    assert "retries: must be a whole number from 0 to 10" in bad.stderr
    assert "upstreams: an llm endpoint needs a list" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run("endpoint", "apply", str(tmp_path / "none.yaml"))
    assert missing.returncode == 1 and "no file at" in missing.stderr
    unknown = run("endpoint", "show", "nope")
    assert unknown.returncode == 1 and "no endpoint 'nope'" in unknown.stderr


def test_budget_show(run: Run, tmp_path: Path, andon_env: dict[str, str]) -> None:  # noqa: F811
    from andon.core.clock import SystemClock
    from andon.core.config import Settings
    from andon.serve import budgets as ledger
    from andon.serve.spec import parse_endpoint
    from andon.store.db import Database

    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    text = (
        "name: fraud-explainer\nteam: fraud-ml\nkind: llm\n"
        "upstreams: ['http://127.0.0.1:8001/v1']\n"
        "cost: {per_request: 0.01}\n"
        "budgets:\n  - {scope: endpoint, period: day, limit: 0.05}\n"
        "  - {scope: team, period: month, limit: 100}\n"
    )
    path = tmp_path / "bot.yaml"
    path.write_text(text)
    assert run("endpoint", "apply", str(path)).returncode == 0
    assert json.loads(run("budget", "show", "--format", "json").stdout) == []
    db = Database(Settings(home=Path(andon_env["ANDON_HOME"])).resolved_database_url)
    spec = parse_endpoint(text)
    for _ in range(4):
        held = ledger.reserve(
            db, SystemClock(), endpoint=spec.name, team=spec.team, principal="alice",
            budgets=spec.budgets, amount_nanos=ledger.estimate(spec, {}),
        )  # fmt: skip
        ledger.settle(db, SystemClock(), held, ledger.cost_of(spec, None))
    db.dispose()
    shown = json.loads(
        run("budget", "show", "--endpoint", "fraud-explainer", "--format", "json").stdout
    )
    assert [(b["scope"], b["key"], b["spent"], b["left"], b["percent"]) for b in shown] == [
        ("endpoint", "fraud-explainer", "0.04", "0.01", 80.0),
        ("team", "fraud-ml", "0.04", "99.96", 0.0),
    ]
    table = run("budget", "show", "--team", "fraud-ml")
    assert table.returncode == 0
    assert "fraud-explainer" in table.stdout and "80 %" in table.stdout and "0.05" in table.stdout
    status = run("status")
    assert "budgets" in status.stdout and "at 80 % or more" in status.stdout
    missing = run("budget", "show", "--endpoint", "nope")
    assert missing.returncode == 1 and "no endpoint 'nope'" in missing.stderr


def test_a_model_endpoint_shows_its_deployments(run: Run, tmp_path: Path) -> None:  # noqa: F811
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    for n in (1, 2):
        weights = tmp_path / f"w{n}.txt"
        weights.write_text(f"weights {n}\n")
        done = run("model", "register", "scorer", "--team", "fraud-ml", "--artifact", str(weights))
        assert done.returncode == 0, done.stderr
    assert run("model", "alias", "scorer@1", "shadow").returncode == 0
    path = tmp_path / "scorer.yaml"
    path.write_text("name: scorer\nteam: fraud-ml\nkind: model\nmodel: scorer\nalias: shadow\n")
    assert run("endpoint", "apply", str(path)).returncode == 0
    shown = run("endpoint", "show", "scorer")
    assert "deployed scorer v1 at " in shown.stdout and "alias moved by hand" in shown.stdout
    assert run("model", "alias", "scorer@2", "shadow").returncode == 0
    synced = run("endpoint", "deployments", "scorer", "--sync", "--format", "json")
    assert synced.returncode == 0, synced.stderr
    rows = json.loads(synced.stdout)
    assert [(d["version"], d["from_version"], d["cause"]) for d in rows] == [
        (2, 1, "alias"),
        (1, None, "alias"),
    ]
    again = json.loads(run("endpoint", "deployments", "scorer", "--sync", "-f", "json").stdout)
    assert again == rows
    table = run("endpoint", "deployments", "scorer")
    assert table.returncode == 0 and "deployments" in table.stdout
    as_json = json.loads(run("endpoint", "show", "scorer", "--format", "json").stdout)
    assert [d["version"] for d in as_json["deployments"]] == [2, 1]
    assert "deployed scorer v2 (was v1)" in run("endpoint", "show", "scorer").stdout


def test_show_says_the_endpoints_policy(run: Run, tmp_path: Path) -> None:  # noqa: F811
    assert run("init").returncode == 0
    assert run("team", "create", "support").returncode == 0
    path = tmp_path / "bot.yaml"
    path.write_text(
        "name: bot\nteam: support\nkind: llm\nupstreams: [http://127.0.0.1:9/v1]\n"
        "rate_limits: {principal: 10/s, team: {rate: 600/m, burst: 50}}\nslo: {p95: 800ms}\n"
        "guards: {pii: [card_number], max_chars: 2000, trip: {violations: 3, window: 60s}}\n"
        "log_prompts: true\n"
    )
    assert run("endpoint", "apply", str(path)).returncode == 0
    shown = " ".join(run("endpoint", "show", "bot").stdout.split())
    assert "rate limit per principal: 10/s (burst 10)" in shown
    assert "rate limit per team: 600/m (burst 50)" in shown
    assert "latency objective: p95 within 800 ms" in shown
    assert (
        "output guards: pii card_number; at most 2000 characters (on violation: refuse; 3 in 60 s "
        "pull the cord)"
    ) in shown
    assert "prompts and answers kept on spans, personal data masked" in shown
