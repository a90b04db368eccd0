"""ODCS v3 parsing: valid contracts are typed, invalid ones list every problem with its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import Invalid, NotFound
from andon.data.checks import Check, plan
from andon.data.contracts import (
    LOGICAL_TYPES,
    parse_contract,
    read_contract_file,
    validate_errors,
)
from andon.data.sample import SampleSet

BAD = """
apiVersion: v3.0.2
kind: DataContract
version: 1.0.0
status: active
servers:
  - {server: local, type: parket, path: .}
schema:
  - name: orders
    properties:
      - {name: id, logicalType: integer}
      - {name: status, logicalType: string, quality: [{metric: invalidValues}]}
      - {name: ref, logicalType: string,
         quality: [{metric: invalidValues, arguments: {pattern: "([a-z"}}]}
      - {name: amount, logicalType: strng}
      - {name: qty, logicalType: integer, quality: [{metric: nullValues, mustBe: 0,
                                                      severity: fatal, unit: rows}]}
    quality:
      - {metric: rowCount}
      - {type: sql, query: "SELECT 1", mustBeBetween: [5, 1]}
slaProperties:
  - {property: freshness, value: 1, unit: d, element: orders.nope}
"""


def test_the_sample_contract_parses_into_typed_checks(sample_set: SampleSet) -> None:
    contract = parse_contract(read_contract_file(sample_set.contract))
    assert contract.id == "sample-orders" and contract.version == "1.0.0"
    assert [o.name for o in contract.schema] == ["customers", "orders", "invoices"]
    assert (contract.server(None).type, contract.server(None).format) == ("local", "parquet")
    assert contract.legacy == ()
    assert [(f.table, f.column, f.seconds) for f in contract.freshness] == [
        ("orders", "order_ts", 86400),
        ("invoices", "issued_at", 172800),
    ]
    checks = {c.name: c for c in plan(contract)}
    assert checks["orders.order_id.unique"].kind == "duplicateValues"
    assert checks["orders.shipping_country.missing"].severity == "warning"
    assert checks["orders.customer_id.foreignKey"].arguments["to"] == "customers.customer_id"
    assert checks["orders.quantity.range"].kind == "outOfRange"  # andon's custom rule
    assert len(checks) == 22


def test_the_pre_standard_sample_still_parses_to_the_same_checks(sample_set: SampleSet) -> None:
    from tests.data.conftest import LEGACY_SAMPLE

    legacy = parse_contract(LEGACY_SAMPLE.read_text(encoding="utf-8"))
    standard = parse_contract(read_contract_file(sample_set.contract))
    assert "servers[0].type: parquet -> local with format parquet" in legacy.legacy
    old = {c.name: c.kind for c in plan(legacy)}
    new = {c.name: c.kind for c in plan(standard)}
    assert old.pop("orders.customer_id.joins") == "missingJoins"  # a percent threshold: kept
    assert new.pop("orders.customer_id.foreignKey") == "foreignKey"
    assert old == new


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    errors = validate_errors(BAD)
    assert errors == [
        "id: is required",
        "schema[0].properties[1].quality[0].arguments: invalidValues needs validValues or pattern",
        "schema[0].properties[2].quality[0].arguments.pattern: '([a-z' is not a valid regex: "
        "unterminated character set at position 1",
        "schema[0].properties[3].logicalType: 'strng' is not one of string, integer, number, "
        "boolean, date, timestamp, time, object, array, map, vector",
        "schema[0].quality[0]: rowCount needs a threshold such as mustBeGreaterThan: 0",
        "schema[0].quality[1].mustBeBetween: must be two numbers [low, high] with low <= high",
        "slaProperties[0].element: 'orders' declares no property 'nope'",
    ]
    with pytest.raises(Invalid) as info:
        parse_contract(BAD, source="bad.yaml")
    assert str(info.value).startswith("bad.yaml is not a valid ODCS v3 contract (7 problems)")


def test_yaml_syntax_and_shape_errors_are_one_line() -> None:
    with pytest.raises(Invalid, match=r"is not valid YAML at line 2"):
        parse_contract("a: [1\nb: 2")
    with pytest.raises(Invalid, match="must be a YAML mapping"):
        parse_contract("- 1")


def test_unknown_server_names_the_ones_that_exist(sample_set: SampleSet) -> None:
    contract = parse_contract(read_contract_file(sample_set.contract))
    with pytest.raises(Invalid, match=r"no server 'prod' \(servers: local\)"):
        contract.server("prod")


def test_missing_and_non_utf8_contract_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no contract file"):
        read_contract_file(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("id: caf\xe9".encode("latin-1"))
    with pytest.raises(Invalid, match="not UTF-8"):
        read_contract_file(bad)


@given(st.text(min_size=1, max_size=12).filter(lambda s: s not in LOGICAL_TYPES))
def test_any_unknown_logical_type_is_named_with_its_path(logical: str) -> None:
    import yaml

    doc = yaml.safe_dump(
        {
            "apiVersion": "v3.0.2",
            "kind": "DataContract",
            "id": "x",
            "version": "1",
            "status": "draft",
            "servers": [{"server": "s", "type": "parquet", "path": "."}],
            "schema": [
                {
                    "name": "t",
                    "properties": [
                        {"name": "a", "logicalType": "string"},
                        {"name": "b", "logicalType": logical},
                    ],
                }
            ],
        }
    )
    errors = validate_errors(doc)
    assert len(errors) == 1
    assert errors[0].startswith("schema[0].properties[1].logicalType: ")
    assert "is not one of string, integer" in errors[0]


@pytest.mark.parametrize(
    ("operator", "threshold", "observed", "ok"),
    [
        ("mustBe", 0, 0, True),
        ("mustBe", 0, 1, False),
        ("mustNotBe", 0, 1, True),
        ("mustBeGreaterThan", 0, 0, False),
        ("mustBeGreaterOrEqualTo", 0, 0, True),
        ("mustBeLessThan", 1, 1, False),
        ("mustBeLessOrEqualTo", 1, 1, True),
        ("mustBeBetween", [1, 3], 3, True),
        ("mustBeBetween", [1, 3], 4, False),
        ("mustNotBeBetween", [1, 3], 2, False),
        ("mustNotBeBetween", [1, 3], 0, True),
    ],
)
def test_thresholds(operator: str, threshold: object, observed: float, ok: bool) -> None:
    check = Check("c", "t", None, "rowCount", "error", operator, threshold)
    assert check.passes(observed) is ok
