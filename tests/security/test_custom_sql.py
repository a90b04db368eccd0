"""Custom SQL is sandboxed: the probe's attacks through a ``type: sql`` rule, each refused.

The probe, as a team contributor over REST, read ``/etc/passwd`` and ``/proc/self/environ``
through ``read_text``, wrote a ``.pth`` with ``SELECT 1; COPY ...``, created a database with
``ATTACH`` and tried a download with ``INSTALL``. Here every such vector is refused with one
clear error before anything runs, leaves nothing on disk, and echoes no data: through the
service (apply and run), once over REST as a contributor, once through the CLI, on DuckDB,
on a real PostgreSQL and (slow) on Spark.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest
from sqlalchemy import select

from andon.auth import service as auth
from andon.core.config import load_settings
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.data import compile as engine
from andon.data import roots
from andon.data import service as data
from andon.data.contracts import parse_contract
from andon.data.engines import open_engine, spark_missing_reason, spark_session, stop_spark
from andon.data.sql_guard import SqlLimits, vet_contract
from andon.store.tables import data as d
from tests.api.conftest import api  # noqa: F401 - the live server fixture
from tests.api.live import Api, assert_problem
from tests.cli.conftest import Run
from tests.conftest import as_principal
from tests.data.conftest import CHECKED_AT, bind_warehouse, write_contract
from tests.pg import PostgresServer

SECRET = "top-secret-value"
OUTSIDE = "SECRET_OUTSIDE_42"
RULE_FIELD = "schema[0].properties[1].quality[0].query"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """The contract's folder: ``t.parquet`` (id, s) with a secret, and a file the contract
    does not name; beside it, ``outside/`` with files no contract names."""
    folder = tmp_path / "lake"
    folder.mkdir()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT range AS id, '{SECRET}' AS s FROM range(3)) TO '{folder / 't.parquet'}'"
    )
    con.execute(f"COPY (SELECT '{OUTSIDE}' AS x) TO '{folder / 'other.parquet'}'")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(f"x\n{OUTSIDE}\n")
    con.execute(f"COPY (SELECT '{OUTSIDE}' AS x) TO '{outside / 'o.parquet'}'")
    return folder


def _contract(
    folder: Path, query: str, cid: str = "probe", server: str = "", table: str = "t"
) -> Path:
    rule = json.dumps({"name": "probe_rule", "type": "sql", "query": query, "mustBe": 0})
    servers = server or "servers: [{server: local, type: local, path: ., format: parquet}]\n"
    return write_contract(
        folder,
        f"apiVersion: v3.0.2\nkind: DataContract\nid: {cid}\nversion: 1.0.0\nstatus: active\n"
        + servers
        + f"schema: [{{name: {table}, physicalName: t, properties: [{{name: id, "
        "logicalType: integer}, "
        f"{{name: s, logicalType: string, quality: [{rule}]}}]}}]\n",
        f"{cid}.odcs.yaml",
    )


@pytest.fixture
def sql_log() -> Iterator[list[str]]:
    """Every SQL statement andon's engines run."""
    logged: list[str] = []
    verbose, log = ibis.options.verbose, ibis.options.verbose_log
    ibis.options.verbose, ibis.options.verbose_log = True, logged.append
    yield logged
    ibis.options.verbose, ibis.options.verbose_log = verbose, log


@pytest.fixture
def contributor(admin: Context) -> Context:
    """Carol, a contributor of team ``probe-team``: she holds ``contract.apply``."""
    auth.create_team(admin, "probe-team")
    auth.create_principal(admin, "carol")
    auth.bind_role(admin, "carol", "contributor", scope="team", target="probe-team")
    return as_principal(admin, "carol")


# --------------------------------------------------------------------------- the vectors

