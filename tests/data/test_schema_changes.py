"""Schema changes as incidents: the pure rules, pending versions, steward decisions, the CLI.

The rules run on parsed contracts (no database); the services run on SQLite and PostgreSQL
over a tiny Parquet table; the CLI runs as a real process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from andon.auth import service as auth
from andon.board import service as board
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.data import approvals
from andon.data import service as data
from andon.data.column_types import compare_logical, compare_physical
from andon.data.contracts import LOGICAL_TYPES, Contract, parse_contract
from andon.data.schema_changes import (
    BREAKING_KINDS,
    NON_BREAKING_KINDS,
    contract_changes,
    live_changes,
)
from andon.store import outbox
from andon.store.db import Database
from andon.store.tables import audit as t
from tests.cli.conftest import Run
from tests.conftest import as_principal

# --------------------------------------------------------------------------- building contracts


def prop(name: str, logical: str = "string", **extra: Any) -> dict[str, Any]:
    """One ODCS property."""
    return {"name": name, "logicalType": logical, **extra}


def allowed(*values: str) -> list[dict[str, Any]]:
    """A quality list restricting a column to ``values``."""
    return [{"metric": "invalidValues", "arguments": {"validValues": list(values)}}]


def document(props: list[dict[str, Any]], version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    """A one-table contract document over ``items``."""
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "shop",
        "version": version,
        "status": "active",
        "servers": [{"server": "local", "type": "parquet", "path": "."}],
        "schema": [{"name": "items", "properties": props}],
        **extra,
    }


def contract(props: list[dict[str, Any]], **extra: Any) -> Contract:
    """A parsed one-table contract."""
    return parse_contract(yaml.safe_dump(document(props, **extra)))


BASE = [
    prop("id", "integer", physicalType="bigint", required=True, unique=True),
    prop("status", "string", quality=allowed("open", "paid", "shipped")),
    prop("amount", "number", physicalType="double"),
    prop("note", "string", physicalType="varchar(50)", logicalTypeOptions={"maxLength": 50}),
]


def kinds(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(kind, where, breaking) of every change from ``old`` to ``new``."""
    return [(c.kind, c.where, c.breaking) for c in contract_changes(contract(old), contract(new))]


def replace(name: str, **changes: Any) -> list[dict[str, Any]]:
    """BASE with property ``name`` updated (a key set to None is dropped)."""
    out = []
    for p in BASE:
        if p["name"] == name:
            p = {k: v for k, v in {**p, **changes}.items() if v is not None}
        out.append(p)
    return out


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ([p for p in BASE if p["name"] != "amount"], [("column_removed", "items.amount", True)]),
        (
            [p if p["name"] != "amount" else {**p, "name": "total"} for p in BASE],
            [("column_renamed", "items.amount", True)],
        ),
        (replace("id", physicalType="int"), [("type_narrowed", "items.id", True)]),
        (replace("amount", physicalType="float"), [("type_narrowed", "items.amount", True)]),
        (
            replace("status", logicalType="integer", quality=None),
            [
                ("type_narrowed", "items.status", True),
                ("allowed_value_added", "items.status", False),
            ],
        ),
        (
            replace("note", physicalType="varchar(20)", logicalTypeOptions={"maxLength": 20}),
            [("type_narrowed", "items.note", True), ("type_narrowed", "items.note", True)],
        ),
        (replace("amount", required=True), [("made_required", "items.amount", True)]),
        (replace("amount", unique=True), [("unique_added", "items.amount", True)]),
        (
            replace("status", quality=allowed("open", "paid")),
            [("allowed_value_removed", "items.status", True)],
        ),
        (
            replace("amount", logicalTypeOptions={"minimum": 0}),
            [("range_narrowed", "items.amount", True)],
        ),
        ([*BASE, prop("sku", required=True)], [("column_added_required", "items.sku", True)]),
        ([*BASE, prop("sku")], [("column_added", "items.sku", False)]),
        (replace("id", physicalType="hugeint"), [("type_widened", "items.id", False)]),
        (replace("amount", physicalType="decimal(38,4)"), [("type_changed", "items.amount", True)]),
        (
            replace("note", physicalType="text", logicalTypeOptions=None),
            [("type_widened", "items.note", False), ("type_widened", "items.note", False)],
        ),
        (
            replace("status", quality=allowed("open", "paid", "shipped", "lost")),
            [("allowed_value_added", "items.status", False)],
        ),
        (replace("id", required=False), [("made_optional", "items.id", False)]),
        (replace("id", unique=False), [("unique_removed", "items.id", False)]),
        (replace("note", description="free text"), [("description_changed", "items.note", False)]),
        (replace("note", classification="pii"), [("classification_changed", "items.note", False)]),
    ],
    ids=lambda v: v[0][0] if isinstance(v, list) and v and isinstance(v[0], tuple) else None,
)
def test_each_rule(new: list[dict[str, Any]], expected: list[tuple[str, str, bool]]) -> None:
    assert kinds(BASE, new) == expected


