"""The OpenAI protocol on the gateway: chat completions (streamed or not) and embeddings,
sent to the endpoint's upstream chain under its cord, its bounds and its budgets."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import aiohttp
from starlette.types import Message, Receive, Scope, Send

from andon.core.context import Context
from andon.core.errors import AndonError
from andon.gateway import fallback, guards
from andon.gateway.guards import StreamCheck, Violation
from andon.gateway.metering import RENEW_S, StreamTally, charged_team, usage_of
from andon.gateway.metrics import label
from andon.gateway.problems import GatewayProblem, stopped
from andon.gateway.requests import is_json, json_object, only, read_body, send_json_bytes, too_large
from andon.gateway.spans import annotate
from andon.gateway.upstream import Outcome
from andon.gateway.worker import Worker
from andon.serve import budgets
from andon.serve.budgets import Reservation
from andon.serve.spec import EndpointSpec

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
        if spec.log_prompts:
            annotate(**{"gen_ai.prompt": _redacted(payload.get("messages", payload.get("input")))})
        stop = snap.stops.get(name)
        stream = payload.get("stream") is True
        if stop is not None:
            self.metrics.count("andon_gateway_stopped_total", labels)
            if spec.fallback is None or kind != "chat":
                self._done(labels, 503, started)
                raise stopped(stop)
            await fallback.send_chat(
                send,
                name,
                spec.fallback,
                stream=stream,
                why=f"stopped:{stop.scope}",
                worker=self.worker,
            )
            self._done(labels, 200, started)
            return
        status = 500
        reservation: Reservation | None = None
        closed = False
        try:
            team = charged_team(ctx, snap, spec)
            self._admit(spec, ctx, team, labels)
            async with self.gates.of(name, spec.limits):
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
                guard = self._guard(spec) if kind == "chat" else None
                if outcome.response is not None:
                    tally = StreamTally(
                        spec, payload, reservation.amount_nanos if reservation else 0
                    )
                    closed = True  # the stream settles its own charge
                    watch = None if guard is None else Watch(spec, ctx, guard.stream())
                    await self._relay_stream(send, outcome, extra, tally, reservation, watch)
                    return
                if outcome.status < 400:
                    closed = True
                    # The upstream did the work: a refused answer is charged like a served one.
                    usage = usage_of(outcome.body)
                    _annotate_usage(usage)
                    cost = budgets.cost_of(spec, usage)
                    self._spent(labels, await self.meter.settle(reservation, cost))
                    violation = None if guard is None else guard.check_answer(outcome.body)
                    if guard is not None:
                        annotate(**{"andon.guard": "pass"})  # a violation below says otherwise
                    if guard is not None and violation is not None:
                        self.metrics.count("andon_gateway_guard_violations_total", labels)
                        action = "fallback" if guard.fallback else "refuse"
                        await self._violated(spec, ctx, violation, action)
                        if not guard.fallback or spec.fallback is None:
                            raise guards.refusal(name, violation)
                        await fallback.send_chat(
                            send,
                            name,
                            spec.fallback,
                            stream=False,
                            why=f"guard:{violation.kind}",
                            worker=self.worker,
                        )
                        status = 200
                        return
                if spec.log_prompts and kind == "chat" and outcome.status < 400:
                    annotate(**{"gen_ai.completion": _redacted(_answer_text(outcome.body))})
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
        watch: Watch | None = None,
    ) -> None:
        """Pass server-sent events through as they arrive (never buffered), charging them as
        they flow: a stream the budget cannot cover any more is ended with an error event.
        Under output guards each event goes out once the answer so far passed them and what
        it holds is settled (:class:`andon.gateway.guards.StreamCheck`); the first violation
        ends the stream with an error event, the violating event never sent."""
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
        metered = reservation is not None and bool(reservation.id)
        try:
            async for chunk in response.content.iter_any():
                if not metered and watch is None:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                # Metered or guarded: forward event by event, each only once the budget holds
                # it and the guards passed it.
                for event in tally.events(chunk):
                    if metered and not await self._covered(tally, reservation):  # type: ignore[arg-type]
                        await send(
                            _error_event(
                                "the budget cannot cover more of this stream", "budget_exceeded"
                            )
                        )
                        return
                    if not await self._pass(send, event, watch):
                        return
            rest = tally.flush()
            if rest and not await self._pass(send, rest, watch):
                return
            if watch is not None and not await self._finish(send, watch):
                return
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

    async def _pass(self, send: Send, event: bytes, watch: Watch | None) -> bool:
        """Forward ``event`` (or hold it, under guards); False once a violation cut the stream."""
        if watch is None:
            await send({"type": "http.response.body", "body": event, "more_body": True})
            return True
        violation = watch.check.feed(event)
        if violation is not None:
            await self._cut(send, watch, violation)
            return False
        watch.held.append((event, watch.check.ends()))
        for ready in watch.ready():
            await send({"type": "http.response.body", "body": ready, "more_body": True})
        return True

    async def _finish(self, send: Send, watch: Watch) -> bool:
        """The stream ended: judge the whole answer, then send what was held."""
        violation = watch.check.finish()
        if violation is not None:
            await self._cut(send, watch, violation)
            return False
        for event, _ in watch.held:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        watch.held.clear()
        return True

    async def _cut(self, send: Send, watch: Watch, violation: Violation) -> None:
        watch.held.clear()
        self.metrics.count("andon_gateway_guard_violations_total", label(endpoint=watch.spec.name))
        await self._violated(watch.spec, watch.ctx, violation, "refuse")
        await send(
            {
                "type": "http.response.body",
                "body": guards.error_event(watch.spec.name, violation),
                "more_body": True,
            }
        )

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


LOGGED_CHARS = 4096


def _redacted(value: object) -> str:
    """What a span keeps of a prompt or an answer: personal data masked, at most 4 KB."""
    from andon.data.detect import redact

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return redact(text[: LOGGED_CHARS * 2])[:LOGGED_CHARS]


def _answer_text(body: bytes) -> object:
    try:
        doc = json.loads(body)
        return [c["message"]["content"] for c in doc["choices"]]
    except (ValueError, KeyError, TypeError):
        return "(an answer the gateway could not read)"


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


@dataclass
class Watch:
    """One guarded stream: its checker and the events held until their text is settled."""

    spec: EndpointSpec
    ctx: Context
    check: StreamCheck
    held: list[tuple[bytes, dict[int, int]]] = field(default_factory=list)

    def ready(self) -> list[bytes]:
        """The held events (oldest first) whose text is now settled, taken off the hold."""
        marks = self.check.marks()
        out: list[bytes] = []
        while self.held and all(end <= marks.get(i, 0) for i, end in self.held[0][1].items()):
            out.append(self.held.pop(0)[0])
        return out
