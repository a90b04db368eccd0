"""Field classification: PII, financial or operational, from a field's name and sampled values.

Pure and fast: no I/O, every regular expression precompiled, values tested through
:func:`andon.data.validators.format_shares` (one C-level scan per format worth testing).

**Rules.** Each tag has two kinds of evidence:

* the *name*: the field name is split into lower-case words (``customerEmail`` and
  ``customer_email`` both give ``customer email``) and matched against :data:`NAME_RULES`;
  a hit gives the rule's name strength ``n`` (0.45 to 0.75);
* the *values*: the share ``s`` of sampled non-null values holding the tag's format
  (checksums included: IBAN mod-97, payment cards Luhn), times the format's strength ``f``.

``confidence = 1 - (1 - n) * (1 - s * f)`` (either kind of evidence can carry a tag; both
together make it near-certain). When the name suggests a tag whose format the values do not
hold (``s < 0.1`` over at least 20 values), the name evidence counts three quarters only: a
column called ``email`` that holds hashes is still probably personal, but less surely. A tag
is kept when its confidence reaches :data:`THRESHOLD`. Tags without a value format (amounts,
accounts by name) rest on the name alone. A field with no PII or financial tag is
``operational``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from andon.data.validators import FORMATS, VALIDATED, format_shares

THRESHOLD = 0.5
MIN_VALUES_TO_CONTRADICT = 20


@dataclass(frozen=True)
class NameRule:
    """A tag suggested by a field's name, and the value formats that confirm it."""

    tag: str
    words: str  # a regex over the space-joined lower-case words
    strength: float
    formats: tuple[str, ...] = ()


NAME_RULES: tuple[NameRule, ...] = (
    NameRule("pii.email", r"\be ?mail(?: address)?\b|\bemail", 0.75, ("email",)),
    NameRule("pii.phone", r"\b(?:phone|mobile|cell|tel|telephone|msisdn|fax)\b", 0.7, ("phone",)),
    NameRule(
        "pii.person_name",
        r"\b(?:first|last|given|family|middle|full|sur|maiden|customer|contact|user|holder)"
        r" ?name\b|\bsurname\b|\bforename\b",
        0.65,
        ("person_name",),
    ),
    NameRule(
        "pii.postal_address",
        r"\b(?:address|street|addr|postcode|postal|zip|zipcode|city)\b",
        0.6,
        ("postal_address",),
    ),
    NameRule("pii.iban", r"\biban\b", 0.75, ("iban",)),
    NameRule(
        "pii.payment_card",
        r"\b(?:card|cc|pan|credit card|debit card)(?: (?:number|no|num))?\b|\bcardnumber\b",
        0.6,
        ("payment_card",),
    ),
    NameRule(
        "pii.national_id",
        r"\b(?:ssn|sin|nino|national id|national insurance|tax id|tin|passport|nid|"
        r"social security)\b",
        0.7,
        ("us_ssn", "uk_nino"),
    ),
    NameRule(
        "pii.ip_address",
        r"\b(?:ip|ip address|ipv4|ipv6|client ip|remote addr)\b",
        0.65,
        ("ipv4", "ipv6"),
    ),
    NameRule(
        "pii.date_of_birth",
        r"\b(?:dob|birth ?date|date of birth|birthday|born(?: on)?)\b",
        0.75,
        ("date",),
    ),
    NameRule(
        "financial.amount",
        r"\b(?:amount|amt|price|cost|total|revenue|fee|fees|balance|salary|payment|"
        r"subtotal|tax|discount|refund|charge|usd|eur|gbp|cents)\b",
        0.7,
    ),
    NameRule("financial.currency", r"\b(?:currency|ccy|currency code)\b", 0.7, ("currency_code",)),
    NameRule(
        "financial.account",
        r"\b(?:account|acct|iban|bic|swift|routing|sort code)(?: (?:number|no|id))?\b",
        0.6,
        ("iban",),
    ),
)
"""Name evidence, one rule per tag."""

VALUE_TAGS: dict[str, str] = {
    "email": "pii.email",
    "phone": "pii.phone",
    "person_name": "pii.person_name",
    "postal_address": "pii.postal_address",
    "iban": "pii.iban",
    "payment_card": "pii.payment_card",
    "us_ssn": "pii.national_id",
    "uk_nino": "pii.national_id",
    "ipv4": "pii.ip_address",
    "ipv6": "pii.ip_address",
    "currency_code": "financial.currency",
}
"""Formats that carry a tag on their own (without a name hint)."""

_VALUE_FORMATS = tuple(VALUE_TAGS)
_NAME_PATTERNS = [(rule, re.compile(rule.words)) for rule in NAME_RULES]
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Tag:
    """One tag of a field, how sure andon is, and why."""

    tag: str
    confidence: float
    evidence: dict[str, Any]

    @property
    def category(self) -> str:
        """``pii``, ``financial`` or ``operational``."""
        return self.tag.split(".", 1)[0]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"tag": self.tag, "confidence": self.confidence, "evidence": self.evidence}