def test_table_and_contract_level_changes() -> None:
    old = contract(BASE)
    two = document(BASE)
    two["schema"].append({"name": "extra", "properties": [prop("x")]})
    two["description"] = {"purpose": "now with extras"}
    two["servers"] = [{"server": "prod", "type": "parquet", "path": "/data"}]
    new = parse_contract(yaml.safe_dump(two))
    found = [(c.kind, c.where, c.breaking) for c in contract_changes(old, new)]
    assert found == [
        ("description_changed", "contract", False),
        ("metadata_changed", "contract", False),
        ("table_added", "extra", False),
    ]
    back = [(c.kind, c.where, c.breaking) for c in contract_changes(new, old)]
    assert ("table_removed", "extra", True) in back
    moved = document(BASE)
    moved["schema"][0]["physicalName"] = "items_v2"
    assert [c.kind for c in contract_changes(old, parse_contract(yaml.safe_dump(moved)))] == [
        "physical_name_changed"
    ]


def test_every_kind_is_classified_once() -> None:
    assert not BREAKING_KINDS & NON_BREAKING_KINDS


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        ("bigint", "int", "narrowed"),
        ("int", "bigint", "widened"),
        ("int4", "integer", "same"),
        ("INT8", "bigint", "same"),
        ("double", "float", "narrowed"),
        ("float", "double precision", "widened"),
        ("varchar(50)", "varchar(20)", "narrowed"),
        ("varchar(20)", "text", "widened"),
        ("decimal(10,2)", "decimal(12,2)", "widened"),
        ("decimal(10,2)", "decimal(8,2)", "narrowed"),
        ("decimal(10,2)", "decimal(10,4)", "changed"),
        ("int", "decimal(12,0)", "widened"),
        ("bigint", "decimal(10,0)", "narrowed"),
        ("int", "varchar", "widened"),
        ("date", "timestamp", "changed"),
        ("uuid", "uuid", "same"),
    ],
)
def test_physical_types(old: str, new: str, verdict: str) -> None:
    assert compare_physical(old, new) == verdict


def test_live_schema_against_the_contract() -> None:
    declared = contract(BASE).schema[0]
    same = [["id", "int64"], ["status", "string"], ["amount", "int32"], ["note", "string"]]
    assert live_changes(declared, same) == []  # an integer column conforms to number
    drifted = [["id", "string"], ["state", "string"], ["note", "string"], ["new", "boolean"]]
    found = [(c.kind, c.where, c.breaking) for c in live_changes(declared, drifted)]
    assert found == [
        ("type_changed", "items.id", True),
        ("column_renamed", "items.status", True),
        ("column_removed", "items.amount", True),
        ("column_added", "items.new", False),
    ]


# --------------------------------------------------------------------------- properties

_names = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])
_props = st.lists(
    st.fixed_dictionaries(
        {"name": _names, "logicalType": st.sampled_from(LOGICAL_TYPES)},
        optional={
            "required": st.booleans(),
            "unique": st.booleans(),
            "physicalType": st.sampled_from(["int", "bigint", "varchar(10)", "text", "double"]),
            "quality": st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, unique=True).map(
                lambda values: allowed(*values)
            ),
        },
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda p: p["name"],
)


@settings(max_examples=60, deadline=None)
@given(_props)
def test_identical_contracts_have_no_changes(props: list[dict[str, Any]]) -> None:
    assert contract_changes(contract(props), contract(props)) == []


@settings(max_examples=60, deadline=None)
@given(_props, st.sampled_from(LOGICAL_TYPES), st.booleans())
def test_adding_an_optional_column_never_breaks(
    props: list[dict[str, Any]], logical: str, unique_values: bool
) -> None:
    extra = prop("zz_new", logical, **({"quality": allowed("x")} if unique_values else {}))
    found = contract_changes(contract(props), contract([*props, extra]))
    assert [(c.kind, c.breaking) for c in found] == [("column_added", False)]


