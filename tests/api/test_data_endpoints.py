"""The data endpoints over real HTTP: contracts, schema changes, check runs, datasets, catalog.

The sample line (2,000 orders with injected defects) and the tiny one-table contract come from
tests/data/conftest.py; every request goes to a live server on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from andon.auth import service as auth
from andon.data import roots
from andon.data.sample import SampleSet
from tests.api.live import Api, assert_problem
from tests.data.conftest import sample_set, tiny_contract  # noqa: F401 - the shared fixture

V1 = "/api/v1"
PATIENT = httpx.Timeout(60.0)  # scans run in the request: a busy machine is slower than 5 s


@pytest.fixture(autouse=True)
def _patient_client(api: Api) -> None:
    api.client.timeout = PATIENT


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _actions(api: Api, object_id: str) -> list[str]:
    items = _ok(api.client.get(f"{V1}/audit", params={"object_id": object_id}))["items"]
    return [e["action"] for e in items]


def _forbidden(response: httpx.Response, permission: str) -> None:
    doc = assert_problem(response, 403)
    assert permission in doc["detail"], doc


def _person(api: Api, name: str, role: str, team: str = "fraud-ml") -> httpx.Client:
    """A principal bound to ``role`` on ``team`` (viewer: globally) and a client for it."""
    auth.create_principal(api.admin, name)
    if role == "viewer":
        auth.bind_role(api.admin, name, role)
    else:
        auth.bind_role(api.admin, name, role, scope="team", target=team)
    client = api.as_(api.token_for(name))
    client.timeout = PATIENT
    return client


def _apply_sample(api: Api, sample: SampleSet) -> dict[str, Any]:
    auth.create_team(api.admin, "fraud-ml")
    roots.add_root(api.admin, "fraud-ml", sample.folder)  # REST applies grant no folder
    body = {
        "team": "fraud-ml",
        "content": sample.contract.read_text(),
        "base_dir": str(sample.folder),
        "reason": "the sample line",
    }
    return dict(_ok(api.client.post(f"{V1}/contracts", json=body), 201))


def test_apply_list_check_and_history(api: Api, sample_set: SampleSet) -> None:  # noqa: F811
    applied = _apply_sample(api, sample_set)
    assert applied["contract"] == "sample-orders"
    assert applied["datasets"] == ["customers", "orders", "invoices"]
    assert applied["created"] is True
    assert _actions(api, applied["id"]) == ["contract.apply"]
    again = {
        "team": "fraud-ml",
        "content": sample_set.contract.read_text(),
        "base_dir": str(sample_set.folder),
    }
    same = _ok(api.client.post(f"{V1}/contracts", json=again))
    assert same["created"] is False and same["id"] == applied["id"]
    listed = _ok(api.client.get(f"{V1}/contracts"))
    assert [c["contract"] for c in listed["items"]] == ["sample-orders"]
    assert listed["next_cursor"] is None

    run = _ok(api.client.post(f"{V1}/contracts/sample-orders/check-runs", json={"reason": "r"}))
    assert run["passed"] is False  # the sample carries error-severity defects: a result
    assert run["contract_version"] == "1.0.0"
    assert set(run["dataset_version"]) == {"customers", "orders", "invoices"}
    failing = {r["check"] for r in run["results"] if r["status"] != "pass"}
    assert "orders.order_id.unique" in failing
    assert _actions(api, run["run_id"]) == ["check.run"]

    history = _ok(api.client.get(f"{V1}/datasets/fraud-ml/orders/check-runs"))
    assert [h["run_id"] for h in history] == [run["run_id"]]
    assert "orders.order_id.unique" in history[0]["failing"]
    datasets = _ok(api.client.get(f"{V1}/datasets", params={"limit": 1}))
    assert [d["dataset"] for d in datasets["items"]] == ["fraud-ml/customers"]
    assert datasets["items"][0]["color"] == "red"
    rest = _ok(api.client.get(f"{V1}/datasets", params={"cursor": datasets["next_cursor"]}))
    assert [d["dataset"] for d in rest["items"]] == ["fraud-ml/invoices", "fraud-ml/orders"]

    # Unknown objects, bad bodies, and who may not.
    assert_problem(api.client.post(f"{V1}/contracts/nope/check-runs", json={}), 404)
    # The service names the CLI option (--server); the API names its own field.
    unknown_server = {"server": "prod"}
    checked = api.client.post(f"{V1}/contracts/sample-orders/check-runs", json=unknown_server)
    assert_problem(checked, 422, field="server")
    assert_problem(api.client.get(f"{V1}/datasets/fraud-ml/nope/check-runs"), 404)
    no_base = {"team": "fraud-ml", "content": again["content"].replace("1.0.0", "1.1.0")}
    assert_problem(api.client.post(f"{V1}/contracts", json=no_base), 422, field="base_dir")
    relative = {**no_base, "base_dir": "data"}
    assert_problem(api.client.post(f"{V1}/contracts", json=relative), 422, field="base_dir")
    missing = {**no_base, "base_dir": str(sample_set.folder / "nope")}
    assert_problem(api.client.post(f"{V1}/contracts", json=missing), 422, field="base_dir")
    assert_problem(api.client.post(f"{V1}/contracts", json={"content": "x"}), 422, field="team")
    bad = assert_problem(
        api.client.post(f"{V1}/contracts", json={"team": "fraud-ml", "content": "kind: x"}), 422
    )
    assert bad["detail"].startswith("content is not a valid ODCS v3 contract")
    assert_problem(api.client.post(f"{V1}/contracts", json={**again, "team": "nope"}), 404)
    changed = {**again, "content": again["content"].replace("Sample orders", "Other")}
    assert_problem(api.client.post(f"{V1}/contracts", json=changed), 409)
    with _person(api, "vic", "viewer") as vic:
        before = api.writes()
        _forbidden(vic.post(f"{V1}/contracts", json=again), "contract.apply")
        garbage = {"team": "fraud-ml", "content": "kind: x"}  # refused before it is parsed
        _forbidden(vic.post(f"{V1}/contracts", json=garbage), "contract.apply")
        _forbidden(vic.post(f"{V1}/contracts/sample-orders/check-runs", json={}), "check.run")
        assert api.writes() == before
        assert _ok(vic.get(f"{V1}/contracts"))["items"][0]["contract"] == "sample-orders"


def test_snapshot_versions_and_diff(api: Api, sample_set: SampleSet) -> None:  # noqa: F811
    _apply_sample(api, sample_set)
    path = f"{V1}/datasets/fraud-ml/orders/versions"
    version = _ok(api.client.post(path, json={"materialize": True, "reason": "pin"}), 201)
    assert version["dataset"] == "orders" and version["team"] == "fraud-ml"
    assert version["row_count"] == sample_set.rows["orders"]
    assert version["artifact"].startswith("sha256:")
    assert _actions(api, version["id"]) == ["dataset.snapshot"]
    again = _ok(api.client.post(path, json={}))
    assert again["id"] == version["id"] and again["created"] is False
    latest = _ok(api.client.get(f"{path}/latest"))
    assert latest["id"] == version["id"]
    assert _ok(api.client.get(f"{V1}/dataset-versions/{version['id']}"))["id"] == version["id"]
    diff = _ok(
        api.client.get(
            f"{V1}/dataset-versions/diff", params={"old": version["id"], "new": version["id"]}
        )
    )
    assert diff["identical"] is True and diff["row_count"] == {"old": 2000, "new": 2000}

    assert_problem(api.client.get(f"{V1}/datasets/fraud-ml/customers/versions/latest"), 404)
    assert_problem(api.client.get(f"{V1}/dataset-versions/dv_nope"), 404)
    assert_problem(
        api.client.get(f"{V1}/dataset-versions/diff", params={"old": "dv_x", "new": "dv_y"}), 404
    )
    assert_problem(api.client.post(f"{V1}/datasets/fraud-ml/nope/versions", json={}), 404)
    assert_problem(api.client.post(path, json={"materialize": "yes"}), 422, field="materialize")
    with _person(api, "vic", "viewer") as vic:
        _forbidden(vic.post(path, json={}), "dataset.snapshot")


def _tiny(api: Api) -> tuple[dict[str, Any], Path]:
    auth.create_team(api.admin, "fraud-ml")
    file = Path(tiny_contract("shop", "items"))
    roots.add_root(api.admin, "fraud-ml", file.parent)  # REST applies grant no folder
    body = {"team": "fraud-ml", "content": file.read_text(), "base_dir": str(file.parent)}
    return _ok(api.client.post(f"{V1}/contracts", json=body), 201), file


def _breaking(api: Api, file: Path, version: str) -> dict[str, Any]:
    text = file.read_text().replace("version: 1.0.0", f"version: {version}")
    body = {
        "team": "fraud-ml",
        "content": text.replace("unique: true", "unique: true, required: true"),
        "base_dir": str(file.parent),
    }
    return dict(_ok(api.client.post(f"{V1}/contracts", json=body), 201))


def test_schema_changes_approve_and_reject(api: Api) -> None:
    _, file = _tiny(api)
    pending = _breaking(api, file, "2.0.0")
    assert pending["status"] == "pending"
    changes = _ok(api.client.get(f"{V1}/schema-changes", params={"status": "pending"}))["items"]
    assert [(c["contract"], c["version"], c["breaking"]) for c in changes] == [
        ("shop", "2.0.0", True)
    ]
    assert changes[0]["changes"][0]["column"] == "id"
    assert_problem(
        api.client.get(f"{V1}/schema-changes", params={"status": "x"}), 422, field="status"
    )
    assert_problem(api.client.get(f"{V1}/schema-changes", params={"contract": "nope"}), 404)

    approve = f"{V1}/contracts/shop/versions/2.0.0/approve"
    with _person(api, "vic", "viewer") as vic:
        _forbidden(vic.post(approve, json={"reason": "ok"}), "contract.approve")
    with _person(api, "fatou", "data-steward") as fatou:
        assert_problem(fatou.post(approve, json={"reason": " "}), 422, field="reason")
        assert_problem(
            fatou.post(f"{V1}/contracts/shop/versions/9.9.9/approve", json={"reason": "ok"}), 404
        )
        decided = _ok(fatou.post(approve, json={"reason": "consumers agreed"}))
        assert decided["status"] == "approved" and decided["decided_by"] == "fatou"
        assert _actions(api, pending["id"]) == ["contract.approve", "contract.apply"]
        assert_problem(fatou.post(approve, json={"reason": "again"}), 409)

        third = _breaking(api, file, "3.0.0")
        # The breaking change of 2.0.0 is active now; 3.0.0 only restates it: not pending.
        assert third["status"] == "active"
        text = file.read_text().replace("version: 1.0.0", "version: 4.0.0")
        body = {"team": "fraud-ml", "content": text, "base_dir": str(file.parent)}
        fourth = _ok(api.client.post(f"{V1}/contracts", json=body), 201)
        assert fourth["status"] == "active"  # dropping `required` does not break
    contracts = _ok(api.client.get(f"{V1}/contracts"))["items"]
    assert [(c["contract"], c["version"]) for c in contracts] == [("shop", "4.0.0")]


def test_reject_a_pending_version(api: Api) -> None:
    _, file = _tiny(api)
    pending = _breaking(api, file, "2.0.0")
    reject = f"{V1}/contracts/shop/versions/2.0.0/reject"
    with _person(api, "vic", "viewer") as vic:
        _forbidden(vic.post(reject, json={"reason": "no"}), "contract.approve")
    with _person(api, "fatou", "data-steward") as fatou:
        decided = _ok(fatou.post(reject, json={"reason": "breaks the scorer"}))
    assert decided["status"] == "rejected" and decided["reason"] == "breaks the scorer"
    assert _actions(api, pending["id"]) == ["contract.approve", "contract.apply"]
    assert_problem(api.client.post(reject, json={}), 422, field="reason")
    [listed] = _ok(api.client.get(f"{V1}/contracts"))["items"]
    assert listed["version"] == "1.0.0"

    # A contract whose server path is absolute needs no base_dir; its checks read that path.
    text = file.read_text().replace("id: shop", "id: shop-abs").replace("name: items", "name: lots")
    (file.parent / "lots.parquet").write_bytes((file.parent / "items.parquet").read_bytes())
    absolute = text.replace("path: .}", f"path: '{file.parent}'}}")
    body = {"team": "fraud-ml", "content": absolute}
    assert _ok(api.client.post(f"{V1}/contracts", json=body), 201)["datasets"] == ["lots"]
    run = _ok(api.client.post(f"{V1}/contracts/shop-abs/check-runs", json={"server": "local"}))
    assert run["passed"] is True and {r["status"] for r in run["results"]} == {"pass"}
    assert {r["dataset"] for r in run["results"]} == {"lots"}
    assert_problem(
        api.client.post(f"{V1}/contracts/shop-abs/check-runs", json={"server": "x"}), 422
    )


def test_profile_classify_and_proposals(api: Api, sample_set: SampleSet) -> None:  # noqa: F811
    _apply_sample(api, sample_set)
    profile = _ok(api.client.get(f"{V1}/datasets/fraud-ml/customers/profile"))
    assert profile["rows"] == sample_set.rows["customers"]
    assert [c["name"] for c in profile["columns"]][:2] == ["customer_id", "email"]
    assert_problem(api.client.get(f"{V1}/datasets/fraud-ml/nope/profile"), 404)
    classify = f"{V1}/datasets/fraud-ml/orders/classification"
    _forbidden(api.client.post(classify, json={}), "data.classify")  # separation of duties

    with _person(api, "fatou", "data-steward") as fatou:
        report = _ok(fatou.post(classify, json={"reason": "catalog"}))
        assert report["dataset"] == "fraud-ml/orders"
        assert {f["column"] for f in report["fields"]} >= {"order_id", "amount_usd"}
        by_fatou = _ok(api.client.get(f"{V1}/audit", params={"actor": "fatou"}))["items"]
        assert [e["action"] for e in by_fatou] == ["data.classify"]
        proposals = _ok(
            fatou.get(f"{V1}/datasets/fraud-ml/orders/proposals", params={"status": "pending"})
        )["items"]
        assert len(proposals) == len(report["proposals"]) >= 2
        first, second = proposals[0]["id"], proposals[1]["id"]
        _forbidden(api.client.post(f"{V1}/proposals/{first}/accept", json={}), "catalog.decide")
        accepted = _ok(fatou.post(f"{V1}/proposals/{first}/accept", json={"reason": "yes"}))
        assert accepted["status"] == "accepted" and accepted["contract_version"] == "1.0.1"
        _forbidden(api.client.post(f"{V1}/proposals/{second}/reject", json={}), "catalog.decide")
        rejected = _ok(fatou.post(f"{V1}/proposals/{second}/reject", json={"reason": "no"}))
        assert rejected["status"] == "rejected"
        assert _actions(api, second) == ["catalog.decide"]
        assert_problem(fatou.post(f"{V1}/proposals/{second}/accept", json={}), 409)
        assert_problem(fatou.post(f"{V1}/proposals/prop_nope/reject", json={}), 404)
    decided = _ok(api.client.get(f"{V1}/datasets/fraud-ml/orders/proposals"))["items"]
    assert {p["id"]: p["status"] for p in decided}[first] == "accepted"
    assert_problem(
        api.client.get(f"{V1}/datasets/fraud-ml/orders/proposals", params={"status": "x"}),
        422,
        field="status",
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_contract_in_a_file_name_is_never_read_from_the_server(api: Api) -> None:
    """The REST door takes contract ids only: a name like a file is looked up, not opened."""
    assert_problem(api.client.post(f"{V1}/contracts/pyproject.toml/check-runs", json={}), 404)
    doc = assert_problem(api.client.post(f"{V1}/contracts/c.odcs.yaml/check-runs", json={}), 404)
    assert "no contract file or applied contract named 'c.odcs.yaml'" in doc["detail"]
