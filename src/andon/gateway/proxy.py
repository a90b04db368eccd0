"""The OpenAI protocol on the gateway: chat completions (streamed or not) and embeddings,
sent to the endpoint's upstream chain under its cord, its bounds and its budgets."""

from __future__ import annotations

import json
import logging
import time

import aiohttp
from starlette.types import Message, Receive, Scope, Send

from andon.core.errors import AndonError
from andon.gateway import fallback
from andon.gateway.metering import RENEW_S, StreamTally, charged_team, usage_of
from andon.gateway.metrics import label
from andon.gateway.problems import GatewayProblem
from andon.gateway.requests import is_json, json_object, only, read_body, send_json_bytes, too_large
from andon.gateway.spans import annotate
from andon.gateway.upstream import Outcome
from andon.gateway.worker import Worker
from andon.serve import budgets
from andon.serve.budgets import Reservation

log = logging.getLogger("andon.gateway")


class LlmProxy(Worker):
    """The LLM routes of a gateway worker."""

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, kind: str) -> None:
        started = time.perf_counter()
        only(scope, "POST")
        ctx = await self._caller(scope)
        assert self.live is not None
        if not is_json(scope):
            raise GatewayProblem(
                415,
                "unsupported-media-type",
                "unsupported media type",
                "send the request body as application/json",
            )
        snap = self.live.snapshot
        cap = max((s.limits.max_body for s in snap.endpoints.values()), default=1 << 20)
        raw = await read_body(scope, receive, cap)
        payload = json_object(raw)
        name = payload.get("model")
        if not isinstance(name, str) or not name:
            raise GatewayProblem(
                422,
                "invalid",
                "invalid input",
                "model: is required: the endpoint's name",
                field="model",
            )
        spec = snap.endpoints.get(name)
        if spec is None or spec.kind != "llm":
            raise GatewayProblem(
                404,
                "not-found",
                "not found",
                f"no LLM endpoint '{name}' on this gateway",
                field="model",
            )
        if not self._may_invoke(ctx, name, spec):
            raise GatewayProblem(
                403,
                "forbidden",
                "forbidden",
                f"{ctx.principal.name} lacks permission 'endpoint.invoke' on endpoint '{name}'",
                action="endpoint.invoke",
            )
        if len(raw) > spec.limits.max_body:
            raise too_large(spec.limits.max_body, f"endpoint '{name}'")
        labels = label(endpoint=name)
        annotate(**{"andon.endpoint": name, "andon.team": spec.team, "andon.kind": "llm"})
        stop = snap.stops.get(name)
        stream = payload.get("stream") is True
        if stop is not None:
            self.metrics.count("andon_gateway_stopped_total", labels)
            if spec.fallback is None or kind != "chat":
                raise GatewayProblem(
                    503,
                    "stopped",
                    "stopped",
                    stop.message(),
                    scope=stop.scope,
                    target=stop.target,
                    stopped_by=stop.by,
                    stopped_at=stop.at.isoformat(),
                )
            await fallback.send_chat(
                send, name, spec.fallback, stream=stream, stop=stop, worker=self.worker
            )
            self._done(labels, 200, started)
            return
        status = 500
        reservation: Reservation | None = None
        closed = False
        try:
            async with self.gates.of(name, spec.limits):
                team = charged_team(ctx, snap, spec)
                reservation = await self.meter.reserve(spec, ctx, team, payload)
                outcome = await self.upstreams.call(
                    spec,
                    "/chat/completions" if kind == "chat" else "/embeddings",
                    payload,
                    stream=stream,
                )
                if outcome.retries:
                    self.metrics.count("andon_gateway_retries_total", labels, outcome.retries)
                annotate(
                    **{
                        "andon.attempts": outcome.attempts,
                        "andon.retries": outcome.retries,
                        "server.address": outcome.upstream,
                    }
                )
                status = outcome.status
                extra = {
                    "x-andon-endpoint": name,
                    "x-andon-worker": self.worker,
                    "x-andon-attempts": str(outcome.attempts),
                }
                if outcome.response is not None:
                    tally = StreamTally(
                        spec, payload, reservation.amount_nanos if reservation else 0
                    )
                    closed = True  # the stream settles its own charge
                    await self._relay_stream(send, outcome, extra, tally, reservation)
                    return
                if outcome.status < 400:
                    closed = True
                    usage = usage_of(outcome.body)
                    _annotate_usage(usage)
                    cost = budgets.cost_of(spec, usage)
                    self._spent(labels, await self.meter.settle(reservation, cost))
                await send_json_bytes(
                    send, outcome.status, outcome.body, {**outcome.headers, **extra}
                )
        except GatewayProblem as problem:
            status = problem.status
            if problem.slug == "overloaded":
                self.metrics.count("andon_gateway_shed_total", labels)
            raise
        except AndonError as exc:
            status = exc.http_status
            raise
        finally:
            if not closed:
                # Nothing was served (refused, failed, or a 4xx from upstream): nothing charged.
                await self.meter.release(reservation)
            self._done(labels, status, started)

    async def _relay_stream(
        self,
        send: Send,
        outcome: Outcome,
        extra: dict[str, str],
        tally: StreamTally,
        reservation: Reservation | None,
    ) -> None:
        """Pass server-sent events through as they arrive (never buffered), charging them as
        they flow: a stream the budget cannot cover any more is ended with an error event."""
        response = outcome.response
        assert response is not None
        headers = {
            "content-type": "text/event-stream",
            **outcome.headers,
            **extra,
            "cache-control": "no-cache",
        }
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        try:
            async for chunk in response.content.iter_any():
                if reservation is None or not reservation.id:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                # Metered: forward event by event, each only once the budget holds it.
                for event in tally.events(chunk):
                    if not await self._covered(tally, reservation):
                        await send(
                            _error_event(
                                "the budget cannot cover more of this stream", "budget_exceeded"
                            )
                        )
                        return
                    await send({"type": "http.response.body", "body": event, "more_body": True})
            if reservation is not None and reservation.id:
                rest = tally.flush()
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            # The status line is sent: the only honest thing left is to end the stream with an
            # error event the client can read, then close it.
            log.warning(
                "upstream stream of %s broke: %s", extra["x-andon-endpoint"], type(exc).__name__
            )
            await send(_error_event("the upstream stream broke off", "bad_upstream"))
        finally:
            response.release()
            _annotate_usage(tally.usage)
            if reservation is not None:
                self._spent(labels_of(extra), await self.meter.settle(reservation, tally.used()))
            # The charge is settled before the stream ends: a read after it sees the spend.
            await send({"type": "http.response.body", "body": b""})

    async def _covered(self, tally: StreamTally, reservation: Reservation) -> bool:
        """Whether what the stream used so far is held, holding more (doubling) if needed."""
        used = tally.used()
        if used > tally.held:
            step = max(used - tally.held, tally.held, 1)
            if not await self.meter.extend(reservation, step):
                return False
            tally.held += step
            tally.renewed = time.monotonic()
        elif time.monotonic() - tally.renewed > RENEW_S:
            await self.meter.extend(reservation, 0)
            tally.renewed = time.monotonic()
        return True


def _annotate_usage(usage: dict[str, object] | None) -> None:
    if usage:
        annotate(
            **{
                "gen_ai.usage.input_tokens": usage.get("prompt_tokens"),
                "gen_ai.usage.output_tokens": usage.get("completion_tokens"),
            }
        )


def labels_of(extra: dict[str, str]) -> str:
    """The metric labels of the endpoint a response came from."""
    return label(endpoint=extra["x-andon-endpoint"])


def _error_event(message: str, kind: str) -> Message:
    event = {"error": {"message": message, "type": kind}}
    data = f"data: {json.dumps(event)}\n\n".encode()
    return {"type": "http.response.body", "body": data, "more_body": True}
