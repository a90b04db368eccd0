"""The standard's own schema judges contracts written from the ODCS documentation."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files

import pytest

from andon.core.errors import Invalid
from andon.core.yaml_limits import load_bounded
from andon.data.sample import contract_document
from andon.data.standard import KNOWN_VERSIONS, schema_for, standard_errors
from tests.data.conftest import legacy_document

HEAD = """\
apiVersion: {v}
kind: DataContract
id: 53581432-6c55-4ba2-a65f-72344a91553a
version: 1.0.0
status: active
name: seller_payments
"""

OPERATORS = {
    "mustBe": 0,
    "mustNotBe": 1,
    "mustBeGreaterThan": 0,
    "mustBeGreaterOrEqualTo": 1,
    "mustBeLessThan": 100,
    "mustBeLessOrEqualTo": 5,
    "mustBeBetween": [1, 10],
    "mustNotBeBetween": [20, 30],
}


def _doc(version: str, body: str = "") -> dict:
    return load_bounded(HEAD.format(v=version) + body, source="contract", timestamps=False)


@pytest.mark.parametrize("version", ["v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0"])
def test_a_minimal_contract_is_valid(version: str) -> None:
    assert standard_errors(_doc(version)) == []


def test_every_vendored_file_matches_its_provenance() -> None:
    folder = files("andon.data") / "odcs"
    table = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = dict(
        re.findall(r"^\| (odcs-json-schema-v[\d.]+\.json) \|.*?\| ([0-9a-f]{64}) \|", table, re.M)
    )
    assert set(listed) == {f"odcs-json-schema-{v}.json" for v in set(KNOWN_VERSIONS.values())}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_the_v30_duckdb_schema_bug_is_patched_on_load_only() -> None:
    node = schema_for("v3.0.2")["$defs"]["ServerSource"]["DuckdbServer"]["properties"]["schema"]
    assert node["type"] == "string"
    raw = (files("andon.data") / "odcs" / "odcs-json-schema-v3.0.2.json").read_text()
    assert re.search(r'"DuckdbServer".{0,300}"schema": \{\s*"type": "integer"', raw, re.S)
    doc = _doc(
        "v3.0.2",
        "servers:\n  - server: local\n    type: duckdb\n    database: shop.duckdb\n    schema: main\n",
    )
    assert standard_errors(doc) == []


def test_schema_for_refuses_an_unknown_version() -> None:
    with pytest.raises(Invalid, match=r"'v3\.9\.9' is not a version andon knows"):
        schema_for("v3.9.9")


def test_an_unknown_api_version_is_one_error_and_no_schema_run() -> None:
    doc = _doc("v3.9.9", "nonsense: true\n")
    assert standard_errors(doc) == [
        "apiVersion: 'v3.9.9' is not a version andon knows (v3.0.0, v3.0.1, v3.0.2, v3.1.0, v3.2.0)"
    ]


SERVERS = """\
servers:
  - server: embedded
    type: duckdb
    database: /data/shop.duckdb
    schema: main
  - server: warehouse
    type: postgresql
    host: db.example.com
    port: 5432
    database: shop
    schema: public
  - server: files
    type: local
    path: ./data/orders.parquet
    format: parquet
  - server: lake
    type: s3
    location: s3://shop-lake/orders/
    format: delta
  - server: spark
    type: custom
    customProperties:
      - property: andonEngine
        value: spark
"""


@pytest.mark.parametrize("version", ["v3.0.2", "v3.1.0", "v3.2.0"])
def test_each_server_type_andon_reads_is_valid(version: str) -> None:
    assert standard_errors(_doc(version, SERVERS)) == []


RELATIONSHIPS = """\
schema:
  - name: orders
    relationships:
      - from: orders.customer_id
        to: customers.id
      - type: foreignKey
        from: [orders.order_id, orders.line_no]
        to: [order_lines.order_id, order_lines.line_no]
    properties:
      - name: order_id
        logicalType: string
        primaryKey: true
      - name: line_no
        logicalType: integer
      - name: customer_id
        logicalType: string
        relationships:
          - to: customers.id
  - name: customers
    properties:
      - name: id
        logicalType: string
  - name: order_lines
    properties:
      - name: order_id
        logicalType: string
      - name: line_no
        logicalType: integer
