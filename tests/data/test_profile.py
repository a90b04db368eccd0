"""Profiles on real DuckDB: the statistics, three queries per table, PII masked, units."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, NotFound
from andon.data import service as data
from andon.data.contracts import parse_contract, read_contract_file
from andon.data.profile import MASK, likely_unit, open_source, profile_dataset, profile_table
from andon.data.sample import SampleSet
from tests.conftest import as_principal
from tests.data.conftest import write_contract


@pytest.fixture
def sql_log() -> Iterator[list[str]]:
    """Every SQL statement Ibis executes."""
    logged: list[str] = []
    verbose, log = ibis.options.verbose, ibis.options.verbose_log
    ibis.options.verbose, ibis.options.verbose_log = True, logged.append
    yield logged
    ibis.options.verbose, ibis.options.verbose_log = verbose, log


def _profile(sample_set: SampleSet, table: str, **kw: Any) -> Any:
    contract = parse_contract(read_contract_file(sample_set.contract))
    obj = contract.table(table)
    assert obj is not None
    source = open_source(contract, sample_set.folder, table, None)
    try:
        return profile_table(source, obj, **kw)
    finally:
        source.close()


@pytest.fixture(scope="module")
def orders(sample_set: SampleSet) -> Any:
    return _profile(sample_set, "orders")


def test_one_aggregate_one_top_values_query_one_sample(
    sample_set: SampleSet, sql_log: list[str]
) -> None:
    found = _profile(sample_set, "orders")
    assert found.queries == len(sql_log) == 3
    aggregate, tops, sample = sql_log
    # Every column's statistics come from the one aggregate.
    assert aggregate.count("APPROX_COUNT_DISTINCT") == 11
    assert aggregate.count("APPROX_QUANTILE") == 5  # the numeric columns
    assert "GROUP BY" in tops and "UNION ALL" in tops
    assert "TABLESAMPLE" in sample


def test_statistics_match_the_generated_data(orders: Any) -> None:
    assert orders.rows == 2000 and orders.sampled == 1000
    country = orders.column("shipping_country")
    assert (country.nulls, country.null_share) == (40, 0.02)
    assert country.top_values_complete
    assert {v["value"] for v in country.top_values} == {"US", "DE", "FR", "GB", "JP"}
    assert sum(v["count"] for v in country.top_values) == 1960
    status = orders.column("status")
    assert {"value": "shiped", "count": 50} in status.top_values  # the injected typo, exactly
    quantity = orders.column("quantity")
    assert (quantity.min, quantity.max) == (-1, 100)
    assert quantity.quantiles is not None and set(quantity.quantiles) == {
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
    }
    assert 45 <= quantity.quantiles["p50"] <= 56 and quantity.mean == pytest.approx(50.3, abs=1.0)
    order_id = orders.column("order_id")
    assert 1800 <= order_id.distinct <= 2200  # approximate
    assert order_id.top_values is None  # nearly unique: no top values
    assert orders.column("order_ts").type.startswith("timestamp")


def test_formats_and_units(orders: Any) -> None:
    assert orders.column("customer_email").formats == {"email": 1.0}
    assert orders.column("shipping_country").formats == {"country_code": 1.0}
    assert orders.column("amount_usd").unit == {"unit": "USD", "from": "name word 'usd'"}
    assert orders.column("weight_kg").unit == {"unit": "kg", "from": "name word 'kg'"}
    assert orders.column("quantity").unit is None


def test_pii_is_masked_from_contract_and_classifier(orders: Any, sample_set: SampleSet) -> None:
    email = orders.column("customer_email")  # classification: pii in the contract
    assert email.pii and email.min == email.max == MASK
    assert email.examples and set(email.examples) == {MASK}
    assert {v["value"] for v in email.top_values} == {MASK}
    assert not orders.column("order_ref").pii and orders.column("order_ref").examples[0].startswith(
        "ORD"
    )
    # A stored classification masks a column the contract does not mark.
    again = _profile(sample_set, "orders", pii={"order_ref"})
    assert again.column("order_ref").examples == [MASK] * 3
    # The classifier alone masks an undeclared email column.
    folder = Path(sample_set.folder).parent / "undeclared"
    folder.mkdir(exist_ok=True)
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'p' || range || '@x.org' AS c1 FROM range(50)) "
        f"TO '{folder / 't.parquet'}'"
    )
    path = write_contract(
        folder,
        "apiVersion: v3.0.2\nkind: DataContract\nid: u\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer}, "
        "{name: c1, logicalType: string}]}]\n",
    )
    contract = parse_contract(path.read_text())
    source = open_source(contract, folder, "t", None)
    try:
        found = profile_table(source, contract.schema[0])
    finally:
        source.close()
    assert found.column("c1").pii and found.column("c1").max == MASK
    assert "p0@x.org" not in str(found.as_dict())


@pytest.mark.parametrize(
    ("name", "values", "unit", "note"),
    [
        ("amount_usd", [12.5, 99.99, 7.25], "USD", None),
        ("amount_usd", [1250, 9999, 725], "USD", "likely minor units (cents)"),
        ("price", [1250, 9999, 725], "currency", "likely minor units (cents)"),
        ("amount_cents", [12.5, 99.99], "cents", "likely major units"),
        ("weight_kg", [2500.0, 3000.0], "kg", "likely grams"),
        ("weight_g", [0.2, 0.5], "g", "likely kilograms"),
        ("discount_pct", [0.1, 0.25], "percent", "likely a fraction"),
        ("churn_rate", [12.0, 30.0], "fraction", "likely percent"),
        ("latency_ms", [12.0, 30.0], "ms", None),
        ("quantity", [1, 2, 3], None, None),
    ],
)
def test_likely_unit_rules(
    name: str, values: list[float], unit: str | None, note: str | None
) -> None:
    ordered = sorted(values)
    quantiles = {"p50": ordered[len(ordered) // 2]}
    got = likely_unit(name, quantiles, values)
    if unit is None:
        assert got is None
        return
    assert got is not None and got["unit"] == unit
    assert (note in got.get("scale_note", "")) if note else "scale_note" not in got


def test_profile_service_checks_dataset_read(admin: Context, sample_set: SampleSet) -> None:
    auth.create_team(admin, "fraud-ml")
    auth.create_team(admin, "other")
    data.apply_contract(admin, sample_set.contract, "fraud-ml")
    found = profile_dataset(admin, "fraud-ml/invoices")
    assert found.dataset == "fraud-ml/invoices" and found.rows == 1000 and found.queries <= 3
    assert found.as_dict()["columns"][0]["name"] == "invoice_id"
    auth.create_principal(admin, "vic")
    auth.bind_role(admin, "vic", "viewer", scope="team", target="other")
    with pytest.raises(Forbidden):
        profile_dataset(as_principal(admin, "vic"), "fraud-ml/invoices")
    with pytest.raises(NotFound, match="no dataset 'fraud-ml/nope'"):
        profile_dataset(admin, "fraud-ml/nope")
