"""SQL over both tiers: one read-only SELECT, closed by the connection's configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from andon.core.errors import Invalid
from andon.data.sql_guard import SqlLimits
from andon.telemetry import query, spool, tiers
from andon.telemetry.sampling import parse
from andon.telemetry.writer import Writer
from tests.telemetry.rows import spans

S = 1_000_000_000
NOW = 1_796_342_400 * S
KEEP_ALL = parse({"policies": [{"name": "all", "type": "always_sample"}]})
LIMITS = SqlLimits(5, "512MB")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Teams home and away, each with hot rows and a day in the cold tier."""
    from datetime import date

    root = tmp_path_factory.mktemp("query")
    for team, base in (("home", 0), ("away", 1000)):
        rows = [{"trace": base + i, "span": 0, "start": NOW - (i % 2) * 40 * 86_400 * S,
                 "endpoint": "chat", "ms": 10 + i, "attrs": {"team.secret": team}}
                for i in range(10)]  # fmt: skip
        spool.write(root, team, "spans", spans(rows, team))
    Writer(root, lambda _: KEEP_ALL, lambda _: {}, clock=lambda: NOW).run_once()
    for team in ("home", "away"):
        tiers.retain(root, team, date(2026, 12, 4))
    assert tiers.cold_files(root, "spans", ["away"])
    return root


def run(home: Path, sql: str, teams: tuple[str, ...] = ("home",)) -> list[dict[str, object]]:
    return query.run(home, list(teams), sql, LIMITS).table.to_pylist()


def test_one_select_reads_both_tiers(home: Path) -> None:
    assert run(home, "SELECT count(*) AS n FROM spans") == [{"n": 10}]
    rows = run(home, "SELECT endpoint, quantile_cont(duration_ms, 0.95) AS p95 FROM spans "
                     "GROUP BY endpoint")  # fmt: skip
    assert rows[0]["endpoint"] == "chat" and 17 < float(rows[0]["p95"]) < 19  # type: ignore[arg-type]
    assert run(home, "SELECT attributes->>'$.\"team.secret\"' AS t FROM spans LIMIT 1") == [
        {"t": "home"}
    ]
    assert run(home, "SELECT count(*) AS n FROM spans", ("home", "away")) == [{"n": 20}]


def test_the_views_hold_only_the_teams_asked_for(home: Path) -> None:
    away_file = tiers.cold_files(home, "spans", ["away"])[0]
    for sql in (
        f"SELECT * FROM read_parquet('{away_file}')",
        f"SELECT * FROM '{away_file}'",
        f"SELECT * FROM read_parquet('{away_file.parent.parent.parent}/**/*.parquet')",
        f"SELECT * FROM read_text('{home / 'telemetry' / 'hot' / 'away.duckdb'}')",
    ):
        with pytest.raises(Invalid, match="reaches outside"):
            run(home, sql)
    assert all(
        r["t"] == "home"
        for r in run(home, "SELECT attributes->>'$.\"team.secret\"' AS t FROM spans")
    )


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("INSERT INTO spans SELECT * FROM spans", "INSERT"),
        ("DELETE FROM spans", "DELETE"),
        ("CREATE TABLE x AS SELECT 1", "CREATE"),
        ("COPY spans TO '/tmp/out.csv'", "COPY"),
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
        ("INSTALL httpfs", "INSTALL or LOAD"),
        ("LOAD httpfs", "INSTALL or LOAD"),
        ("SET enable_external_access = true", "SET"),
        ("PRAGMA database_list", "PRAGMA"),
        ("SELECT 1; SELECT 2", "has 2"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reaches outside"),
        ("SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')", "reaches outside"),
        ("SELECT * FROM glob('/*')", "reaches outside"),
        ("SELECT getenv('HOME')", "does not run"),
        ("", "empty"),
    ],
)
def test_anything_but_one_read_only_select_is_refused(home: Path, sql: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        run(home, sql)
    assert caught.value.field == "sql"
    assert words in caught.value.message


def test_a_slow_query_is_stopped_at_the_limit(home: Path) -> None:
    with pytest.raises(Invalid, match=r"longer than the 0\.5 s limit"):
        query.run(home, ["home"], "SELECT count(*) FROM range(10000000000) a, spans",
                  SqlLimits(0.5, "512MB"))  # fmt: skip


def test_results_are_cut_at_max_rows_and_say_so(home: Path) -> None:
    result = query.run(home, ["home"], "SELECT * FROM range(50)", LIMITS, max_rows=20)
    assert result.truncated and result.table.num_rows == 20
    assert json.loads(json.dumps(result.as_dict()))["truncated"] is True


def test_no_team_gives_empty_views(home: Path) -> None:
    assert run(home, "SELECT count(*) AS n FROM spans", ()) == [{"n": 0}]
    assert run(home, "SELECT count(*) AS n FROM logs", ()) == [{"n": 0}]
