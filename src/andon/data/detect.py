"""Personal data in free text (an LLM's answer), with the classifier's own formats.

The classifier (:mod:`andon.data.classify`) tests whole values against
:data:`andon.data.validators.FORMATS`; here the same patterns and checksums (Luhn for cards,
mod-97 for IBANs) are tried on *spans* of a text: a run of one to a few whitespace-separated
words (a card written ``4111 1111 1111 1111`` is four words), with the punctuation around it
(``(``, ``,``, ``.``) stripped. A span is tried only where it can start (a digit for a card,
an ``@`` for an e-mail, ...), so a page of prose costs a few microseconds per word.

Detectors are named for what a guard forbids (:data:`DETECTORS`). Names and addresses in prose
are left out on purpose: the classifier's ``person_name`` and ``postal_address`` shapes hold for
any two capitalised words, which would refuse most answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from andon.data.validators import FORMATS, iban_valid, luhn_valid

_Start = Callable[[str], bool]


@dataclass(frozen=True)
class Detector:
    """One kind of personal data a guard can refuse."""

    name: str
    format: str
    """The :data:`~andon.data.validators.FORMATS` entry it matches."""
    words: int
    """The most whitespace-separated words one value spans."""
    starts: _Start
    keep: tuple[int, int]
    """Characters of the value left visible in masked evidence (first, last)."""


def _digit(word: str) -> bool:
    return word[:1].isdigit()


DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        Detector("email", "email", 1, lambda w: "@" in w, (1, 0)),
        Detector("phone", "phone", 6, lambda w: w[:1] in "+(" or _digit(w), (0, 2)),
        Detector("card_number", "payment_card", 5, _digit, (4, 4)),
        Detector(
            "iban",
            "iban",
            9,
            lambda w: len(w) >= 4 and w[:2].isalpha() and w[2:4].isdigit(),
            (4, 2),
        ),
        Detector("us_ssn", "us_ssn", 1, _digit, (0, 2)),
        Detector("uk_nino", "uk_nino", 5, lambda w: w[:2].isalpha() and w[:2].isupper(), (0, 1)),
        Detector("ipv4", "ipv4", 1, lambda w: _digit(w) and "." in w, (0, 2)),
        Detector("ipv6", "ipv6", 1, lambda w: ":" in w, (0, 2)),
    )
}
"""Every detector a guard's ``pii`` list may name, by name."""

_WORD = re.compile(r"\S+")
_LEAD = "\"'[{<"
_TRAIL = "\"'.,;:!?)]}>"
_CHECKSUMS: dict[str, Callable[[str], bool]] = {"luhn": luhn_valid, "iban": iban_valid}


@dataclass(frozen=True)
class Finding:
    """One value a detector found in a text: where it is, and its masked form."""

    detector: str
    start: int
    end: int
    masked: str


def _holds(detector: Detector, candidate: str) -> bool:
    fmt = FORMATS[detector.format]
    if not fmt.compiled.fullmatch(candidate):
        return False
    check = _CHECKSUMS.get(fmt.checksum or "")
    return check is None or check(candidate)


def mask(value: str, keep: tuple[int, int]) -> str:
    """``value`` with every letter and digit replaced by ``*`` except the first ``keep[0]``
    and the last ``keep[1]`` of them (separators kept: the shape shows, the value does not).
    An e-mail keeps its domain's last label (``j***@e******.com``)."""
    if "@" in value:
        local, _, domain = value.partition("@")
        host, dot, tld = domain.rpartition(".")
        return mask(local, (1, 0)) + "@" + mask(host, (1, 0)) + dot + tld
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    head, tail = keep
    if len(positions) <= head + tail + 2:  # too short to show anything safely
        head, tail = 0, 0
    hidden = set(positions[head : len(positions) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def find(text: str, detectors: Iterable[str], *, start: int = 0) -> Finding | None:
    """The first value any of ``detectors`` finds in ``text``, looking only at spans that
    begin at or after ``start`` (a stream checks what it has not checked yet); None if clean."""
    chosen = [DETECTORS[name] for name in detectors]
    if not chosen:
        return None
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start)]
    for i, (begin, _) in enumerate(words):
        first = text[begin : words[i][1]].lstrip(_LEAD)
        for detector in chosen:
            if not detector.starts(first):
                continue
            best: tuple[int, str] | None = None  # the longest span wins: "+1 415 555 0134"
            for j in range(i, min(len(words), i + detector.words)):
                raw = text[begin : words[j][1]]
                for candidate in (raw, raw.rstrip(_TRAIL), raw.lstrip(_LEAD).rstrip(_TRAIL)):
                    if candidate and _holds(detector, candidate):
                        best = (begin + raw.index(candidate), candidate)
                        break
            if best is not None:
                at, value = best
                return Finding(detector.name, at, at + len(value), mask(value, detector.keep))
    return None


def redact(text: str, detectors: Iterable[str] | None = None) -> str:
    """``text`` with every value the detectors find replaced by its masked form (all of
    :data:`DETECTORS` by default): what may be stored of a prompt or an answer."""
    names = list(DETECTORS if detectors is None else detectors)
    out: list[str] = []
    at = 0
    while (found := find(text, names, start=at)) is not None:
        out.append(text[at : found.start])
        out.append(found.masked)
        at = found.end
    out.append(text[at:])
    return "".join(out)
