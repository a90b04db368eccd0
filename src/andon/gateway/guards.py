"""Output guards: what an endpoint's answer must not hold, checked before any of it is sent.

A :class:`Guard` is built once per snapshot from the endpoint's ``guards:`` (deny patterns
compiled, the JSON Schema's validator made). :meth:`Guard.check` looks at a whole answer:
``max_chars``, then ``deny``, then ``pii``, then ``json_schema``; the first broken one is the
:class:`Violation`, whose evidence is masked (``card_number: 4111********1111``) and never
the raw value. A model endpoint's guard checks the prediction body's size and deny patterns
only (:meth:`Guard.check_body`).

A stream is checked as it flows (:class:`StreamCheck`): each event's text joins the answer,
the answer is checked, and the event is forwarded only once what it holds is *settled*: no
value a detector looks for can still be completing at its end (a card number arriving word
by word is held until the word after it). The first violation cuts the stream, so the
violating event, and the held text of the value it completes, never leave the gateway. A
``json_schema`` guard can only judge the whole answer: its stream is held to the end.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from andon.data.detect import DETECTORS, find, mask
from andon.gateway.problems import GatewayProblem
from andon.serve.spec import Guards

TAIL = 256
"""At most this many characters of a stream are held back waiting for a value to end."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken guard: which, by which detector, and masked evidence."""

    kind: str
    """``pii``, ``deny``, ``json_schema`` or ``max_chars``."""
    detector: str
    """The detector (``card_number``), pattern (``deny[1]``) or schema keyword."""
    evidence: str
    """Masked: enough to see what was caught, never the value itself."""

    def line(self) -> str:
        """``detector: evidence``."""
        return f"{self.detector}: {self.evidence}"


class Guard:
    """One endpoint's guards, ready to check answers."""

    def __init__(self, guards: Guards) -> None:
        self.guards = guards
        self.deny = [re.compile(p) for p in guards.deny]
        self.pii = guards.pii
        self.validator: Any = None
        if guards.json_schema is not None:
            import jsonschema_rs

            self.validator = jsonschema_rs.validator_for(guards.json_schema)

    @property
    def fallback(self) -> bool:
        """Whether a violation answers the endpoint's fallback (else a 422 problem)."""
        return self.guards.on_violation == "fallback"

    @property
    def whole(self) -> bool:
        """Whether only the whole answer can be judged (a JSON Schema): streams are held."""
        return self.validator is not None

    def check(self, text: str) -> Violation | None:
        """The first guard ``text`` (a whole answer) breaks, or None."""
        return (
            self._size(text) or self._denied(text) or self._personal(text, 0) or self._schema(text)
        )

    def check_answer(self, body: bytes) -> Violation | None:
        """The first guard a chat completion's answer (each choice's message) breaks."""
        try:
            data = json.loads(body)
        except ValueError:
            return None  # not a completion: the upstream's error, passed on as it is
        for choice in (data.get("choices") or ()) if isinstance(data, dict) else ():
            message = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                found = self.check(content)
                if found is not None:
                    return found
            elif self.validator is not None:
                return Violation("json_schema", "json", "no text content")
        return None

    def check_body(self, text: str) -> Violation | None:
        """A model endpoint's prediction body (JSON text): size and deny patterns only."""
        return self._size(text) or self._denied(text)

    def stream(self) -> StreamCheck:
        """A checker for one streamed answer."""
        return StreamCheck(self)

    def _size(self, text: str) -> Violation | None:
        cap = self.guards.max_chars
        if cap is not None and len(text) > cap:
            return Violation("max_chars", "max_chars", f"{len(text)} characters, at most {cap}")
        return None

    def _denied(self, text: str) -> Violation | None:
        for i, pattern in enumerate(self.deny):
            found = pattern.search(text)
            if found is not None:
                return Violation("deny", f"deny[{i}]", mask(found.group(0), (2, 2)))
        return None

    def _personal(self, text: str, start: int) -> Violation | None:
        found = find(text, self.pii, start=start)
        if found is None:
            return None
        return Violation("pii", found.detector, found.masked)

    def _schema(self, text: str) -> Violation | None:
        if self.validator is None:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            where = getattr(exc, "pos", None)
            return Violation("json_schema", "json", f"not JSON (at character {where})")
        for error in self.validator.iter_errors(value):
            # The instance path and the schema keyword say what is wrong; the message would
            # quote the answer's value, so it is left out.
            keyword = str(list(error.schema_path)[-1]) if list(error.schema_path) else "schema"
            path = "/" + "/".join(str(p) for p in error.instance_path)
            return Violation("json_schema", keyword, f"at {path}: {keyword}")
        return None