@settings(max_examples=60, deadline=None)
@given(_props, st.data())
def test_removing_a_column_always_breaks(props: list[dict[str, Any]], draw: st.DataObject) -> None:
    gone = draw.draw(st.sampled_from([p["name"] for p in props]))
    kept = [p for p in props if p["name"] != gone]
    if not kept:
        kept = [prop("zz_other", "object")]
    found = contract_changes(contract(props), contract(kept))
    assert any(c.breaking for c in found)


_physical = st.sampled_from(
    ["int", "bigint", "smallint", "float", "double", "varchar(5)", "varchar(50)", "text",
     "decimal(10,2)", "decimal(20,4)", "date", "uuid"]
)  # fmt: skip


@given(_physical, _physical)
def test_widening_one_way_is_narrowing_the_other(a: str, b: str) -> None:
    forward, backward = compare_physical(a, b), compare_physical(b, a)
    mirror = {"same": "same", "widened": "narrowed", "narrowed": "widened", "changed": "changed"}
    assert backward == mirror[forward]


@given(st.sampled_from(LOGICAL_TYPES), st.sampled_from(LOGICAL_TYPES))
def test_logical_widening_is_antisymmetric(a: str, b: str) -> None:
    mirror = {"same": "same", "widened": "narrowed", "narrowed": "widened", "changed": "changed"}
    assert compare_logical(b, a) == mirror[compare_logical(a, b)]


# --------------------------------------------------------------------------- services


def _table(folder: Path, select_sql: str) -> None:
    target = str(folder / "items.parquet").replace("'", "''")
    duckdb.connect().execute(f"COPY ({select_sql}) TO '{target}' (FORMAT parquet)")


ITEMS = (
    "SELECT range AS id, ['open','paid'][1 + range % 2] AS status, range * 1.5 AS amount, "
    "'n' AS note FROM range(5)"
)


@pytest.fixture
def shop(admin: Context, tmp_path: Path) -> Path:
    """Team fraud-ml, steward dana, items.parquet and contract shop 1.0.0 applied by admin."""
    auth.create_team(admin, "fraud-ml")
    auth.create_principal(admin, "dana")
    auth.bind_role(admin, "dana", "data-steward", scope="team", target="fraud-ml")
    auth.create_principal(admin, "vic")
    auth.bind_role(admin, "vic", "contributor", scope="team", target="fraud-ml")
    _table(tmp_path, ITEMS)
    path = tmp_path / "shop.odcs.yaml"
    path.write_text(yaml.safe_dump(document(BASE)))
    data.apply_contract(admin, path, "fraud-ml")
    return path


def _apply(ctx: Context, path: Path, props: list[dict[str, Any]], version: str) -> Any:
    path.write_text(yaml.safe_dump(document(props, version=version)))
    return data.apply_contract(ctx, path, "fraud-ml")


def _events(ctx: Context, type_: str) -> list[outbox.Event]:
    with ctx.db.read() as session:
        return outbox.list_events(session, type_=type_)


def _audit(ctx: Context) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(t.AuditEntry)) or 0)


def _light(ctx: Context) -> tuple[str, str]:
    light = next(li for li in board.board(ctx) if li.area == "schema changes")
    return light.color, light.detail


def test_breaking_version_stays_pending_until_a_steward_approves(
    admin: Context, shop: Path
) -> None:
    assert _light(admin)[0] == "green"
    narrowed = replace("status", quality=allowed("open", "paid"))
    record = _apply(admin, shop, [p for p in narrowed if p["name"] != "note"], "2.0.0")
    assert record.status == "pending"
    # The active version is still 1.0.0: checks run it, the listing shows it.
    assert data.run_checks(admin, "shop").contract_version == "1.0.0"
    assert [c.version for c in data.list_contracts(admin)] == ["1.0.0"]
    with pytest.raises(Conflict, match="is pending, not active"):
        data.run_checks(admin, str(shop))
    [event] = _events(admin, "schema.breaking")
    assert event.payload["contract"] == "shop" and event.payload["version"] == "2.0.0"
    assert {c["kind"] for c in event.payload["breaking"]} == {
        "allowed_value_removed",
        "column_removed",
    }
    assert _light(admin) == (
        "red",
        "1 contract with a breaking version pending: shop",
    )
    [pending] = approvals.list_schema_changes(admin, "shop", status="pending")
    assert pending.ref == "shop@2.0.0" and pending.base_version == "1.0.0"
    assert pending.requested_by == "admin" and pending.breaking
    # No other version while one is pending.
    with pytest.raises(Conflict, match=r"version 2\.0\.0 has a breaking change pending") as refused:
        _apply(admin, shop, BASE, "3.0.0")
    assert "andon contract approve shop@2.0.0" in refused.value.details["hint"]

    before = _audit(admin)
    steward = as_principal(admin, "dana")
    decided = approvals.approve_version(steward, "shop@2.0.0", reason="consumers migrated")
    assert decided.status == "approved" and decided.decided_by == "dana"
    assert _audit(admin) == before + 1
    assert data.run_checks(admin, "shop").contract_version == "2.0.0"
    assert _light(admin)[0] == "green"
    assert [e.payload["decision"] for e in _events(admin, "contract.approved")] == ["approved"]
    # Decided changes are listed too.
    assert [c.status for c in approvals.list_schema_changes(steward)] == ["approved"]


