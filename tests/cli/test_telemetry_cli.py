"""`andon telemetry` as a user runs it: fold, query in three formats, sampling, policies, retain."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from andon.telemetry import spool
from tests.cli.conftest import Run
from tests.cli.test_cli import _one_clear_line
from tests.telemetry.rows import spans


def test_fold_query_sampling_and_retain(run: Run, andon_env: dict[str, str]) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "shop", "--owner", "admin").returncode == 0
    rows = [{"trace": 1, "span": 1, "status": "error", "endpoint": "/pay",
             "attrs": {"user.email": "[email]", "note": "[bold]not markup[/]"}},
            {"trace": 1, "span": 2, "parent": 1}]  # fmt: skip
    spool.write(Path(andon_env["ANDON_HOME"]), "shop", "spans", spans(rows, team="shop"))
    folded = run("telemetry", "fold", "--format", "json")
    assert folded.returncode == 0, folded.stderr
    assert json.loads(folded.stdout)["kept_traces"] == 1
    sql = "SELECT span_id, attributes->>'$.\"user.email\"' AS email, attributes->>'$.note' AS note FROM spans ORDER BY span_id"  # fmt: skip
    table = run("telemetry", "query", sql)
    assert table.returncode == 0, table.stderr
    assert "[email]" in table.stdout and "[bold]not markup[/]" in table.stdout  # data, not Rich
    as_csv = list(csv.DictReader(io.StringIO(run("telemetry", "query", sql, "-f", "csv").stdout)))
    assert [r["email"] for r in as_csv] == ["[email]", ""]
    as_json = json.loads(run("telemetry", "query", sql, "--format", "json").stdout)
    assert len(as_json["rows"]) == 2
    sampling = run("telemetry", "sampling", "--format", "json")
    assert {(r["decision"], r["policy"]) for r in json.loads(sampling.stdout)} == {
        ("kept", "errors")
    }
    budget = run("telemetry", "budget", "set", "shop", "--bytes-per-day", "1000000",
                 "--action", "drop_debug_logs", "--reason", "pilot")  # fmt: skip
    assert budget.returncode == 0, budget.stderr
    shown = run("telemetry", "budget", "show", "shop")
    assert "of 1,000,000 bytes today" in shown.stdout, shown.stdout
    assert json.loads(run("telemetry", "budget", "show", "shop", "-f", "json").stdout)[
        "budget"
    ] == {"bytes_per_day": 1_000_000, "warn_at": 0.8, "action": "drop_debug_logs"}
    retained = run("telemetry", "retain", "--team", "shop")
    assert retained.returncode == 0 and "team shop" in retained.stdout


def test_bad_input_is_one_clear_line(run: Run) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "shop", "--owner", "admin").returncode == 0
    for args, words, code in (
        (("telemetry", "query", "DELETE FROM spans"), "SELECT", 2),
        (("telemetry", "query", "SELECT 1", "--team", "nobody"), "nobody", 1),
        (("telemetry", "policy", "unmask", "shop", "user.email", "--reason", " "), "why", 2),
        # the admin runs the platform; what may be stored unmasked is the data-steward's call
        (
            ("telemetry", "policy", "unmask", "shop", "user.email", "--reason", "support"),
            "telemetry.unmask",
            3,
        ),
        (("demo-otlp", "--team", "shop"), "ANDON_TELEMETRY_TOKEN", 2),
        (
            (
                "telemetry",
                "budget",
                "set",
                "shop",
                "--bytes-per-day",
                "10",
                "--action",
                "panic",
                "--reason",
                "x",
            ),
            "budget.action",
            2,
        ),
        (("telemetry", "budget", "set", "shop", "--reason", "x"), "--none", 2),
    ):
        proc = run(*args)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        assert words in _one_clear_line(proc), args


def test_cardinality_report_and_tag_schema(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "shop", "--owner", "admin").returncode == 0
    home = Path(andon_env["ANDON_HOME"])
    keys = [f"tag{i:03d}" for i in range(120)]
    rows = [{"trace": n, "span": n, "status": "error", "attrs": {k: f"{k}-{n}" for k in keys}}
            for n in range(10)]  # fmt: skip
    spool.write(home, "shop", "spans", spans(rows, team="shop"))
    assert run("telemetry", "fold").returncode == 0
    schema = tmp_path / "tags.yaml"
    schema.write_text("tags:\n" + "".join(f"  - {k}\n" for k in keys[:35]), encoding="utf-8")
    tried = run("telemetry", "cardinality", "--team", "shop", "--schema", str(schema))
    assert tried.returncode == 0, tried.stderr
    assert "120 keys -> 35" in tried.stdout and "tag000" in tried.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("tags: [a]\nouside: drop\n", encoding="utf-8")
    refused = run("telemetry", "tags", "set", "shop", str(bad), "--reason", "typo")
    assert refused.returncode == 2 and "ouside" in _one_clear_line(refused)
    done = run("telemetry", "tags", "set", "shop", str(schema), "--reason", "35 tags")
    assert done.returncode == 0, done.stderr
    assert json.loads(run("telemetry", "tags", "show", "shop").stdout)["outside"] == "drop"
    spool.write(home, "shop", "spans", spans([{**r, "trace": 50 + i, "span": 50 + i}
                                              for i, r in enumerate(rows)], team="shop"))  # fmt: skip
    folded = json.loads(run("telemetry", "fold", "--format", "json").stdout)
    assert folded["tags_dropped"] == 85 * 10
    report = json.loads(run("telemetry", "cardinality", "--team", "shop", "-f", "json").stdout)
    assert (report["schema"], report["keys_after"]) == ("team", 35)
    assert run("telemetry", "tags", "set", "shop", "--none", "--reason", "x").returncode == 0
