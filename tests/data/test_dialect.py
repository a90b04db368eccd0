"""andon's pre-standard dialect -> the ODCS standard's shapes (andon.data.dialect)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.data.dialect import legacy_changes, upgrade
from tests.data.conftest import legacy_document as contract_document

# Validity under the standard's JSON schema (v3.1.0, v3.2.0) is measured outside the suite: the
# schema files are vendored by andon.data.standard, which owns that cross-check.


def _doc(*, servers: list[Any] | None = None, props: list[Any] | None = None, **top: Any) -> Any:
    """A small contract: one table ``t`` (column ``id`` plus ``props``), and ``servers``."""
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "c",
        "version": "1.0.0",
        "status": "active",
        "servers": servers or [{"server": "s", "type": "local", "path": ".", "format": "csv"}],
        "schema": [
            {"name": "u", "properties": [{"name": "id", "logicalType": "integer"}]},
            {
                "name": "t",
                "properties": [{"name": "id", "logicalType": "integer"}, *(props or [])],
            },
        ],
        **top,
    }


def _rule(**rule: Any) -> Any:
    """A document whose column ``t.c`` carries the one quality rule ``rule``."""
    return _doc(props=[{"name": "c", "logicalType": "integer", "quality": [rule]}])


def _prop(doc: dict[str, Any]) -> Any:
    return doc["schema"][1]["properties"][1]


def test_the_sample_upgrades_line_by_line_and_keeps_what_it_did_not_touch() -> None:
    old = contract_document()
    new, changes = upgrade(old)
    assert changes == [
        "servers[0].type: parquet -> local with format parquet",
        "schema[0].properties[2].quality[0].mustBe: added 0 (andon's default threshold)",
        "schema[1].properties[1].quality[0]: missingJoins -> type custom, engine andon, "
        "threshold in implementation (the standard has no missingJoins metric)",
        "schema[1].properties[3].quality[0].mustBe: added 0 (andon's default threshold)",
        "schema[1].properties[4].quality[0].mustBe: added 0 (andon's default threshold)",
        "schema[1].properties[6].quality[0]: outOfRange -> type custom, engine andon, "
        "threshold in implementation (the standard has no outOfRange metric)",
        "schema[1].properties[7].quality[0]: unitMismatch -> type custom, engine andon, "
        "threshold in implementation (the standard has no unitMismatch metric)",
        "schema[1].properties[8].quality[0]: unitMismatch -> type custom, engine andon, "
        "threshold in implementation (the standard has no unitMismatch metric)",
        "slaProperties[0].property: freshness -> latency",
        "slaProperties[1].property: freshness -> latency",
        "apiVersion: v3.0.2 -> v3.1.0 (it uses arguments, logicalType timestamp, metric, "
        "which v3.0.2 lacks)",
    ]
    assert legacy_changes(old) == changes
    assert old == contract_document()  # the input is not touched
    assert new["apiVersion"] == "v3.1.0"
    assert new["servers"] == [
        {"server": "local", "type": "local", "path": ".", "format": "parquet"}
    ]
    orders = new["schema"][1]["properties"]
    assert orders[1]["quality"] == [
        {
            "name": "orders.customer_id.joins",
            "type": "custom",
            "engine": "andon",
            "implementation": {
                "metric": "missingJoins",
                "arguments": {"to": "customers.customer_id"},
                "mustBeLessOrEqualTo": 0.5,
                "unit": "percent",
            },
            "severity": "error",
        }
    ]
    assert orders[6]["quality"][0]["implementation"] == {
        "metric": "outOfRange",
        "arguments": {"minimum": 1, "maximum": 100},
        "mustBe": 0,
    }
    assert list(orders[4]["quality"][0]) == [
        "name", "type", "metric", "severity", "arguments", "mustBe",
    ]  # fmt: skip
    assert [s["property"] for s in new["slaProperties"]] == ["latency", "latency"]
    # Everything the dialect does not cover is as it was.
    untouched = ("kind", "id", "name", "version", "status", "description")
    assert {k: new[k] for k in untouched} == {k: old[k] for k in untouched}
    assert list(new) == list(old)
    assert new["schema"][2] == old["schema"][2]  # invoices: nothing of the dialect
    assert orders[5] == old["schema"][1]["properties"][5]  # nullValues with its threshold
    assert orders[7]["quality"][1] == old["schema"][1]["properties"][7]["quality"][1]  # sql
    for was, now in zip(old["slaProperties"], new["slaProperties"], strict=True):
        assert {**was, "property": "latency"} == now


def test_upgrading_twice_gives_the_same_document_and_no_changes() -> None:
    once, _ = upgrade(contract_document())
    twice, changes = upgrade(once)
    assert twice == once and changes == [] and legacy_changes(once) == []
    assert twice is not once  # a copy, even with nothing to do


def test_a_standard_document_is_returned_unchanged() -> None:
    doc = _doc(
        servers=[
            {"server": "f", "type": "local", "path": "d", "format": "json", "x-owner": "ops"},
            {"server": "db", "type": "duckdb", "database": "w.duckdb", "schema": "main"},
            {
                "server": "pg",
                "type": "postgres",
                "host": "h",
                "port": 5432,
                "database": "d",
                "schema": "s",
                "customProperties": [{"property": "andonConnection", "value": "wh"}],
            },
        ],
        props=[
            {
                "name": "c",
                "logicalType": "timestamp",
                "relationships": [{"to": "u.id"}],
                "quality": [
                    {"metric": "nullValues", "mustBeLessThan": 5, "unit": "percent"},
                    {"type": "custom", "engine": "soda", "implementation": "missing_count"},
                    {"type": "text", "description": "looked at by a person"},
                ],
            }
        ],
        slaProperties=[{"property": "latency", "value": 5, "unit": "m"}],
    )
    assert upgrade(doc) == (doc, [])


@pytest.mark.parametrize(
    ("server", "expected", "line"),
    [
        (
            {"server": "s", "type": "parquet", "path": "data", "description": "the lake"},
            {
                "server": "s", "type": "local", "path": "data", "format": "parquet",
                "description": "the lake",
            },
            "servers[0].type: parquet -> local with format parquet",
        ),
        (
            {"server": "s", "type": "csv", "path": "data"},
            {"server": "s", "type": "local", "path": "data", "format": "csv"},
            "servers[0].type: csv -> local with format csv",
        ),
        (
            {"server": "s", "type": "local", "path": "data", "environment": "prod"},
            {"server": "s", "type": "local", "path": "data", "format": "parquet",
             "environment": "prod"},
            "servers[0].format: added parquet (andon's default for local)",
        ),
        (
            {"server": "s", "type": "duckdb", "path": "w.duckdb", "format": "parquet",
             "schema": "main"},
            {"server": "s", "type": "duckdb", "database": "w.duckdb", "schema": "main"},
            "servers[0].path -> database (the DuckDB file)",
        ),
        (
            {"server": "s", "type": "spark", "path": "/lake",
             "customProperties": [{"property": "team", "value": "ml"}]},
            {"server": "s", "type": "custom", "path": "/lake", "format": "parquet",
             "customProperties": [{"property": "team", "value": "ml"},
                                  {"property": "andonEngine", "value": "spark"}]},
            "servers[0].type: spark -> custom with format parquet and customProperties "
            "andonEngine: spark",
        ),
    ],
)  # fmt: skip
def test_file_servers_take_the_standard_types(
    server: dict[str, Any], expected: dict[str, Any], line: str
) -> None:
    new, changes = upgrade(_doc(servers=[server]))
    assert new["servers"] == [expected] and list(new["servers"][0]) == list(expected)
    assert changes[0] == line


def test_duckdb_drops_its_format_with_a_line_of_its_own() -> None:
    _, changes = upgrade(_doc(servers=[{"server": "s", "type": "duckdb", "path": "w.db",
                                        "format": "parquet"}]))  # fmt: skip
    assert changes == [
        "servers[0].path -> database (the DuckDB file)",
        "servers[0].format: dropped (a duckdb server has none)",
    ]


def _pg(**fields: Any) -> Any:
    return {
        "server": "wh",
        "type": "postgresql",
        **fields,
        "customProperties": [
            {"property": "owner", "value": "ops"},
            {"property": "connection", "value": "shop", "description": "declared by ops"},
        ],
    }


def test_postgres_names_its_connection_the_standard_way_and_fills_its_address() -> None:
    asked: list[str] = []

    def address(name: str) -> tuple[str, int, str] | None:
        asked.append(name)
        return ("db.internal", 5433, "shop")

    new, changes = upgrade(_doc(servers=[_pg()]), connection_address=address)
    server = new["servers"][0]
    assert asked == ["shop"]
    assert list(server) == [
        "server", "type", "host", "port", "database", "schema", "customProperties",
    ]  # fmt: skip
    assert (server["host"], server["port"], server["database"], server["schema"]) == (
        "db.internal", 5433, "shop", "public",
    )  # fmt: skip
    assert server["customProperties"] == [
        {"property": "owner", "value": "ops"},
        {"property": "andonConnection", "value": "shop", "description": "declared by ops"},
    ]
    assert changes == [
        "servers[0].customProperties[1].property: connection -> andonConnection",
        "servers[0]: host, port, database filled from connection 'shop' (db.internal:5433/shop)",
        "servers[0].schema: added public (andon's default)",
    ]


def test_postgres_keeps_the_address_it_gives_and_fills_only_the_rest() -> None:
    new, changes = upgrade(
        _doc(servers=[_pg(host="given", schema="sales")]),
        connection_address=lambda name: ("other", 5432, "shop"),
    )
    server = new["servers"][0]
    assert (server["host"], server["port"], server["database"], server["schema"]) == (
        "given", 5432, "shop", "sales",
    )  # fmt: skip
    assert list(server)[:6] == ["server", "type", "host", "port", "database", "schema"]
    assert changes[1] == "servers[0]: port, database filled from connection 'shop' " \
        "(other:5432/shop)"  # fmt: skip


@pytest.mark.parametrize(
    ("resolver", "why"),
    [
        (None, "connection 'shop' was not looked up"),
        (lambda name: None, "connection 'shop' is not known here"),
    ],
)
def test_postgres_without_an_address_says_what_to_fill_in(resolver: Any, why: str) -> None:
    doc = _doc(servers=[_pg(port=5432)])
    new, changes = upgrade(doc, connection_address=resolver)
    assert "host" not in new["servers"][0] and "database" not in new["servers"][0]
    assert changes[1] == (
        f"servers[0]: fill in host, database yourself (the standard requires them; {why})"
    )
    again, more = upgrade(new, connection_address=resolver)
    assert again == new and more == [changes[1]]  # the document is done; the gap is not


def test_library_rules_without_a_threshold_get_mustbe_zero() -> None:
    new, changes = upgrade(_rule(metric="nullValues", severity="warning", description="x"))
    assert _prop(new)["quality"] == [
        {"metric": "nullValues", "mustBe": 0, "severity": "warning", "description": "x"}
    ]
    assert changes == [
        "schema[1].properties[1].quality[0].mustBe: added 0 (andon's default threshold)"
    ]
    for kept in (
        {"metric": "rowCount"},  # andon refused it; a count of 0 would be a new meaning
        {"metric": "duplicateValues", "mustBeLessThan": 3},
        {"type": "sql", "query": "SELECT 1"},
        {"type": "custom", "engine": "dbt", "implementation": {"metric": "outOfRange"}},
    ):
        assert upgrade(_rule(**kept))[1] == [], kept


def test_top_level_valid_values_move_into_arguments() -> None:
    new, changes = upgrade(_rule(metric="invalidValues", validValues=["a", "b"], mustBe=0))
    assert _prop(new)["quality"] == [
        {"metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}, "mustBe": 0}
    ]
    assert changes == ["schema[1].properties[1].quality[0].validValues -> arguments.validValues"]


@pytest.mark.parametrize("metric", ["outOfRange", "unitMismatch"])
def test_andon_only_rules_become_custom_rules_with_their_threshold_inside(metric: str) -> None:
    rule = {
        "name": "t.c.range", "description": "kept", "type": "library", "metric": metric,
        "arguments": {"minimum": 0}, "mustBeLessThan": 2, "unit": "percent",
        "severity": "warning", "tags": ["a"], "customProperties": [{"property": "p", "value": 1}],
    }  # fmt: skip
    new, changes = upgrade(_rule(**rule))
    (custom,) = _prop(new)["quality"]
    assert custom == {
        "name": "t.c.range", "description": "kept", "type": "custom", "engine": "andon",
        "implementation": {"metric": metric, "arguments": {"minimum": 0},
                           "mustBeLessThan": 2, "unit": "percent"},
        "severity": "warning", "tags": ["a"], "customProperties": [{"property": "p", "value": 1}],
    }  # fmt: skip
    assert list(custom) == ["name", "description", "type", "engine", "implementation",
                            "severity", "tags", "customProperties"]  # fmt: skip
    assert changes == [
        f"schema[1].properties[1].quality[0]: {metric} -> type custom, engine andon, "
        f"threshold in implementation (the standard has no {metric} metric)"
    ]


def test_a_custom_rule_without_type_or_threshold_gets_andons_default_inside() -> None:
    new, _ = upgrade(_rule(metric="outOfRange", arguments={"maximum": 9}))
    assert _prop(new)["quality"] == [
        {"type": "custom", "engine": "andon",
         "implementation": {"metric": "outOfRange", "arguments": {"maximum": 9}, "mustBe": 0}}
    ]  # fmt: skip


@pytest.mark.parametrize(
    "verdict", [{}, {"mustBe": 0}, {"unit": "rows", "severity": "error", "type": "library"}]
)
def test_a_default_missing_joins_becomes_a_relationship(verdict: dict[str, Any]) -> None:
    doc = _doc(props=[{
        "name": "c", "logicalType": "integer", "quality": [
            {"name": "t.c.joins", "metric": "missingJoins", "arguments": {"to": "u.id"}, **verdict}
        ], "description": "after quality",
    }])  # fmt: skip
    new, changes = upgrade(doc)
    assert _prop(new) == {
        "name": "c", "logicalType": "integer", "relationships": [{"to": "u.id"}],
        "description": "after quality",
    }  # fmt: skip
    assert list(_prop(new)) == ["name", "logicalType", "relationships", "description"]
    assert changes == [
        "schema[1].properties[1].quality[0]: missingJoins to u.id -> relationships [{to: u.id}] "
        "(the rule's name 't.c.joins' goes with it)"
    ]


def test_a_relationship_joins_the_others_and_keeps_the_other_rules() -> None:
    doc = _doc(props=[{
        "name": "c", "logicalType": "integer",
        "quality": [{"metric": "missingJoins", "arguments": {"to": "u.id"}},
                    {"metric": "nullValues", "mustBe": 0}],
        "relationships": [{"to": "u.id"}],
    }])  # fmt: skip
    new, _ = upgrade(doc)
    assert _prop(new)["quality"] == [{"metric": "nullValues", "mustBe": 0}]
    assert _prop(new)["relationships"] == [{"to": "u.id"}]  # not twice


@pytest.mark.parametrize(
    "rule",
    [
        {"metric": "missingJoins", "arguments": {"to": "u.id"}, "mustBeLessThan": 3},
        {"metric": "missingJoins", "arguments": {"to": "u.id"}, "mustBe": 0, "unit": "percent"},
        {"metric": "missingJoins", "arguments": {"to": "u.id"}, "severity": "warning"},
        {"metric": "missingJoins", "arguments": {"to": "u.id"}, "description": "kept"},
        {"metric": "missingJoins", "arguments": {"to": "u.id", "where": "x"}},
    ],
)
def test_any_other_missing_joins_stays_a_custom_rule(rule: dict[str, Any]) -> None:
    new, changes = upgrade(_rule(**rule))
    (custom,) = _prop(new)["quality"]
    assert custom["type"] == "custom" and custom["implementation"]["metric"] == "missingJoins"
    assert custom["implementation"]["arguments"] == rule["arguments"]
    assert "relationships" not in _prop(new)
    assert "missingJoins -> type custom" in changes[0]


def test_object_level_missing_joins_has_no_property_to_relate_and_stays_custom() -> None:
    doc = _doc()
    doc["schema"][1]["quality"] = [{"metric": "missingJoins", "arguments": {"to": "u.id"}}]
    new, changes = upgrade(doc)
    assert new["schema"][1]["quality"][0]["type"] == "custom"
    assert changes[0].startswith("schema[1].quality[0]: missingJoins -> type custom")


def test_freshness_is_latency_in_minutes_hours_or_days() -> None:
    sla = [
        {"property": "freshness", "value": 30, "unit": "m", "element": "t.id", "driver": "x"},
        {"property": "freshness", "value": 4, "element": "t.id"},
        {"property": "freshness", "value": 2, "unit": "d", "element": "t.id"},
        {"property": "retention", "value": 3, "unit": "m"},  # not andon's: untouched
    ]
    new, changes = upgrade(_doc(slaProperties=sla))
    assert new["slaProperties"] == [
        {"property": "latency", "value": 30, "unit": "min", "element": "t.id", "driver": "x"},
        {"property": "latency", "value": 4, "unit": "h", "element": "t.id"},
        {"property": "latency", "value": 2, "unit": "d", "element": "t.id"},
        {"property": "retention", "value": 3, "unit": "m"},
    ]
    assert list(new["slaProperties"][1]) == ["property", "value", "unit", "element"]
    assert changes == [
        "slaProperties[0].property: freshness -> latency",
        "slaProperties[0].unit: m -> min (andon's m meant minutes)",
        "slaProperties[1].property: freshness -> latency",
        "slaProperties[1].unit: added h (andon's default for freshness)",
        "slaProperties[2].property: freshness -> latency",
    ]


@pytest.mark.parametrize(
    ("prop", "version", "uses"),
    [
        ({"name": "c", "logicalType": "timestamp"}, "v3.1.0", "logicalType timestamp"),
        (  # the upgrade introduces a relationship
            {"name": "c", "logicalType": "integer",
             "quality": [{"metric": "missingJoins", "arguments": {"to": "u.id"}}]},
            "v3.1.0", "arguments, metric, relationships",
        ),
        (  # an andon-only rule becomes a custom rule, which v3.0.x has too
            {"name": "c", "logicalType": "integer",
             "quality": [{"type": "library", "rule": "x", "metric": "outOfRange"}]},
            "v3.1.0", "metric",
        ),
        ({"name": "c", "logicalType": "date"}, "v3.0.2", ""),
    ],
)  # fmt: skip
def test_a_v30_document_with_v31_constructs_declares_v310(
    prop: dict[str, Any], version: str, uses: str
) -> None:
    doc = _doc(props=[prop], apiVersion="v3.0.2")
    new, changes = upgrade(doc)
    assert new["apiVersion"] == version
    if uses:
        assert changes[-1] == f"apiVersion: v3.0.2 -> v3.1.0 (it uses {uses}, which v3.0.2 lacks)"
    else:
        assert changes == []


def test_a_v30_document_whose_upgrade_leaves_no_v31_construct_stays_v30() -> None:
    doc = _doc(apiVersion="v3.0.2", servers=[{"server": "s", "type": "parquet", "path": "."}])
    new, changes = upgrade(doc)
    assert new["apiVersion"] == "v3.0.2" and changes == [
        "servers[0].type: parquet -> local with format parquet"
    ]


def test_shapes_it_does_not_know_are_left_alone() -> None:
    doc: Any = _doc(slaProperties="soon", extra={"servers": [{"type": "parquet"}]})
    doc["servers"] = ["not a mapping", {"server": "x", "type": "s3", "location": "s3://b/"}]
    doc["schema"].append("nope")
    doc["schema"][1]["properties"].append({"name": "q", "quality": "no list"})
    assert upgrade(doc) == (doc, [])
    assert upgrade([1, 2]) == ([1, 2], [])  # type: ignore[arg-type]


_SERVERS = [
    {"server": "a", "type": "parquet", "path": "."},
    {"server": "b", "type": "csv", "path": "x", "format": "csv"},
    {"server": "c", "type": "local", "path": "."},
    {"server": "d", "type": "duckdb", "path": "w.db", "format": "parquet"},
    {"server": "e", "type": "spark", "path": "/l", "format": "csv"},
    _pg(),
    {"server": "g", "type": "local", "path": ".", "format": "json"},
]
_RULES = [
    {"metric": "nullValues"},
    {"metric": "invalidValues", "validValues": [1]},
    {"metric": "missingJoins", "arguments": {"to": "u.id"}},
    {"metric": "missingJoins", "arguments": {"to": "u.id"}, "mustBeLessThan": 1},
    {"metric": "outOfRange", "arguments": {"maximum": 1}, "unit": "percent", "mustBe": 1},
    {"type": "sql", "query": "SELECT 0", "mustBe": 0},
    {"metric": "rowCount", "mustBeGreaterThan": 0},
]
_SLAS = [
    {"property": "freshness", "value": 1, "unit": "m", "element": "t.id"},
    {"property": "freshness", "value": 1},
    {"property": "latency", "value": 1, "unit": "d"},
]


@settings(max_examples=150, deadline=None)
@given(
    servers=st.lists(st.sampled_from(_SERVERS), min_size=1, max_size=4),
    rules=st.lists(st.lists(st.sampled_from(_RULES), max_size=3), max_size=3),
    slas=st.lists(st.sampled_from(_SLAS), max_size=3),
    api=st.sampled_from(["v3.0.2", "v3.1.0"]),
    address=st.booleans(),
)
def test_any_mix_upgrades_once_and_for_all(
    servers: list[Any], rules: list[Any], slas: list[Any], api: str, address: bool
) -> None:
    props = [
        {"name": f"c{i}", "logicalType": "integer", "quality": copy.deepcopy(q), "tags": [i]}
        for i, q in enumerate(rules)
    ]
    doc = _doc(servers=copy.deepcopy(servers), props=props, apiVersion=api,
               slaProperties=copy.deepcopy(slas), x_unknown={"kept": True})  # fmt: skip
    resolver = (lambda name: ("h", 5432, "d")) if address else None
    before = copy.deepcopy(doc)
    new, changes = upgrade(doc, connection_address=resolver)
    assert doc == before
    again, more = upgrade(new, connection_address=resolver)
    assert again == new
    assert all(line.startswith("servers[") and "fill in" in line for line in more)
    assert new["x_unknown"] == {"kept": True} and list(new) == list(doc)
    for i, prop in enumerate(new["schema"][1]["properties"][1:]):
        assert prop["tags"] == [i] and prop["name"] == f"c{i}"
    for server in new["servers"]:
        assert server["type"] in ("local", "duckdb", "custom", "postgresql")
    assert bool(changes) == (new != doc) or any("fill in" in line for line in changes)