def test_four_eyes_and_bad_decisions_change_nothing(admin: Context, shop: Path) -> None:
    # dana applies the breaking change herself; she cannot approve it.
    steward = as_principal(admin, "dana")
    _apply(steward, shop, replace("amount", required=True), "2.0.0")
    before = _audit(admin)
    with pytest.raises(Forbidden, match=r"four eyes: you applied shop@2\.0\.0"):
        approvals.approve_version(steward, "shop@2.0.0", reason="mine")
    with pytest.raises(Forbidden):
        approvals.approve_version(as_principal(admin, "vic"), "shop@2.0.0", reason="x")
    with pytest.raises(Forbidden):  # a platform admin does not decide data changes
        approvals.approve_version(admin, "shop@2.0.0", reason="x")
    with pytest.raises(NotFound, match="no applied contract 'nope'"):
        approvals.approve_version(steward, "nope@1", reason="x")
    with pytest.raises(NotFound, match="has no version 9"):
        approvals.approve_version(steward, "shop@9", reason="x")
    with pytest.raises(Invalid, match="CONTRACT_ID@VERSION"):
        approvals.approve_version(steward, "shop", reason="x")
    with pytest.raises(Conflict, match=r"shop@1\.0\.0 is active, not pending"):
        approvals.approve_version(steward, "shop@1.0.0", reason="x")
    assert _audit(admin) == before
    assert approvals.list_schema_changes(admin, status="pending")[0].status == "pending"

    auth.create_principal(admin, "erin")
    auth.bind_role(admin, "erin", "data-steward", scope="team", target="fraud-ml")
    other = as_principal(admin, "erin")
    with pytest.raises(Invalid, match="say why"):
        approvals.reject_version(other, "shop@2.0.0", reason=" ")
    rejected = approvals.reject_version(other, "shop@2.0.0", reason="breaks the fraud model")
    assert rejected.status == "rejected" and rejected.reason == "breaks the fraud model"
    assert data.run_checks(admin, "shop").contract_version == "1.0.0"
    with pytest.raises(Conflict, match="decided already"):
        approvals.approve_version(other, "shop@2.0.0", reason="changed my mind")
    # A rejected version is never run; the next version compares with the active one.
    newer = _apply(admin, shop, [*BASE, prop("sku")], "2.1.0")
    assert newer.status == "active"
    assert data.run_checks(admin, "shop").contract_version == "2.1.0"


def test_non_breaking_version_is_active_at_once(admin: Context, shop: Path) -> None:
    record = _apply(admin, shop, [*replace("id", physicalType="hugeint"), prop("sku")], "1.1.0")
    assert record.status == "active"
    assert _events(admin, "schema.breaking") == []
    [change] = approvals.list_schema_changes(admin)
    assert change.status == "accepted" and not change.breaking
    assert [c.kind for c in change.changes] == ["type_widened", "column_added"]
    with pytest.raises(Invalid, match=r"^status: "):
        approvals.list_schema_changes(admin, status="maybe")
    with pytest.raises(NotFound):
        approvals.list_schema_changes(admin, "nope")