"""


@pytest.mark.parametrize("version", ["v3.1.0", "v3.2.0"])
def test_relationships_are_valid_from_v31(version: str) -> None:
    assert standard_errors(_doc(version, RELATIONSHIPS)) == []


def test_relationships_are_not_part_of_v30() -> None:
    errors = standard_errors(_doc("v3.0.2", RELATIONSHIPS))
    assert errors
    assert all("relationships is not allowed" in e for e in errors), errors


SLA = """\
slaProperties:
  - property: latency
    value: 4
    unit: d
    element: orders.created_at
  - property: retention
    value: 3
    unit: y
  - property: frequency
    value: 1
    valueExt: 1
    unit: d
  - property: timeOfAvailability
    value: 09:00-08:00
    driver: regulatory
"""


@pytest.mark.parametrize("version", ["v3.0.2", "v3.1.0", "v3.2.0"])
def test_sla_properties_are_valid(version: str) -> None:
    assert standard_errors(_doc(version, SLA)) == []


def _rule(metric: str, operator: str, level: str = "property") -> str:
    value = OPERATORS[operator]
    rule = f"      - metric: {metric}\n        {operator}: {value}\n        unit: rows\n"
    if metric == "missingValues":
        rule += "        arguments:\n          missingValues: [null, '', 'N/A']\n"
    if metric == "invalidValues":
        rule += "        arguments:\n          validValues: [EUR, USD]\n"
    return rule


@pytest.mark.parametrize("version", ["v3.1.0", "v3.2.0"])
@pytest.mark.parametrize("operator", list(OPERATORS))
def test_library_metrics_with_each_operator_are_valid(version: str, operator: str) -> None:
    column = "".join(
        _rule(m, operator)
        .replace("      - ", "          - ")
        .replace("\n        ", "\n            ")
        for m in ("nullValues", "missingValues", "invalidValues", "duplicateValues")
    )
    table = _rule("rowCount", operator).replace("      - ", "    quality:\n      - ", 1)
    body = (
        "schema:\n  - name: payments\n"
        + table
        + "    properties:\n      - name: currency\n        logicalType: string\n        quality:\n"
        + column
    )
    assert standard_errors(_doc(version, body)) == []


CUSTOM = """\
schema:
  - name: orders
    properties:
      - name: quantity
        logicalType: integer
        quality:
          - type: custom
            engine: andon
            implementation:
              metric: outOfRange
              arguments:
                minimum: 1
            mustBe: 0
            unit: percent
            severity: warning
