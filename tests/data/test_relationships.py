"""ODCS v3.1 relationships: foreign keys between a contract's tables, as referential checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from andon.core.errors import Invalid
from andon.data import compile as engine
from andon.data.contracts import parse_contract

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HEAD = (
    "apiVersion: v3.1.0\nkind: DataContract\nid: shop\nversion: 1.0.0\nstatus: active\n"
    "servers: [{server: local, type: local, path: ., format: parquet}]\nschema:\n"
)
CUSTOMERS = (
    "  - name: customers\n    id: cust\n    properties:\n"
    "      - {name: customer_id, id: cid, logicalType: integer}\n"
    "      - {name: email, logicalType: string, classification: pii}\n"
)
STOCK = (
    "  - name: stock\n    properties:\n"
    "      - {name: order_id, logicalType: integer}\n      - {name: sku, logicalType: string}\n"
)


def _orders(relationships: str = "", object_level: str = "") -> str:
    return (
        "  - name: orders\n    properties:\n"
        f"      - {{name: order_id, logicalType: integer}}\n"
        f"      - {{name: customer_id, logicalType: integer{relationships}}}\n"
        "      - {name: sku, logicalType: string}\n"
        "      - {name: email, logicalType: string, classification: pii}\n"
        f"{object_level}"
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    def copy(name: str, select: str) -> None:
        target = str(tmp_path / f"{name}.parquet").replace("'", "''")
        duckdb.sql(f"COPY ({select}) TO '{target}' (FORMAT parquet)")

    copy("customers", "SELECT range AS customer_id, 'c' || range AS email FROM range(10)")
    # Orders 0..19: customer 10..12 do not exist (3 orphans), order 19 has no customer.
    copy(
        "orders",
        "SELECT range AS order_id, CASE WHEN range = 19 THEN NULL ELSE range % 13 END AS customer_id,"
        " CASE WHEN range < 5 THEN NULL ELSE 'sku' || (range % 4) END AS sku,"
        " 'user' || range || '@example.com' AS email FROM range(20)",
    )
    copy("stock", "SELECT range + 5 AS order_id, 'sku' || ((range + 5) % 4) AS sku FROM range(10)")
    return tmp_path


def _run(folder: Path, text: str) -> dict[str, Any]:
    scan = engine.run(parse_contract(text), folder, now=NOW)
    return {r.check: r for r in scan.results} | {"__queries": scan.queries}


def test_a_property_relationship_counts_orphans_with_masked_samples(folder: Path) -> None:
    text = HEAD + CUSTOMERS + _orders(", relationships: [{to: customers.customer_id}]")
    results = _run(folder, text)
    fk = results["orders.customer_id.foreignKey"]
    assert (fk.kind, fk.status, fk.failed_rows, fk.observed) == ("foreignKey", "fail", 3, 3)
    assert sorted(s["customer_id"] for s in fk.samples) == [10, 11, 12]
    assert {s["email"] for s in fk.samples} == {"***"}  # pii is masked in samples
    assert fk.message == "3 of 20 rows have no match in customers.customer_id"
    # One aggregate per table (no row check failed, so no samples query) and one per key.
    assert results["__queries"] == 2 + 1


def test_schema_level_composite_and_id_references(folder: Path) -> None:
    composite = (
        "    relationships:\n"
        "      - {from: [orders.order_id, orders.sku], to: [stock.order_id, stock.sku]}\n"
        "      - {from: orders.customer_id, to: schema/cust/properties/cid}\n"
    )
    results = _run(folder, HEAD + CUSTOMERS + STOCK + _orders(object_level=composite))
    key = results["orders.order_id+sku.foreignKey"]
    # Orders 0-4 have no sku (a NULL part: not compared); 5..14 are in stock; 15..19 are not.
    assert (key.status, key.failed_rows) == ("fail", 5)
    assert all(s["sku"] is not None for s in key.samples)
    assert results["orders.customer_id.foreignKey"].failed_rows == 3


def test_missing_joins_is_the_same_check_with_its_own_threshold(folder: Path) -> None:
    rule = (
        ", quality: [{type: custom, engine: andon, name: orders.joins, implementation: "
        "{metric: missingJoins, arguments: {to: customers.customer_id}, "
        "mustBeLessOrEqualTo: 20, unit: percent}}]"
    )
    joins = _run(folder, HEAD + CUSTOMERS + _orders(rule))["orders.joins"]
    assert (joins.kind, joins.status, joins.observed) == ("missingJoins", "pass", 15.0)


def test_bad_references_are_errors_before_any_query_and_other_files_not_checked(
    folder: Path,
) -> None:
    with pytest.raises(Invalid) as info:
        parse_contract(
            HEAD + CUSTOMERS + _orders(
                ", relationships: [{to: customers.nope}]",
                "    relationships:\n      - {from: [orders.order_id, orders.sku], to: [stock.order_id]}\n"
                "      - {from: orders.sku, to: nowhere.sku}\n",
            )
        )  # fmt: skip
    errors = info.value.details["errors"]
    assert (
        "schema[1].properties[1].relationships[0].to: 'customers' declares no property 'nope'"
        in errors
    )
    assert any("the same number of columns (2 and 1)" in e for e in errors)
    assert "schema[1].relationships[1].to: no schema object named 'nowhere'" in errors
    other = (
        HEAD
        + CUSTOMERS
        + _orders(", relationships: [{to: 'crm.yaml#/schema/cust/properties/cid'}]")
    )
    found = _run(folder, other)
    unchecked = found["orders.customer_id.foreignKey"]
    assert unchecked.status == "not_checked" and "another contract file" in unchecked.message


def test_a_live_table_lacking_the_key_fails_before_the_scan(folder: Path, tmp_path: Path) -> None:
    text = HEAD + CUSTOMERS + _orders(", relationships: [{to: customers.customer_id}]")
    target = str(folder / "customers.parquet").replace("'", "''")
    duckdb.sql(f"COPY (SELECT range AS id FROM range(3)) TO '{target}' (FORMAT parquet)")
    with pytest.raises(Invalid, match="references column 'customer_id', which customers"):
        engine.run(parse_contract(text), folder, now=NOW)