# (query, what the refusal says, the file it would create if it ran): {x} is a scratch folder.
STATEMENTS = {
    "select-then-copy": (
        "SELECT 1; COPY (SELECT * FROM ${object}) TO '{x}/x.pth'",
        "exactly one SELECT statement; this query has 2",
        "x.pth",
    ),
    "copy": ("COPY (SELECT * FROM ${object}) TO '{x}/copy.csv'", "COPY statement", "copy.csv"),
    "attach": ("ATTACH '{x}/evil.duckdb' AS evil", "ATTACH statement", "evil.duckdb"),
    "select-then-attach": ("SELECT 2; ATTACH '{x}/evil2.duckdb'", "has 2", "evil2.duckdb"),
    "install": ("INSTALL httpfs", "LOAD statement", None),
    "load": ("LOAD httpfs", "LOAD statement", None),
    "set": ("SET enable_external_access = true", "SET statement", None),
    "pragma": ("PRAGMA enable_profiling", "PRAGMA statement", None),
    "call": ("CALL pragma_version()", "CALL statement", None),
    "create-table": ("CREATE TABLE pwn AS SELECT 1", "CREATE statement", None),
    "create-secret": ("CREATE PERSISTENT SECRET s (TYPE s3)", "CREATE statement", None),
    "export": ("EXPORT DATABASE '{x}/exported'", "EXPORT statement", "exported"),
    "comment-hides-nothing": (
        "SELECT 1 /* harmless */ ; COPY (SELECT 1) TO '{x}/c.csv' -- ;",
        "this query has 2",
        "c.csv",
    ),
}

# SELECTs that reach outside the contract's data: the parser lets them by, the box does not.
READS = {
    "read_text-passwd": "SELECT length(content) FROM read_text('/etc/passwd')",
    "read_text-environ": "SELECT length(content) FROM read_text('/proc/self/environ')",
    "read_csv-passwd": "SELECT count(*) FROM read_csv('/etc/passwd')",
    "read_blob": "SELECT length(content) FROM read_blob('/etc/hostname')",
    "read_csv-tmp": "SELECT count(*) FROM read_csv('{outside}/secret.csv')",
    "read_parquet-tmp": "SELECT count(*) FROM read_parquet('{outside}/o.parquet')",
    "replacement-scan": "SELECT count(*) FROM '{outside}/secret.csv'",
    "sibling-file": "SELECT count(*) FROM read_parquet('{lake}/other.parquet')",
    "glob": "SELECT count(*) FROM glob('/etc/*')",
    "parquet_metadata": "SELECT count(*) FROM parquet_metadata('{outside}/o.parquet')",
    "url": "SELECT count(*) FROM read_csv('https://example.com/x.csv')",
}
# ... and two the box refuses only once they run (still nothing is stored).
RUN_READS = {
    "secrets": "SELECT count(*) FROM duckdb_secrets()",
    "extensions": "SELECT count(*) FROM duckdb_extensions()",
}


def _fill(query: str, scratch: Path, lake: Path) -> str:
    return (
        query.replace("{x}", str(scratch))
        .replace("{outside}", str(lake.parent / "outside"))
        .replace("{lake}", str(lake))
    )


def _runs(admin: Context) -> int:
    with admin.db.read() as session:
        return len(list(session.scalars(select(d.CheckRun))))


@sqlite_only
@pytest.mark.parametrize("vector", list(STATEMENTS))
def test_every_statement_but_one_select_is_refused_at_apply_and_at_run(
    vector: str, contributor: Context, admin: Context, lake: Path, sql_log: list[str]
) -> None:
    scratch = lake.parent / "scratch"
    scratch.mkdir()
    template, says, creates = STATEMENTS[vector]
    bad = _contract(lake, _fill(template, scratch, lake))
    bad_text = bad.read_text()

    with pytest.raises(Invalid) as applied:
        data.apply_contract(contributor, bad, "probe-team")
    assert applied.value.field == RULE_FIELD and says in applied.value.message
    assert data.list_contracts(admin) == []

    # A contract stored before the guard existed is refused again at run, before any query.
    good = _contract(lake, "SELECT count(*) FROM ${object} WHERE id < 0")
    data.apply_contract(contributor, good, "probe-team")
    with admin.db.transaction() as session:
        row = session.scalars(select(d.DataContractVersion)).one()
        row.content = bad_text
    sql_log.clear()
    with pytest.raises(Invalid, match=r"^check probe_rule: ") as ran:
        data.run_checks(contributor, "probe")
    assert says in ran.value.message
    assert sql_log == [] and _runs(admin) == 0  # refused before the first scan
    assert sorted(p.name for p in scratch.iterdir()) == []  # nothing written anywhere
    if creates:
        assert not (scratch / creates).exists()