@dataclass(frozen=True)
class FieldClassification:
    """Every tag of one field, strongest first."""

    column: str
    tags: tuple[Tag, ...]
    sampled: int
    formats: dict[str, float] = field(default_factory=dict)

    @property
    def category(self) -> str:
        """The field's category: ``pii`` beats ``financial`` beats ``operational``."""
        cats = {t.category for t in self.tags}
        return "pii" if "pii" in cats else "financial" if "financial" in cats else "operational"

    @property
    def confidence(self) -> float:
        """The strongest tag's confidence (1.0 for an operational field without tags)."""
        return max((t.confidence for t in self.tags), default=1.0)

    @property
    def pii(self) -> bool:
        """Whether samples of this field must be masked."""
        return self.category == "pii"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "column": self.column,
            "category": self.category,
            "confidence": self.confidence,
            "sampled": self.sampled,
            "tags": [t.as_dict() for t in self.tags],
        }


def words(name: str) -> str:
    """``customerEmail``, ``customer-email`` and ``CUSTOMER_EMAIL`` all give ``customer email``."""
    return " ".join(w for w in _SEPARATORS.split(_CAMEL.sub(" ", name)) if w).lower()


def _name_hits(name: str) -> dict[str, tuple[NameRule, str]]:
    spaced = words(name)
    hits: dict[str, tuple[NameRule, str]] = {}
    for rule, pattern in _NAME_PATTERNS:
        m = pattern.search(spaced)
        if m:
            hits[rule.tag] = (rule, m.group(0))
    return hits


def _kind(values: Sequence[Any]) -> str:
    """``string``, ``number``, ``temporal``, ``boolean`` or ``empty``, from the first values."""
    for v in values[:64]:
        if v is None:
            continue
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, int | float | Decimal):
            return "number"
        if isinstance(v, datetime | date):
            return "temporal"
        return "string"
    return "empty"


def _birth_share(values: list[Any], today: date) -> float:
    """Share of dates a plausible birth date: between 120 years ago and today."""
    ok = 0
    for v in values:
        d = v.date() if isinstance(v, datetime) else v
        if isinstance(d, date) and 0 <= (today - d).days <= 120 * 366:
            ok += 1
    return ok / len(values) if values else 0.0


def classify_field(
    name: str, values: Sequence[Any], *, today: date | None = None
) -> FieldClassification:
    """Tag one field from its name and a sample of its values (``None`` = null)."""
    hits = _name_hits(name)
    values = values if isinstance(values, list) else list(values)
    n = len(values) - values.count(None)
    kind = _kind(values)
    shares: dict[str, float] = {}
    if kind == "string" or (
        kind == "number"
        and isinstance(next(v for v in values if v is not None), int)
        and ("pii.payment_card" in hits or "pii.national_id" in hits)
    ):
        insist = {f for rule, _ in hits.values() for f in rule.formats}
        shares = format_shares(values, insist=insist, formats=_VALUE_FORMATS + tuple(insist))
    elif kind == "temporal" and "pii.date_of_birth" in hits:
        dates = [v for v in values[:VALIDATED] if v is not None]
        shares = {"date": _birth_share(dates, today or date.today())}
    evidence: dict[str, dict[str, Any]] = {}
    name_strength: dict[str, float] = {}
    value_strength: dict[str, float] = {}
    for tag, (rule, matched) in hits.items():
        if kind == "number" and tag.startswith("pii.") and tag not in (
            "pii.payment_card", "pii.national_id", "pii.phone",
        ):  # fmt: skip
            continue  # a numeric "zip_count" or "email_id" is not personal data
        strength = rule.strength
        ev: dict[str, Any] = {"name_pattern": matched}
        if rule.formats and n >= MIN_VALUES_TO_CONTRADICT:
            best = max((shares.get(f, 0.0) for f in rule.formats), default=0.0)
            if best < 0.1:
                strength *= 0.75
                ev["contradicted_by_values"] = True
        name_strength[tag] = strength
        evidence[tag] = ev
    for fmt, share in shares.items():
        found = VALUE_TAGS.get(fmt) or next(
            (t for t, (rule, _) in hits.items() if fmt in rule.formats), None
        )
        if found is None:
            continue
        tag = found
        strength = share * FORMATS[fmt].strength
        if strength > value_strength.get(tag, -1.0):
            value_strength[tag] = strength
            ev = evidence.setdefault(tag, {})
            ev.update({"validator": fmt, "matched_share": round(share, 4), "sampled": n})
    if kind == "number" and "financial.amount" in hits:
        evidence["financial.amount"]["numeric"] = True
    tags = []
    for tag, ev in evidence.items():
        conf = 1 - (1 - name_strength.get(tag, 0.0)) * (1 - value_strength.get(tag, 0.0))
        if conf >= THRESHOLD:
            tags.append(Tag(tag, round(conf, 4), ev))
    tags.sort(key=lambda t: (-t.confidence, t.tag))
    return FieldClassification(name, tuple(tags), n, shares)


def classify_fields(
    fields: Sequence[tuple[str, Sequence[Any]]], *, today: date | None = None
) -> list[FieldClassification]:
    """Classify many fields, each given as ``(name, sampled values)``."""
    day = today or date.today()
    return [classify_field(name, values, today=day) for name, values in fields]