"""


def test_a_custom_andon_rule_may_carry_a_threshold_only_in_v30() -> None:
    assert standard_errors(_doc("v3.0.2", CUSTOM)) == []
    for version in ("v3.1.0", "v3.2.0"):
        assert standard_errors(_doc(version, CUSTOM)) == [
            "schema[0].properties[0].quality[0]: mustBe is not allowed for type 'custom' "
            f"(ODCS {version}: unevaluatedProperties)"
        ]


@pytest.mark.parametrize("version", ["v3.0.2", "v3.1.0", "v3.2.0"])
def test_a_custom_andon_rule_without_a_threshold_is_valid(version: str) -> None:
    assert standard_errors(_doc(version, CUSTOM.replace("            mustBe: 0\n", ""))) == []


def test_an_unquoted_date_stays_a_string_and_is_valid() -> None:
    body = (
        "contractCreatedTs: 2024-05-01T10:00:00Z\n"
        "schema:\n  - name: orders\n    properties:\n      - name: day\n        logicalType: date\n"
        "        examples: [2022-10-03]\n"
    )
    doc = _doc("v3.1.0", body)
    assert doc["schema"][0]["properties"][0]["examples"] == ["2022-10-03"]
    assert standard_errors(doc) == []
    dated = load_bounded(HEAD.format(v="v3.1.0") + body, source="contract")
    assert not isinstance(dated["schema"][0]["properties"][0]["examples"][0], str)
    assert standard_errors(dated) == []  # judged as the ISO string, never a traceback


def test_a_wrong_server_type_lists_every_allowed_type() -> None:
    doc = _doc("v3.1.0", "servers:\n  - server: files\n    type: parquet\n")
    errors = standard_errors(doc)
    assert errors == [
        "servers[0].type: 'parquet' is not one of "
        + ", ".join(
            repr(t) for t in schema_for("v3.1.0")["$defs"]["Server"]["properties"]["type"]["enum"]
        )
        + " (ODCS v3.1.0: enum)"
    ]
    assert "'custom'" in errors[0] and "other candidates" not in errors[0]


def test_a_postgres_server_without_host_names_it() -> None:
    doc = _doc(
        "v3.1.0",
        "servers:\n  - server: wh\n    type: postgresql\n    port: 5432\n    database: shop\n    schema: public\n",
    )
    assert standard_errors(doc) == [
        "servers[0]: host is required for type 'postgresql' (ODCS v3.1.0: required)"
    ]


def test_two_operators_on_a_v31_rule_are_named() -> None:
    body = (
        "schema:\n  - name: orders\n    quality:\n      - metric: rowCount\n"
        "        mustBeGreaterThan: 0\n        mustBeLessThan: 100\n"
    )
    errors = standard_errors(_doc("v3.1.0", body))
    assert errors == [
        "schema[0].quality[0]: exactly one of mustBe, mustNotBe, mustBeGreaterThan, "
        "mustBeGreaterOrEqualTo, mustBeLessThan, mustBeLessOrEqualTo, mustBeBetween, "
        "mustNotBeBetween is allowed; mustBeGreaterThan, mustBeLessThan are given "
        "(ODCS v3.1.0: oneOf)"
    ]
    assert standard_errors(_doc("v3.0.2", body.replace("metric", "rule"))) == []


def test_a_v31_library_rule_without_an_operator_says_one_is_required() -> None:
    body = "schema:\n  - name: orders\n    quality:\n      - metric: rowCount\n"
    assert standard_errors(_doc("v3.1.0", body)) == [
        "schema[0].quality[0]: exactly one of mustBe, mustNotBe, mustBeGreaterThan, "
        "mustBeGreaterOrEqualTo, mustBeLessThan, mustBeLessOrEqualTo, mustBeBetween, "
        "mustNotBeBetween is required; none is given (ODCS v3.1.0: oneOf)"
    ]


def test_a_misspelled_operator_is_named_once() -> None:
    body = (
        "schema:\n  - name: orders\n    quality:\n      - metric: rowCount\n"
        "        mustBeGreaterThanOrEqualTo: 1\n"
    )
    errors = standard_errors(_doc("v3.1.0", body))
    assert (
        "schema[0].quality[0]: mustBeGreaterThanOrEqualTo is not allowed (ODCS v3.1.0: unevaluatedProperties)"
        in errors
    )
    assert not any(re.search(r": (metric|arguments) is not allowed", e) for e in errors), errors


def test_an_unknown_top_level_key_is_named() -> None:
    errors = standard_errors(_doc("v3.1.0", "owner: sales\n"))
    assert len(errors) == 1
    assert errors[0].startswith("(document): owner is not allowed (ODCS v3.1.0: ")
    assert "Properties" in errors[0]


def test_errors_follow_the_document_order() -> None:
    body = (
        "servers:\n  - server: a\n    type: parquet\n"
        "schema:\n  - name: t\n    properties:\n      - name: c\n        logicalType: strng\n"
    )
    errors = standard_errors(_doc("v3.1.0", body))
    assert [e.split(":")[0] for e in errors] == [
        "servers[0].type",
        "schema[0].properties[0].logicalType",
    ]


def test_the_sample_is_valid_odcs_and_its_upgrade_too() -> None:
    from andon.data.dialect import upgrade

    assert standard_errors(contract_document()) == []
    assert standard_errors(upgrade(legacy_document())[0]) == []
    assert standard_errors({**contract_document(), "apiVersion": "v3.2.0"}) == []


def test_andons_pre_standard_sample_gives_the_researched_errors() -> None:
    contract_document = legacy_document
    errors = standard_errors(contract_document())
    assert len(errors) == 12
    assert (
        sum("rule is required for type 'library' (ODCS v3.0.2: required)" in e for e in errors) == 9
    )
    assert sum(".logicalType: 'timestamp' is not one of" in e for e in errors) == 2
    assert errors[0].startswith("servers[0].type: 'parquet' is not one of 'api'")
    as_v31 = {**contract_document(), "apiVersion": "v3.1.0"}
    errors = standard_errors(as_v31)
    assert len(errors) == 13
    assert sum("none is given (ODCS v3.1.0: oneOf)" in e for e in errors) == 6
    assert sum(".metric: '" in e for e in errors) == 4
    assert (
        "servers[0]: path is not allowed for type 'parquet' (ODCS v3.1.0: unevaluatedProperties)"
        in errors
    )
    assert not any("metric is not allowed" in e or "arguments is not allowed" in e for e in errors)