@sqlite_only
@pytest.mark.parametrize("vector", list(READS) + list(RUN_READS))
def test_a_select_that_reaches_outside_the_contract_data_is_refused_before_anything_runs(
    vector: str, contributor: Context, admin: Context, lake: Path, sql_log: list[str]
) -> None:
    path = _contract(lake, _fill({**READS, **RUN_READS}[vector], lake.parent, lake))
    data.apply_contract(contributor, path, "probe-team")  # a SELECT: the box refuses it
    sql_log.clear()
    with pytest.raises(Invalid, match=r"^check probe_rule: ") as refused:
        data.run_checks(contributor, "probe")
    text = str(refused.value)
    assert "outside the contract's own data" in text or "does not run" in text, text
    assert "root:" not in text and OUTSIDE not in text and "PATH=" not in text
    assert _runs(admin) == 0
    if vector in READS:  # refused when bound, before the first scan
        assert sql_log == []


@sqlite_only
@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM query('COPY (SELECT 1) TO ''{x}/q.csv''')",
        "SELECT count(*) FROM query_table('t'); COPY (SELECT 1) TO '{x}/q.csv'",
    ],
)
def test_sql_inside_a_select_cannot_run_a_statement(
    query: str, contributor: Context, lake: Path
) -> None:
    data.apply_contract(contributor, _contract(lake, "SELECT 1"), "probe-team")
    contract = parse_contract(_contract(lake, _fill(query, lake.parent, lake)).read_text())
    with pytest.raises(Invalid, match=r"^check probe_rule: "):
        engine.run(contract, lake, now=CHECKED_AT)
    assert not (lake.parent / "q.csv").exists()


@pytest.mark.parametrize(
    "query",
    ["SELECT getenv('HOME')", "SELECT length(getenv('PATH'))"],
)
def test_the_environment_is_not_readable(query: str, lake: Path) -> None:
    contract = parse_contract(_contract(lake, query).read_text())
    with pytest.raises(Invalid, match="getenv does not exist") as refused:
        engine.run(contract, lake, now=CHECKED_AT)
    assert "/" not in str(refused.value).split("getenv does not exist")[1]


@sqlite_only
def test_a_rule_returns_a_number_and_nothing_of_the_rows_is_echoed(
    contributor: Context, lake: Path
) -> None:
    for i, query in enumerate(
        ["SELECT s FROM ${object}", "SELECT current_setting('temp_directory')",
         "SELECT [s] FROM ${object}", "SELECT {'a': s} FROM ${object}"]
    ):  # fmt: skip
        path = _contract(lake, query, cid=f"echo{i}", table=f"t{i}")
        data.apply_contract(contributor, path, "probe-team")
        report = data.run_checks(contributor, f"echo{i}")
        [sql] = [r for r in report.results if r["kind"] == "sql"]
        assert (sql["status"], sql["observed"], sql["samples"]) == ("error", None, [])
        assert sql["message"].startswith("the query must return one number; it returned a ")
        dumped = json.dumps(report.as_dict())
        assert SECRET not in dumped and ".tmp" not in dumped


@pytest.mark.parametrize(
    "query",
    [
        "SELECT CAST(s AS INTEGER) FROM ${object}",
        "SELECT error(s) FROM ${object}",
        "SELECT count(*) FROM ${object} WHERE s::DATE > DATE '2020-01-01'",
    ],
)
def test_an_error_while_running_does_not_quote_the_data(query: str, lake: Path) -> None:
    contract = parse_contract(_contract(lake, query).read_text())
    with pytest.raises(Invalid, match="failed while running") as failed:
        engine.run(contract, lake, now=CHECKED_AT)
    assert SECRET not in str(failed.value) and SECRET not in json.dumps(failed.value.details)