@dataclass
class StreamCheck:
    """One streamed answer's text so far (per choice), checked as it grows."""

    guard: Guard
    texts: dict[int, str] = field(default_factory=dict)
    checked: dict[int, int] = field(default_factory=dict)

    def feed(self, event: bytes) -> Violation | None:
        """Add one server-sent event's text; the first guard the answer now breaks, or None.
        (A JSON Schema is checked by :meth:`finish`.)"""
        for index, piece in _pieces(event):
            text = self.texts.get(index, "") + piece
            self.texts[index] = text
            start = self.checked.get(index, 0)
            found = (
                self.guard._size(text)
                or self.guard._denied(text)
                or self.guard._personal(text, start)
            )
            if found is not None:
                return found
            # Re-read from the start of what is not settled: a value there may still grow.
            self.checked[index] = settled(text)
        return None

    def finish(self) -> Violation | None:
        """The whole answer's check once the stream ended (the JSON Schema, if any)."""
        for text in self.texts.values():
            found = self.guard._schema(text)
            if found is not None:
                return found
        return None

    def ends(self) -> dict[int, int]:
        """How much text each choice has so far (where the last event fed ends)."""
        return {index: len(text) for index, text in self.texts.items()}

    def marks(self) -> dict[int, int]:
        """Per choice, how much of its text is settled: no value can still be completing
        before it, so an event ending there may be forwarded (nothing, under a JSON Schema,
        until :meth:`finish`)."""
        if self.guard.whole:
            return {}
        return {index: settled(text) for index, text in self.texts.items()}


_WORD = re.compile(r"\S+")


def _could_continue(word: str) -> bool:
    """Whether ``word`` may be part of a value a detector finds (digits, an address, ...)."""
    return (
        any(ch.isdigit() for ch in word)
        or "@" in word
        or word[:1] in "+("
        or (len(word) <= 2 and word.isupper())
    )


def settled(text: str) -> int:
    """The offset before which more text cannot complete a value: the start of the trailing
    run of words that could be part of one (the last word always, unless whitespace ended it),
    held back at most :data:`TAIL` characters."""
    floor = max(0, len(text) - TAIL)
    words = list(_WORD.finditer(text, floor))
    at = len(text)
    for n, word in enumerate(reversed(words)):
        last_open = n == 0 and word.end() == len(text)
        if not (last_open or _could_continue(word.group(0))):
            break
        at = word.start()
    return max(at, floor)


def _pieces(event: bytes) -> list[tuple[int, str]]:
    """``(choice index, content)`` of each delta in one server-sent event."""
    out: list[tuple[int, str]] = []
    for line in event.split(b"\n"):
        if not line.startswith(b"data:") or line.strip() == b"data: [DONE]":
            continue
        try:
            data = json.loads(line[5:])
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            index = choice.get("index", 0)
            if isinstance(content, str) and content:
                out.append((index if isinstance(index, int) else 0, content))
    return out


def detectors() -> tuple[str, ...]:
    """Every detector name a guard's ``pii`` may list."""
    return tuple(DETECTORS)


def refusal(endpoint: str, violation: Violation) -> GatewayProblem:
    """The 422 problem of a refused answer: it names the guard, never the content."""
    return GatewayProblem(
        422,
        "output-guard",
        "output guard",
        f"the answer of endpoint '{endpoint}' broke its {violation.kind} guard "
        f"({violation.detector}) and was not sent",
        guard=violation.kind,
        detector=violation.detector,
    )


def error_event(endpoint: str, violation: Violation) -> bytes:
    """The server-sent event that cuts a stream at a violation."""
    error = {
        "error": {
            "message": f"the answer of endpoint '{endpoint}' broke its {violation.kind} guard "
            f"({violation.detector}); the stream was cut",
            "type": "output_guard",
            "code": violation.kind,
        }
    }
    return f"data: {json.dumps(error)}\n\n".encode()
