"""Per-team telemetry budgets: metered at intake, announced once, an action at the cap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import BudgetExceeded, Forbidden, Invalid
from andon.events import service as events
from andon.telemetry import budgets, spool
from andon.telemetry import service as telemetry
from andon.telemetry.pipeline import Pipeline
from andon.telemetry.receiver import ARROW, Receiver
from andon.telemetry.sampling import DEFAULT_DOCUMENT
from andon.telemetry.schema import LOGS
from tests.conftest import as_principal
from tests.server import serving
from tests.telemetry.rows import spans


@pytest.fixture
def shop(admin: Context) -> Context:
    auth.create_team(admin, "shop", owners=["admin"])
    return admin


def batch(n: int = 50) -> pa.Table:
    return spans([{"trace": i, "span": i, "status": "error"} for i in range(n)], team="shop")


def logs(severities: list[int]) -> pa.Table:
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = {f.name: [] for f in LOGS}  # type: ignore[var-annotated]
    for i, severity in enumerate(severities):
        values = {"team": "shop", "service_name": "shop", "time": now, "time_unix_nano": i,
                  "observed_unix_nano": i, "severity_number": severity, "severity_text": "",
                  "body": f"line {i}", "trace_id": "", "span_id": "", "event_name": "",
                  "attributes": "{}", "resource": "{}", "scope_name": "t", "day": now.date()}  # fmt: skip
        for key, value in values.items():
            rows[key].append(value)
    return pa.table(rows, schema=LOGS)


def one_batch_bytes(ctx: Context) -> int:
    done = telemetry.ingest(ctx, "shop", "spans", batch())
    size = next(f.path.stat().st_size for f in spool.waiting(Path(ctx.settings.home))
                if f.name == done.batch)  # fmt: skip
    return size


def announced(ctx: Context) -> list[str]:
    return [e.type for e in events.list_events(ctx, limit=1000)
            if e.type.startswith("telemetry.budget.")]  # fmt: skip


def test_warning_and_cap_are_announced_once_a_day_then_refused(shop: Context) -> None:
    size = one_batch_bytes(shop)  # metered with no budget: counted, nothing announced
    telemetry.set_budget(shop, "shop", {"bytes_per_day": size * 4, "action": "refuse"},
                         reason="a small team")  # fmt: skip
    assert telemetry.budget_status(shop, "shop")["bytes"] == size
    telemetry.ingest(shop, "shop", "spans", batch())
    telemetry.ingest(shop, "shop", "spans", batch())
    assert announced(shop) == []  # 3 of 4 batches: 75 %, under 80 %
    telemetry.ingest(shop, "shop", "spans", batch())  # 100 %: taken, warned and exceeded
    assert announced(shop) == ["telemetry.budget.warning", "telemetry.budget.exceeded"]
    with pytest.raises(BudgetExceeded) as refused:
        telemetry.ingest(shop, "shop", "spans", batch())
    assert refused.value.http_status == 429 and refused.value.details["retry_after"] >= 1
    assert announced(shop) == ["telemetry.budget.warning", "telemetry.budget.exceeded"]
    status = telemetry.budget_status(shop, "shop")
    assert status["exceeded"] and status["percent"] == 100.0
    shop.clock.advance(days=1)  # type: ignore[attr-defined]
    telemetry.ingest(shop, "shop", "spans", batch())  # a new UTC day, a new budget
    assert telemetry.budget_status(shop, "shop")["bytes"] == size


def test_the_receiver_answers_429_with_retry_after(shop: Context) -> None:
    telemetry.set_budget(shop, "shop", {"bytes_per_day": 1, "action": "refuse"}, reason="x")
    _, token = auth.create_token(shop, "admin")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch().schema) as writer:
        writer.write_table(batch())
    headers = {"authorization": f"Bearer {token}", "content-type": ARROW, "x-andon-team": "shop"}
    with serving(Receiver(shop.db, shop.settings).app) as base:  # the receiver's clock: real time
        url, body = f"{base}/v1/andon/spans", sink.getvalue().to_pybytes()
        assert httpx.post(url, content=body, headers=headers).status_code == 200  # crosses
        answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 1
    assert "budget" in answer.json()["message"]


def test_drop_debug_logs_keeps_info_and_above_once_over(shop: Context) -> None:
    telemetry.set_budget(shop, "shop", {"bytes_per_day": 1, "action": "drop_debug_logs"},
                         reason="x")  # fmt: skip
    first = telemetry.ingest(shop, "shop", "logs", logs([5, 13]))
    assert first.rows == 2  # the batch that crosses the cap is taken whole
    after = telemetry.ingest(shop, "shop", "logs", logs([1, 5, 8, 9, 13, 17]))
    assert after.rows == 3  # INFO, WARN, ERROR; TRACE and DEBUG dropped
    assert telemetry.ingest(shop, "shop", "spans", batch()).rows == 50  # spans are not logs


def test_sample_harder_divides_healthy_shares_and_keeps_errors(shop: Context) -> None:
    telemetry.set_budget(shop, "shop", {"bytes_per_day": 1, "action": "sample_harder"},
                         reason="x")  # fmt: skip
    pipeline = Pipeline(
        shop.db, shop.settings, clock=lambda: int(shop.clock.now().timestamp() * 1e9)
    )
    pipeline.refresh()
    assert pipeline.policy_of("shop").document == DEFAULT_DOCUMENT  # under budget yet
    telemetry.ingest(shop, "shop", "spans", batch())
    pipeline.refresh()
    harder = pipeline.policy_of("shop").document
    assert harder == budgets.harder(DEFAULT_DOCUMENT)
    names = [p["name"] for p in harder["policies"]]
    assert names == [p["name"] for p in DEFAULT_DOCUMENT["policies"]]
    shares = [p["probabilistic"]["sampling_percentage"] for p in harder["policies"]
              if p["type"] == "probabilistic"]  # fmt: skip
    assert shares == [1.0]
    pipeline.run_once()  # error traces are still kept
    kept = telemetry.query(shop, "SELECT count(*) AS n FROM spans").table.column("n")[0].as_py()
    assert kept == 50


def test_harder_reaches_into_and_and_composite_policies() -> None:
    doc = {"policies": [
        {"name": "c", "type": "composite", "composite": {"composite_sub_policy": [
            {"name": "p", "type": "probabilistic", "probabilistic": {"sampling_percentage": 50}},
            {"name": "e", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}]}},
        {"name": "a", "type": "and", "and": {"and_sub_policy": [
            {"name": "q", "type": "probabilistic", "probabilistic": {"sampling_percentage": 20}}]}},
    ]}  # fmt: skip
    out = budgets.harder(doc)
    subs = out["policies"][0]["composite"]["composite_sub_policy"]
    assert subs[0]["probabilistic"]["sampling_percentage"] == 5
    assert subs[1] == doc["policies"][0]["composite"]["composite_sub_policy"][1]
    assert out["policies"][1]["and"]["and_sub_policy"][0]["probabilistic"] == {
        "sampling_percentage": 2
    }
    assert doc["policies"][0]["composite"]["composite_sub_policy"][0]["probabilistic"] == {
        "sampling_percentage": 50
    }  # the team's own document is untouched


@pytest.mark.parametrize(
    ("budget", "field"),
    [
        ({"bytes_per_day": 0}, "budget.bytes_per_day"),
        ({"bytes_per_day": "1GB"}, "budget.bytes_per_day"),
        ({"bytes_per_day": 10, "warn_at": 1.5}, "budget.warn_at"),
        ({"bytes_per_day": 10, "action": "panic"}, "budget.action"),
        ({"bytes_per_day": 10, "cap": 3}, "budget.cap"),
    ],
)
def test_a_bad_budget_names_its_field(shop: Context, budget: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        telemetry.set_budget(shop, "shop", budget, reason="x")
    assert refused.value.field == field
    assert telemetry.budget_status(shop, "shop")["budget"] is None


def test_setting_a_budget_is_permission_checked_and_audited(shop: Context) -> None:
    auth.create_principal(shop, "vera")
    auth.bind_role(shop, "vera", "viewer", scope="team", target="shop")
    with pytest.raises(Forbidden):
        telemetry.set_budget(as_principal(shop, "vera"), "shop", {"bytes_per_day": 10})
    done = telemetry.set_budget(shop, "shop", {"bytes_per_day": 10}, reason="pilot")
    assert done.budget == {"bytes_per_day": 10, "warn_at": 0.8, "action": "refuse"}
    assert "telemetry.budget_changed" in [e.type for e in events.list_events(shop, limit=1000)]
    assert telemetry.set_budget(shop, "shop", None, reason="done").budget is None
    assert budgets.resets_at(date(2026, 12, 31)).isoformat() == "2027-01-01T00:00:00+00:00"


def test_two_receivers_opening_the_same_day_do_not_fail(shop: Context) -> None:
    from andon.auth.queries import team_by_name
    from andon.store.inserts import insert_or_ignore
    from andon.store.tables import telemetry as tt

    day = shop.clock.now().date()
    with shop.db.transaction() as session:
        team_id = team_by_name(session, "shop").id
        for _ in range(2):  # what the loser of the race does: nothing, not an IntegrityError
            insert_or_ignore(session, tt.TelemetryUsage, {"team_id": team_id, "day": day,
                             "bytes": 5, "warned": False, "exceeded": False})  # fmt: skip
    telemetry.ingest(shop, "shop", "spans", batch())
    assert telemetry.budget_status(shop, "shop")["bytes"] > 5