def test_legitimate_custom_sql_still_runs_on_the_boxed_connection(lake: Path) -> None:
    query = "WITH x AS (SELECT * FROM ${object}) SELECT count(*) - 3 FROM x WHERE ${property} = 's'"
    contract = parse_contract(_contract(lake, query.replace("'s'", f"'{SECRET}'")).read_text())
    [sql] = [r for r in engine.run(contract, lake, now=CHECKED_AT).results if r.kind == "sql"]
    assert (sql.status, sql.observed) == ("pass", 0)


def test_the_box_cannot_be_undone_and_reads_only_the_dataset(lake: Path) -> None:
    contract = parse_contract(_contract(lake, "SELECT 1").read_text())
    source = open_engine(contract, contract.servers[0], lake)
    try:
        raw = source.con.con
        for setting in (
            "SET enable_external_access = true",
            "SET lock_configuration = false",
            "SET allowed_directories = ['/']",
            "SET autoload_known_extensions = true",
            "SET memory_limit = '100GB'",
        ):
            with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
                raw.execute(setting)
        with pytest.raises(duckdb.PermissionException):
            raw.execute("SELECT * FROM read_text('/etc/passwd')")
        assert raw.execute("SELECT count(*) FROM t").fetchall() == [(3,)]
        assert raw.execute("SELECT current_setting('memory_limit')").fetchall() != [("100GB",)]
    finally:
        source.close()


# --------------------------------------------------------------------------- the limits


