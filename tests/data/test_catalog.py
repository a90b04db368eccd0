"""The catalog services and CLI on SQLite and PostgreSQL, and the LLM enricher over real HTTP."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from andon.data import approvals, catalog
from andon.data import service as data
from andon.data.contracts import parse_contract
from andon.data.enrich import LLMEnricher
from andon.data.sample import SampleSet
from andon.store import outbox
from andon.store.tables import audit as t
from andon.store.tables import catalog as c
from andon.store.tables import data as d
from tests.cli.conftest import Run
from tests.conftest import as_principal


def _count(ctx: Context, table: Any) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def steward(admin: Context, sample_set: SampleSet, tmp_path: Path) -> Context:
    """fatou, data-steward of fraud-ml, whose sample contract is applied."""
    auth.create_team(admin, "fraud-ml")
    folder = tmp_path / "sample"
    shutil.copytree(sample_set.folder, folder)
    data.apply_contract(admin, folder / "orders.odcs.yaml", "fraud-ml")
    auth.create_principal(admin, "fatou")
    auth.bind_role(admin, "fatou", "data-steward", scope="team", target="fraud-ml")
    return as_principal(admin, "fatou")


def _by(
    proposals: list[catalog.ProposalRecord], kind: str, column: str | None
) -> catalog.ProposalRecord:
    return next(p for p in proposals if p.kind == kind and p.column == column)


def test_classify_stores_tags_and_proposals_audited(admin: Context, steward: Context) -> None:
    audit_before = _count(admin, t.AuditEntry)
    report = catalog.classify_dataset(steward, "fraud-ml/orders", reason="first pass")
    assert report.queries == 1 and report.sampled == 1000 and report.rows == 2000
    fields = {f.column: f for f in report.fields}
    assert fields["customer_email"].category == "pii"
    assert fields["customer_email"].tags[0].evidence["validator"] == "email"
    assert fields["amount_usd"].category == "financial"
    assert fields["order_id"].category == "operational"
    assert _count(admin, t.AuditEntry) == audit_before + 1
    assert _count(admin, c.FieldClassification) == 11
    with admin.db.read() as session:
        [event] = outbox.list_events(session, type_="dataset.classified")
    assert event.payload["fields"]["customer_email"] == "pii"
    kinds = {(p.kind, p.column) for p in report.proposals}
    assert ("classification", "amount_usd") in kinds  # financial, not yet in the contract
    assert ("classification", "customer_email") not in kinds  # the contract says pii already
    assert ("allowed_values", "shipping_country") in kinds
    assert ("allowed_values", "status") not in kinds  # it has validValues already
    assert ("owner", None) in kinds
    assert ("freshness", "order_ts") not in kinds  # orders has an SLA
    assert ("description", "quantity") in kinds
    allowed = _by(report.proposals, "allowed_values", "shipping_country")
    assert allowed.value == {"validValues": ["DE", "FR", "GB", "JP", "US"]}
    assert all(p.status == "pending" and p.proposed_by == "fatou" for p in report.proposals)
    # Classifying again changes nothing that is already pending.
    again = catalog.classify_dataset(steward, "fraud-ml/orders")
    assert again.proposals == []
    assert _count(admin, c.CatalogProposal) == len(report.proposals)
    assert _count(admin, c.FieldClassification) == 11  # replaced, not added


def test_freshness_proposal_from_the_newest_timestamp(admin: Context, steward: Context) -> None:
    # customers has no timestamp; invoices has an SLA; drop it to see a proposal.
    report = catalog.classify_dataset(steward, "fraud-ml/customers")
    assert not [p for p in report.proposals if p.kind == "freshness"]
    assert _by(report.proposals, "allowed_values", "segment").value == {
        "validValues": ["business", "consumer"]
    }


def test_accept_writes_a_new_contract_version_in_the_same_transaction(
    admin: Context, steward: Context
) -> None:
    auth.create_principal(admin, "gus")
    auth.bind_role(admin, "gus", "data-steward", scope="team", target="fraud-ml")
    second_steward = as_principal(admin, "gus")
    report = catalog.classify_dataset(steward, "fraud-ml/orders")
    versions_before = _count(admin, d.DataContractVersion)
    audit_before = _count(admin, t.AuditEntry)
    done = []
    for kind, column in (
        ("classification", "amount_usd"),
        ("allowed_values", "shipping_country"),
        ("owner", None),
        ("description", "quantity"),
    ):
        p = _by(report.proposals, kind, column)
        done.append(catalog.accept_proposal(steward, p.id, reason="looks right"))
        if kind == "allowed_values":
            # Allowed values where there were none restrict the column: a breaking change,
            # pending like any applied one until another data-steward approves it.
            assert done[-1].contract_version_status == "pending"
            with pytest.raises(Conflict, match=r"1\.0\.2 has a breaking change pending"):
                catalog.accept_proposal(steward, _by(report.proposals, "owner", None).id)
            with admin.db.read() as session:
                [event] = outbox.list_events(session, type_="schema.breaking")
            assert event.payload["version"] == "1.0.2"
            assert event.payload["breaking"][0]["kind"] == "allowed_value_removed"
            with pytest.raises(Forbidden, match="four eyes"):
                approvals.approve_version(steward, "sample-orders@1.0.2", reason="mine")
            approvals.approve_version(second_steward, "sample-orders@1.0.2", reason="agreed")
        else:
            assert done[-1].contract_version_status == "active"
    assert [r.contract_version for r in done] == ["1.0.1", "1.0.2", "1.0.3", "1.0.4"]
    assert all(r.status == "accepted" and r.decided_by == "fatou" for r in done)
    assert _count(admin, d.DataContractVersion) == versions_before + 4
    assert _count(admin, t.AuditEntry) == audit_before + 5  # four decisions, one approval
    [latest] = data.list_contracts(admin)
    assert latest.version == "1.0.4" and latest.applied_by == "fatou"
    with admin.db.read() as session:
        row = session.scalar(
            select(d.DataContractVersion).where(d.DataContractVersion.version == "1.0.4")
        )
        assert row is not None
        text = row.content
    doc = yaml.safe_load(text)
    orders = next(o for o in doc["schema"] if o["name"] == "orders")
    props = {p["name"]: p for p in orders["properties"]}
    assert props["amount_usd"]["classification"] == "internal"
    assert props["amount_usd"]["tags"] == ["financial.amount"]
    assert props["quantity"]["description"].startswith("Quantity")
    rule = props["shipping_country"]["quality"][-1]
    assert rule["metric"] == "invalidValues" and rule["severity"] == "warning"
    assert rule["arguments"]["validValues"] == ["DE", "FR", "GB", "JP", "US"]
    assert {"property": "owner", "value": "fraud-ml"} in doc["customProperties"]
    parse_contract(text)  # still a valid contract
    # The checks now run the new version, including the accepted allowed-values rule.
    run = data.run_checks(admin, "sample-orders")
    assert run.contract_version == "1.0.4"
    assert any(r["check"] == "orders.shipping_country.allowed" for r in run.results)
    # Decided is decided.
    with pytest.raises(Conflict, match="already accepted by fatou"):
        catalog.reject_proposal(steward, done[0].id)
    listed = catalog.list_proposals(admin, "fraud-ml/orders", status="accepted")
    assert {p.contract_version for p in listed} == {"1.0.1", "1.0.2", "1.0.3", "1.0.4"}


def test_reject_is_audited_and_not_proposed_again(admin: Context, steward: Context) -> None:
    report = catalog.classify_dataset(steward, "fraud-ml/orders")
    p = _by(report.proposals, "owner", None)
    versions_before = _count(admin, d.DataContractVersion)
    rejected = catalog.reject_proposal(steward, p.id, reason="owned by the platform team")
    assert (rejected.status, rejected.reason) == ("rejected", "owned by the platform team")
    assert _count(admin, d.DataContractVersion) == versions_before
    again = catalog.classify_dataset(steward, "fraud-ml/orders")
    assert not [x for x in again.proposals if x.kind == "owner"]
    assert [x.id for x in catalog.list_proposals(admin, "fraud-ml/orders", status="rejected")] == [
        p.id
    ]


def test_separation_of_duties_and_bad_input(admin: Context, steward: Context) -> None:
    # platform-admin neither classifies nor decides.
    with pytest.raises(Forbidden, match=r"data\.classify"):
        catalog.classify_dataset(admin, "fraud-ml/orders")
    report = catalog.classify_dataset(steward, "fraud-ml/orders")
    before = _count(admin, t.AuditEntry)
    with pytest.raises(Forbidden, match=r"catalog\.decide"):
        catalog.accept_proposal(admin, report.proposals[0].id)
    assert _count(admin, t.AuditEntry) == before
    with pytest.raises(NotFound, match="no proposal 'prop_nope'"):
        catalog.accept_proposal(steward, "prop_nope")
    with pytest.raises(Invalid, match="'maybe' is not one of pending"):
        catalog.list_proposals(admin, "fraud-ml/orders", status="maybe")
    with pytest.raises(NotFound, match="no dataset"):
        catalog.classify_dataset(steward, "fraud-ml/nope")


# --------------------------------------------------------------------------- the LLM enricher


class _Provider(BaseHTTPRequestHandler):
    """A loopback OpenAI-compatible chat-completions endpoint."""

    answer: Any = None
    status = 200
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        raw = self.answer if isinstance(self.answer, bytes) else json.dumps(self.answer).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def provider() -> Iterator[tuple[str, type[_Provider]]]:
    handler = type("Handler", (_Provider,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    finally:
        server.shutdown()
        server.server_close()


def _completion(content: str) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}  # fmt: skip


def test_llm_enricher_writes_descriptions_over_real_http(
    admin: Context, steward: Context, provider: tuple[str, type[_Provider]]
) -> None:
    url, handler = provider
    handler.answer = _completion(
        '```json\n{"descriptions": {"quantity": "Units ordered.", "status": "Order state."}}\n```'
    )
    enricher = LLMEnricher.from_env(
        url, "tiny-model", environ={"ANDON_LLM_API_KEY": "sk-secret-123"}, timeout=5
    )
    assert "sk-secret" not in repr(enricher)
    report = catalog.classify_dataset(steward, "fraud-ml/orders", enricher=enricher)
    assert _by(report.proposals, "description", "quantity").value == {
        "description": "Units ordered."
    }
    assert _by(report.proposals, "description", "quantity").enricher == "llm:tiny-model"
    assert _by(report.proposals, "description", "order_id").value["description"].startswith("Order")
    [call] = handler.seen
    assert call["path"] == "/v1/chat/completions" and call["auth"] == "Bearer sk-secret-123"
    assert call["body"]["model"] == "tiny-model"
    prompt = call["body"]["messages"][1]["content"]
    assert "customer_email" in prompt and "@example.com" not in prompt  # no sampled PII sent


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("status", "answer", "message"),
    [
        (200, b"not json", "not an OpenAI chat completion"),
        (200, {"choices": []}, "not an OpenAI chat completion"),
        (200, _completion("Sure! Here are some descriptions."), "not an OpenAI chat completion"),
        (500, {"error": "boom"}, "answered HTTP 500"),
    ],
)
def test_llm_enricher_garbage_is_unavailable_and_stores_nothing(
    admin: Context,
    steward: Context,
    provider: tuple[str, type[_Provider]],
    status: int,
    answer: Any,
    message: str,
) -> None:
    url, handler = provider
    handler.status, handler.answer = status, answer
    enricher = LLMEnricher(url, "m", api_key="sk-secret-123", timeout=5)
    before = _count(admin, t.AuditEntry)
    with pytest.raises(Unavailable, match=message) as info:
        catalog.classify_dataset(steward, "fraud-ml/orders", enricher=enricher)
    assert "sk-secret" not in str(info.value)
    assert _count(admin, t.AuditEntry) == before
    assert _count(admin, c.CatalogProposal) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_llm_enricher_down_or_slow(steward: Context) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = LLMEnricher(f"http://127.0.0.1:{port}", "m", timeout=2)
    with pytest.raises(Unavailable, match="cannot be reached"):
        catalog.classify_dataset(steward, "fraud-ml/orders", enricher=down)
    with socket.socket() as silent:  # accepts, never answers: the timeout fires
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        slow = LLMEnricher(f"http://127.0.0.1:{silent.getsockname()[1]}", "m", timeout=0.5)
        with pytest.raises(Unavailable, match="cannot be reached"):
            catalog.classify_dataset(steward, "fraud-ml/orders", enricher=slow)
    with pytest.raises(Invalid, match="must be an http"):
        LLMEnricher("ftp://x", "m")


# --------------------------------------------------------------------------- the CLI


def test_cli_profile_classify_decide(run: Run, sample_set: SampleSet, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    shutil.copytree(sample_set.folder, folder)
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    assert (
        run("contract", "apply", str(folder / "orders.odcs.yaml"), "--team", "fraud-ml").returncode
        == 0
    )
    profiled = run("data", "profile", "fraud-ml/orders", "--format", "json")
    assert profiled.returncode == 0, profiled.stderr
    doc = json.loads(profiled.stdout)
    assert doc["queries"] == 1 and doc["rows"] == 2000
    email = next(col for col in doc["columns"] if col["name"] == "customer_email")
    assert email["pii"] and "@example.com" not in profiled.stdout
    fatou = {"ANDON_PRINCIPAL": "fatou"}
    classified = run("catalog", "classify", "fraud-ml/orders", "-f", "json", env=fatou)
    assert classified.returncode == 0, classified.stderr
    doc = json.loads(classified.stdout)
    email = next(f for f in doc["fields"] if f["column"] == "customer_email")
    assert email["category"] == "pii" and email["tags"][0]["tag"] == "pii.email"
    owner = next(p for p in doc["proposals"] if p["kind"] == "owner")
    accepted = run("catalog", "accept", owner["id"], "--reason", "yes", env=fatou)
    assert accepted.returncode == 0 and "contract version 1.0.1" in accepted.stdout
    denied = run("catalog", "reject", owner["id"])  # admin: separation of duties
    assert denied.returncode == 3 and "catalog.decide" in denied.stderr
    bad = run("catalog", "classify", "fraud-ml/orders", "--enricher", "llm", env=fatou)
    assert bad.returncode == 2 and "--llm-url" in bad.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_freshness_proposal_and_acceptance(admin: Context, tmp_path: Path) -> None:
    import duckdb

    duckdb.connect().execute(
        "COPY (SELECT range AS id, TIMESTAMP '2026-11-23 05:00:00' - to_hours(range) AS happened_at"
        f" FROM range(30)) TO '{tmp_path / 'events.parquet'}'"
    )
    path = tmp_path / "events.odcs.yaml"
    path.write_text(
        "apiVersion: v3.0.2\nkind: DataContract\nid: events\nversion: 2.1.0\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: events, properties: [{name: id, logicalType: integer}, "
        "{name: happened_at, logicalType: timestamp}]}]\n"
    )
    auth.create_team(admin, "ops")
    data.apply_contract(admin, path, "ops")
    auth.create_principal(admin, "sam")
    auth.bind_role(admin, "sam", "data-steward", scope="team", target="ops")
    sam = as_principal(admin, "sam")
    report = catalog.classify_dataset(sam, "ops/events")
    fresh = _by(report.proposals, "freshness", "happened_at")
    # Newest value 3 h before the clock (08:00): 4.5 h with headroom, rounded up to 5 h.
    assert fresh.value == {"element": "events.happened_at", "value": 5, "unit": "h",
                           "observed_lag_seconds": 10800.0}  # fmt: skip
    accepted = catalog.accept_proposal(sam, fresh.id)
    assert accepted.contract_version == "2.1.1"
    run = data.run_checks(admin, "events")
    [sla] = [r for r in run.results if r["kind"] == "latency"]
    assert sla["status"] == "pass" and sla["threshold"]["mustBeLessOrEqualTo"] == 5 * 3600