def test_snapshot_whose_live_schema_breaks_opens_an_incident(admin: Context, shop: Path) -> None:
    _table(shop.parent, "SELECT range AS id, 'open' AS state, 'n' AS note FROM range(3)")
    first = data.snapshot_dataset(admin, "fraud-ml/items")
    [event] = _events(admin, "schema.breaking")
    assert event.payload["dataset_version"] == first.id
    assert first.schema_incident == event.object_id
    assert {c["kind"] for c in event.payload["breaking"]} == {"column_renamed", "column_removed"}
    assert _light(admin) == ("red", "live tables break 1 contract: shop")
    # The same departure again: still one incident, no second event.
    assert data.snapshot_dataset(admin, "fraud-ml/items").schema_incident is None
    assert len(_events(admin, "schema.breaking")) == 1
    # The data is fixed: the next snapshot resolves the incident.
    _table(shop.parent, ITEMS)
    data.snapshot_dataset(admin, "fraud-ml/items")
    [incident] = approvals.list_schema_changes(admin)
    assert incident.status == "resolved" and incident.source == "snapshot"
    assert incident.reason is not None and "conforms" in incident.reason
    assert _light(admin)[0] == "green"


# --------------------------------------------------------------------------- the CLI


def _home_admin(andon_env: dict[str, str]) -> tuple[Context, Database]:
    """The admin context of the CLI's own ANDON_HOME (after ``andon init``)."""
    home = Path(andon_env["ANDON_HOME"])
    cfg = Settings(home=home, database_url=f"sqlite:///{home / 'andon.db'}")
    database = Database.from_settings(cfg)
    return auth.context_for(database, cfg, "admin"), database


def test_cli_changes_approve_and_errors(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    _table(tmp_path, ITEMS)
    path = tmp_path / "shop.odcs.yaml"
    path.write_text(yaml.safe_dump(document(BASE)))
    assert run("init").returncode == 0
    admin, database = _home_admin(andon_env)
    try:
        auth.create_team(admin, "fraud-ml")
        for steward in ("dana", "erin"):
            auth.create_principal(admin, steward)
            auth.bind_role(admin, steward, "data-steward", scope="team", target="fraud-ml")
        data.apply_contract(admin, path, "fraud-ml")
    finally:
        database.dispose()
    dana, erin = {"ANDON_PRINCIPAL": "dana"}, {"ANDON_PRINCIPAL": "erin"}
    path.write_text(yaml.safe_dump(document(replace("id", physicalType="int"), version="2.0.0")))
    applied = run("contract", "apply", str(path), "--team", "fraud-ml", env=dana)
    assert applied.returncode == 0 and "stays pending" in applied.stdout
    table = run("contract", "changes", "shop")
    assert table.returncode == 0 and "type_narrowed" in table.stdout and "pending" in table.stdout
    own = run("contract", "approve", "shop@2.0.0", "--reason", "mine", env=dana)
    assert own.returncode == 3 and "four eyes" in own.stderr
    assert len(own.stderr.strip().splitlines()) == 1
    ok = run("contract", "approve", "shop@2.0.0", "--reason", "reviewed", "-f", "json", env=erin)
    assert ok.returncode == 0, ok.stderr
    decided = json.loads(ok.stdout)
    assert decided["status"] == "approved" and decided["requested_by"] == "dana"
    assert [(c["kind"], c["breaking"]) for c in decided["changes"]] == [("type_narrowed", True)]
    again = run("contract", "reject", "shop@2.0.0", "--reason", "late", env=erin)
    assert again.returncode == 1 and "not pending" in again.stderr


def test_every_rule_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()
    for kind in BREAKING_KINDS | NON_BREAKING_KINDS:
        assert f"`{kind}`" in text, kind


_IBIS = {
    "integer": ["int8", "int16", "int32", "int64", "!int64"],
    "number": ["float32", "float64", "decimal(10, 2)", "int32"],
    "string": ["string", "!string"],
    "boolean": ["boolean"],
    "date": ["date"],
    "timestamp": ["timestamp(6)", "timestamp('UTC', 6)"],
    "object": ["struct<a: int64>", "json"],
    "array": ["array<string>"],
    "time": ["time"],
    "map": ["map<string, int64>"],
    "vector": ["array<float32>"],
}


@settings(max_examples=60, deadline=None)
@given(_props, st.data())
def test_a_table_that_matches_its_declaration_never_breaks(
    props: list[dict[str, Any]], draw: st.DataObject
) -> None:
    declared = contract(props).schema[0]
    live = [
        [p.name, draw.draw(st.sampled_from(_IBIS[p.logical_type]))] for p in declared.properties
    ]
    extra = draw.draw(st.booleans())
    found = live_changes(declared, [*live, ["zz_extra", "string"]] if extra else live)
    assert not [c for c in found if c.breaking]
    assert [c.kind for c in found] == (["column_added"] if extra else [])