def test_a_query_over_the_time_limit_is_stopped_and_named(
    admin: Context, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDON_SQL_TIMEOUT_SECONDS", "0.5")
    settings = load_settings(home=admin.settings.home, database_url=admin.settings.database_url)
    slow = replace(admin, settings=settings)
    assert slow.settings.sql_timeout_seconds == 0.5
    auth.create_team(admin, "limits")
    query = "SELECT count(*) FROM range(100000000000) a(i) WHERE i % 7 = 3"
    data.apply_contract(admin, _contract(lake, query), "limits")
    with pytest.raises(Invalid, match=r"^check probe_rule: .* longer than the 0.5 s limit") as late:
        data.run_checks(slow, "probe")
    assert "ANDON_SQL_TIMEOUT_SECONDS" in late.value.details["hint"]
    assert _runs(admin) == 0


def test_a_query_over_the_memory_limit_is_stopped_and_named(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(lake.parent)  # where DuckDB would spill
    query = "SELECT count(DISTINCT i::VARCHAR || 'x') - count(*) FROM range(30000000) t(i)"
    contract = parse_contract(_contract(lake, query).read_text())
    with pytest.raises(Invalid, match=r"needs more than the 40MB memory limit") as big:
        engine.run(contract, lake, now=CHECKED_AT, limits=SqlLimits(seconds=60, memory="40MB"))
    assert "ANDON_SQL_MEMORY_LIMIT" in big.value.details["hint"]


def test_the_limits_are_settings_and_bad_values_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = load_settings()
    assert (defaults.sql_timeout_seconds, defaults.sql_memory_limit) == (60.0, "4GB")
    monkeypatch.setenv("ANDON_SQL_MEMORY_LIMIT", "lots")
    with pytest.raises(Invalid) as bad:
        load_settings()
    assert bad.value.field == "ANDON_SQL_MEMORY_LIMIT"
    monkeypatch.setenv("ANDON_SQL_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("ANDON_SQL_TIMEOUT_SECONDS", "0")
    with pytest.raises(Invalid) as zero:
        load_settings()
    assert zero.value.field == "ANDON_SQL_TIMEOUT_SECONDS"


# --------------------------------------------------------------------------- the doors


@sqlite_only
def test_over_rest_a_contributor_is_refused_with_a_problem_and_nothing_happens(
    api: Api,  # noqa: F811 - the fixture imported above
    lake: Path,
) -> None:
    auth.create_team(api.admin, "probe-team")
    roots.add_root(api.admin, "probe-team", lake)  # REST applies grant no folder
    auth.create_principal(api.admin, "carol")
    auth.bind_role(api.admin, "carol", "contributor", scope="team", target="probe-team")
    carol = api.as_(api.token_for("carol"))
    carol.timeout = 60.0
    pth = lake.parent / "x.pth"

    def apply(query: str, version: str) -> Any:
        text = _contract(lake, query).read_text().replace("1.0.0", version)
        body = {"team": "probe-team", "content": text, "base_dir": str(lake)}
        return carol.post("/api/v1/contracts", json=body)

    copy = apply(f"SELECT 1; COPY (SELECT * FROM ${{object}}) TO '{pth}'", "1.0.0")
    doc = assert_problem(copy, 422, field=RULE_FIELD)
    assert "exactly one SELECT statement" in doc["detail"] and not pth.exists()
    attach = apply(f"ATTACH '{lake.parent / 'evil.duckdb'}' AS evil", "1.0.0")
    assert "ATTACH statement" in assert_problem(attach, 422, field=RULE_FIELD)["detail"]
    assert not (lake.parent / "evil.duckdb").exists()

    # A SELECT is applied; reading the server's files through it is refused at run.
    assert apply("SELECT content FROM read_text('/etc/passwd')", "1.0.0").status_code == 201
    ran = carol.post("/api/v1/contracts/probe/check-runs", json={})
    doc = assert_problem(ran, 422)
    assert "outside the contract's own data" in doc["detail"] and "root:" not in ran.text
    history = carol.get("/api/v1/datasets/probe-team/t/check-runs")
    assert history.status_code == 200 and history.json() == []
    carol.close()


def test_the_cli_refuses_a_bad_rule_in_one_line_with_exit_2(
    run: Run, lake: Path, andon_env: dict[str, str]
) -> None:
    pth = lake.parent / "x.pth"
    path = _contract(lake, f"SELECT 1; COPY (SELECT 1) TO '{pth}'")
    assert run("init").returncode == 0
    assert run("team", "create", "probe-team").returncode == 0
    for args in (("contract", "validate", str(path)), ("contract", "apply", str(path), "--team",
                                                        "probe-team")):  # fmt: skip
        proc = run(*args)
        assert proc.returncode == 2, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "exactly one SELECT statement" in lines[0], proc.stderr
        assert RULE_FIELD in lines[0]
    assert not pth.exists()
    read = _contract(lake, "SELECT length(content) FROM read_text('/etc/passwd')", cid="reads")
    assert run("contract", "apply", str(read), "--team", "probe-team").returncode == 0
    proc = run("check", "run", str(read))
    assert proc.returncode == 2 and "outside the contract's own data" in proc.stderr
    assert "root:" not in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def warehouse(postgres: PostgresServer) -> dict[str, Any]:
    """A fresh database with ``probe.t`` (a secret in ``s``), a sequence, and ``reader``: a
    role granted what docs/security.md tells operators to grant (SELECT, nothing else)."""
    import psycopg

    url = postgres.create_database()
    database = url.rsplit("/", 1)[1]
    reader = f"reader_{database[-12:]}"
    dsn = f"host=127.0.0.1 port={postgres.port} user=andon dbname={database}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE SCHEMA probe")
        con.execute(
            f"CREATE TABLE probe.t AS SELECT i AS id, '{SECRET}' AS s FROM generate_series(0, 2) i"
        )
        con.execute("CREATE SEQUENCE probe.seq")
        con.execute(f"CREATE ROLE {reader} LOGIN")
        con.execute(f"GRANT CONNECT ON DATABASE {database} TO {reader}")
        con.execute(f"GRANT USAGE ON SCHEMA probe TO {reader}")
        con.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA probe TO {reader}")
    return {"port": postgres.port, "database": database, "dsn": dsn, "reader": reader}


def _pg(tmp_path: Path, warehouse: dict[str, Any], query: str) -> Any:
    server = (
        f"servers: [{{server: warehouse, type: postgresql, host: 127.0.0.1, "
        f"port: {warehouse['port']}, database: {warehouse['database']}, schema: probe, "
        "customProperties: [{property: connection, value: warehouse}]}]\n"
    )
    contract = parse_contract(_contract(tmp_path, query, server=server).read_text())
    return bind_warehouse(contract, warehouse["port"], warehouse["database"])


def _pg_state(warehouse: dict[str, Any]) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(warehouse["dsn"], autocommit=True) as con:
        rows = con.execute("SELECT count(*) FROM probe.t").fetchone()
        seq = con.execute("SELECT last_value, is_called FROM probe.seq").fetchone()
        blobs = con.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()
        tables = con.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return rows, seq, blobs, tables


PG_OUT = Path(tempfile.gettempdir()) / f"andon-probe-pg-{os.getpid()}"
"""Where a COPY on the (local) PostgreSQL server would write, if it ran."""
PG_VECTORS = {
    "several": ("SELECT 1; DROP TABLE probe.t", "this query has 2"),
    "escape-the-parenthesis": (
        "SELECT 1) AS x; DROP TABLE probe.t; SELECT * FROM (SELECT 1",
        "does not run",
    ),
    "delete": ("DELETE FROM probe.t", "DELETE statement"),
    "create": ("CREATE TABLE probe.pwn AS SELECT 1", "CREATE statement"),
    "copy-out": (f"COPY probe.t TO '{PG_OUT}.csv'", "COPY statement"),
    "copy-program": (f"COPY probe.t TO PROGRAM 'touch {PG_OUT}'", "does not run"),
    "writable-cte": (
        "WITH d AS (DELETE FROM probe.t RETURNING 1) SELECT count(*) FROM d",
        "data-modifying statement",
    ),
    "nextval": ("SELECT nextval('probe.seq')", "this query writes"),
    "set_config": ("SELECT set_config('transaction_read_only', 'off', false)::int", ""),
    "cast-a-secret": ("SELECT s::int FROM ${object}", "failed while running"),
    "cast-a-file": ("SELECT pg_read_file('/etc/passwd')::int", "failed while running"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("vector", list(PG_VECTORS))
def test_postgresql_runs_one_select_read_only_and_echoes_nothing(
    vector: str, warehouse: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")  # the fixture's superuser: worst case
    query, says = PG_VECTORS[vector]
    before = _pg_state(warehouse)
    with pytest.raises(Invalid, match=r"^check probe_rule: ") as refused:
        engine.run(_pg(tmp_path, warehouse, query), tmp_path, now=CHECKED_AT)
    text = str(refused.value)
    assert says in text and "\n" not in text
    assert SECRET not in text and "root:" not in text
    assert _pg_state(warehouse) == before  # no row, sequence, large object or table changed
    assert not Path(f"{PG_OUT}.csv").exists() and not PG_OUT.exists()


@pytest.mark.postgres
def test_postgresql_rolls_back_whatever_a_select_did(
    warehouse: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")  # a superuser may lo_import a file...
    before = _pg_state(warehouse)
    contract = _pg(tmp_path, warehouse, "SELECT lo_import('/etc/passwd')")
    [sql] = [r for r in engine.run(contract, tmp_path, now=CHECKED_AT).results if r.kind == "sql"]
    assert isinstance(sql.observed, int)  # ...an oid, never the content
    assert _pg_state(warehouse) == before  # and the transaction is rolled back: no object


@pytest.mark.postgres
def test_postgresql_stops_a_slow_query_and_still_runs_a_good_one(
    warehouse: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    slow = _pg(tmp_path, warehouse, "SELECT count(*) FROM pg_sleep(5)")
    with pytest.raises(Invalid, match=r"longer than the 0.3 s limit") as late:
        engine.run(slow, tmp_path, now=CHECKED_AT, limits=SqlLimits(seconds=0.3))
    assert "ANDON_SQL_TIMEOUT_SECONDS" in late.value.details["hint"]
    good = _pg(tmp_path, warehouse, f"SELECT count(*) - 3 FROM ${{object}} WHERE s = '{SECRET}'")
    [sql] = [r for r in engine.run(good, tmp_path, now=CHECKED_AT).results if r.kind == "sql"]
    assert (sql.status, sql.observed) == ("pass", 0)
    text = _pg(tmp_path, warehouse, "SELECT s FROM ${object}")
    [sql] = [r for r in engine.run(text, tmp_path, now=CHECKED_AT).results if r.kind == "sql"]
    assert (sql.status, sql.observed) == ("error", None) and SECRET not in sql.message


@pytest.mark.postgres
def test_postgresql_under_a_select_only_role_cannot_read_the_server_files(
    warehouse: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDON_POSTGRES_USER", warehouse["reader"])
    ok = _pg(tmp_path, warehouse, "SELECT count(*) - 3 FROM ${object}")
    assert all(r.status == "pass" for r in engine.run(ok, tmp_path, now=CHECKED_AT).results)
    for query in ("SELECT length(pg_read_file('/etc/passwd'))",
                  "SELECT count(*) FROM pg_ls_dir('/')",
                  "SELECT lo_import('/etc/passwd')"):  # fmt: skip
        contract = _pg(tmp_path, warehouse, query)
        with pytest.raises(Invalid, match=r"does not run: permission denied for function"):
            engine.run(contract, tmp_path, now=CHECKED_AT)


# --------------------------------------------------------------------------- Spark


@pytest.mark.slow
def test_spark_takes_one_query_by_its_parser_and_no_file_by_name(
    lake: Path, tmp_path: Path
) -> None:
    reason = spark_missing_reason()
    if reason:
        pytest.skip(reason)
    server = "servers: [{server: lake, type: spark, path: ., format: parquet}]\n"
    refusals = {
        "CREATE TABLE pwn AS SELECT 1": "is a CreateTableAsSelect statement",
        "SELECT 1; SELECT 2": "does not run",
        "SET spark.sql.runSQLOnFiles=true": "is a SetCommand statement",
        "SELECT count(*) FROM text.`/etc/passwd`": "does not run",
        "SELECT CAST(s AS INT) FROM ${object}": "failed while running",
        "SELECT length(reflect('java.lang.System', 'getenv', 'PATH'))": "may not call Java",
        "SELECT count(*) FROM ${object} WHERE java_method('java.lang.System', 'exit', 0) = ''": (
            "may not call Java"
        ),
    }
    try:
        for query, says in refusals.items():
            contract = parse_contract(_contract(lake, query, server=server).read_text())
            with pytest.raises(Invalid, match=r"^check probe_rule: ") as refused:
                engine.run(contract, lake, now=CHECKED_AT)
            assert says in str(refused.value) and SECRET not in str(refused.value), query
            assert "root:" not in str(refused.value)
        assert not spark_session().catalog.tableExists("pwn")
        slow = "SELECT count(*) FROM range(1000000000000) WHERE id % 7 = 3"
        contract = parse_contract(_contract(lake, slow, server=server).read_text())
        with pytest.raises(Invalid, match=r"longer than the 2 s limit"):
            engine.run(contract, lake, now=CHECKED_AT, limits=SqlLimits(seconds=2))
        good = f"SELECT count(*) - 3 FROM ${{object}} WHERE ${{property}} = '{SECRET}'"
        contract = parse_contract(_contract(lake, good, server=server).read_text())
        [sql] = [r for r in engine.run(contract, lake, now=CHECKED_AT).results if r.kind == "sql"]
        assert (sql.status, sql.observed) == ("pass", 0)
    finally:
        stop_spark()


def test_at_apply_another_engine_s_dialect_waits_for_its_engine_but_two_statements_do_not(
    lake: Path,
) -> None:
    spark_only = "servers: [{server: lake, type: spark, path: ., format: parquet}]\n"
    spark_sql = "SELECT count(*) FROM t WHERE s RLIKE '^x'"  # Spark's, not DuckDB's
    vet_contract(parse_contract(_contract(lake, spark_sql, server=spark_only).read_text()))
    with pytest.raises(Invalid, match="the SQL does not run") as duck:
        vet_contract(parse_contract(_contract(lake, spark_sql).read_text()))
    assert duck.value.field == RULE_FIELD
    for query, says in (("SELECT 1; DROP TABLE t", "this query has 2"),
                        ("DROP TABLE t", "a DROP statement")):  # fmt: skip
        contract = parse_contract(_contract(lake, query, server=spark_only).read_text())
        with pytest.raises(Invalid, match=says) as refused:
            vet_contract(contract)
        assert refused.value.field == RULE_FIELD
