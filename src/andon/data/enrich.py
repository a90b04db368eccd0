"""Catalog enrichment: proposals of descriptions, classifications, allowed values, owners and
freshness, from a dataset's profile and field classifications.

An :class:`Enricher` turns :class:`DatasetFacts` into :class:`Draft` proposals; nothing here
stores anything (``andon.data.catalog`` does, and a data-steward decides). Two enrichers:

* :class:`OfflineEnricher` (the default): deterministic rules, no network.

  - *classification*: every field tagged PII or financial whose contract classification
    differs: ``pii`` for PII, ``restricted`` for financial accounts, ``internal`` for other
    financial fields; the tags ride along.
  - *description*: every declared property without one, from its name's words (with a small
    glossary: ``id`` identifier, ``ts`` timestamp, ``qty`` quantity, units spelled out) and
    its strongest tag.
  - *allowed values*: declared, non-PII string or integer properties whose profile saw every
    distinct value (at most 12, see :mod:`andon.data.profile`) and that carry no
    ``validValues`` rule yet; proposed as an ``invalidValues`` rule of severity ``warning``
    (the values are observed, so a steward should read them: a typo such as ``shiped`` is
    data too).
  - *owner*: the dataset's team, when the contract names no owner (``customProperties``).
  - *freshness*: when the table has no freshness SLA, the timestamp or date column with the
    newest value; the proposed SLA is the observed lag with 50 % headroom, rounded up to
    whole hours (or days from 48 hours on), at least 1 hour.

* :class:`LLMEnricher`: asks any OpenAI-compatible endpoint (``POST {base_url}/chat/completions``)
  for column descriptions, and takes every other proposal from the offline rules. It sends
  column names, types, tags and, for non-PII columns only, a few top values; never sampled
  PII. The API key is read from an environment variable (default ``ANDON_LLM_API_KEY``) when
  the enricher is made, sent only in the ``Authorization`` header, and never logged or put in
  an error. A down endpoint, a timeout, an HTTP error or an answer that is not the expected
  JSON raises :class:`~andon.core.errors.Unavailable`.
"""

from __future__ import annotations

import json
import math
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from andon.core.errors import Invalid, Unavailable
from andon.data.classify import FieldClassification, words
from andon.data.contracts import Contract
from andon.data.profile import MASK, TableProfile

ALLOWED_VALUES_MAX = 12
KINDS = ("classification", "description", "allowed_values", "owner", "freshness")


@dataclass(frozen=True)
class Draft:
    """A proposal before it is stored: what to change, on which column, and why."""

    kind: str
    column: str | None
    value: dict[str, Any]
    rationale: str


@dataclass(frozen=True)
class DatasetFacts:
    """What an enricher may look at."""

    dataset: str  # team/name
    team: str
    table: str
    contract: Contract
    profile: TableProfile
    classifications: list[FieldClassification]
    now: datetime
    document: dict[str, Any] = field(default_factory=dict)

    def declared(self) -> dict[str, dict[str, Any]]:
        """The raw ODCS property mappings of this table, by name."""
        for obj in self.document.get("schema") or []:
            if isinstance(obj, dict) and obj.get("name") == self.table:
                return {
                    str(p.get("name")): p
                    for p in obj.get("properties") or []
                    if isinstance(p, dict)
                }
        return {}


class Enricher(Protocol):
    """Turns a dataset's facts into proposals."""

    name: str

    def propose(self, facts: DatasetFacts) -> list[Draft]:
        """Proposals for the catalog (nothing is stored here)."""
        ...


# --------------------------------------------------------------------------- offline rules

GLOSSARY = {
    "id": "identifier", "ts": "timestamp", "qty": "quantity", "amt": "amount",
    "ref": "reference", "num": "number", "no": "number", "dob": "date of birth",
    "usd": "in US dollars", "eur": "in euros", "gbp": "in pounds sterling",
    "kg": "in kilograms", "g": "in grams", "ms": "in milliseconds", "s": "in seconds",
    "pct": "in percent", "cents": "in cents", "at": "time", "ip": "IP address",
}  # fmt: skip
_TAG_WORDS = {
    "pii": "personal data", "financial": "financial data",
}  # fmt: skip


def describe(column: str, table: str, tags: list[str]) -> str:
    """A plain description from a column's name words and its strongest tag."""
    parts = [GLOSSARY.get(w, w) for w in words(column).split()]
    text = " ".join(parts) if parts else column
    sentence = f"{text[0].upper()}{text[1:]} of the {table.rstrip('s') or table} record."
    if tags:
        category = tags[0].split(".", 1)[0]
        kind = tags[0].split(".", 1)[1].replace("_", " ")
        sentence += f" Holds {_TAG_WORDS.get(category, category)} ({kind})."
    return sentence


def _classification_value(c: FieldClassification) -> str:
    if c.category == "pii":
        return "pii"
    if any(t.tag == "financial.account" for t in c.tags):
        return "restricted"
    return "internal"


def _has_valid_values(prop: Mapping[str, Any]) -> bool:
    for rule in prop.get("quality") or []:
        if isinstance(rule, dict) and (
            "validValues" in rule or "validValues" in (rule.get("arguments") or {})
        ):
            return True
    return False


def _lag_sla(lag_seconds: float) -> tuple[int, str]:
    hours = max(1, math.ceil(lag_seconds * 1.5 / 3600))
    if hours >= 48:
        return math.ceil(hours / 24), "d"
    return hours, "h"


def _as_datetime(value: Any) -> datetime | None:
    from datetime import UTC

    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


class OfflineEnricher:
    """The default enricher: deterministic rules (see the module docstring), no network."""

    name = "offline"

    def propose(self, facts: DatasetFacts) -> list[Draft]:
        """Every proposal the rules make for ``facts``."""
        declared = facts.declared()
        by_column = {c.column: c for c in facts.classifications}
        drafts: list[Draft] = []
        for column, prop in declared.items():
            c = by_column.get(column)
            if c is not None and c.category != "operational":
                wanted = _classification_value(c)
                if str(prop.get("classification") or "").lower() != wanted:
                    tags = [t.tag for t in c.tags]
                    drafts.append(
                        Draft(
                            "classification",
                            column,
                            {"classification": wanted, "tags": tags, "confidence": c.confidence},
                            f"classified {c.category} ({', '.join(tags)}), "
                            f"confidence {c.confidence:.2f}",
                        )
                    )
            if not prop.get("description"):
                tags = [t.tag for t in c.tags] if c else []
                drafts.append(
                    Draft(
                        "description",
                        column,
                        {"description": describe(column, facts.table, tags)},
                        "from the column name and its classification",
                    )
                )
            drafts += self._allowed(facts, column, prop, c)
        if not _owner(facts.document):
            drafts.append(
                Draft("owner", None, {"team": facts.team}, "the team that owns the dataset")
            )
        drafts += self._freshness(facts)
        return drafts

    def _allowed(
        self,
        facts: DatasetFacts,
        column: str,
        prop: Mapping[str, Any],
        c: FieldClassification | None,
    ) -> list[Draft]:
        if prop.get("logicalType") not in ("string", "integer") or _has_valid_values(prop):
            return []
        if c is not None and c.pii:
            return []
        try:
            p = facts.profile.column(column)
        except StopIteration:
            return []
        if not p.top_values_complete or not p.top_values or p.pii:
            return []
        values = [v["value"] for v in p.top_values]
        if len(values) > ALLOWED_VALUES_MAX or MASK in values:
            return []
        if prop.get("logicalType") == "integer":
            try:
                typed: list[Any] = sorted(int(v) for v in values)
            except ValueError:
                return []
        else:
            typed = sorted(values)
        about = "≈" if p.top_value_counts_estimated else ""
        counts = ", ".join(f"{v['value']} ({about}{v['count']})" for v in p.top_values)
        return [
            Draft(
                "allowed_values",
                column,
                {"validValues": typed},
                f"{len(values)} distinct values over {facts.profile.rows} rows: {counts}",
            )
        ]

    def _freshness(self, facts: DatasetFacts) -> list[Draft]:
        if any(f.table == facts.table for f in facts.contract.freshness):
            return []
        declared = facts.declared()
        newest: tuple[datetime, str] | None = None
        for p in facts.profile.columns:
            if p.name not in declared or not p.type.startswith(("timestamp", "date")):
                continue
            if p.pii:
                continue
            at = _as_datetime(p.max)
            if at is not None and (newest is None or at > newest[0]):
                newest = (at, p.name)
        if newest is None:
            return []
        lag = max(0.0, (facts.now - newest[0]).total_seconds())
        value, unit = _lag_sla(lag)
        return [
            Draft(
                "freshness",
                newest[1],
                {
                    "element": f"{facts.table}.{newest[1]}",
                    "value": value,
                    "unit": unit,
                    "observed_lag_seconds": round(lag, 3),
                },
                f"newest {newest[1]} is {lag / 3600:.1f} h old; SLA with 50% headroom",
            )
        ]


def _owner(document: Mapping[str, Any]) -> str | None:
    for prop in document.get("customProperties") or []:
        if isinstance(prop, dict) and prop.get("property") == "owner":
            return str(prop.get("value"))
    return None


# --------------------------------------------------------------------------- LLM enricher

DEFAULT_KEY_ENV = "ANDON_LLM_API_KEY"
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


class LLMEnricher:
    """Descriptions from an OpenAI-compatible chat-completions endpoint; the rest offline."""

    name = "llm"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 20.0,
        fallback: Enricher | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise Invalid(f"{base_url!r} must be an http(s) URL", field="base_url")
        if not model:
            raise Invalid("name the model to ask", field="model")
        if not 0 < timeout <= 600:
            raise Invalid("must be between 0 and 600 seconds", field="timeout")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = timeout
        self.fallback = fallback or OfflineEnricher()
        self.name = f"llm:{model}"

    def __repr__(self) -> str:  # never show the key
        return f"LLMEnricher({self.base_url!r}, {self.model!r})"

    @classmethod
    def from_env(
        cls,
        base_url: str,
        model: str,
        *,
        key_env: str = DEFAULT_KEY_ENV,
        timeout: float = 20.0,
        environ: Mapping[str, str] | None = None,
    ) -> LLMEnricher:
        """An enricher whose API key comes from the environment variable ``key_env``."""
        env = os.environ if environ is None else environ
        return cls(base_url, model, api_key=env.get(key_env) or None, timeout=timeout)

    def _prompt(self, facts: DatasetFacts) -> str:
        by_column = {c.column: c for c in facts.classifications}
        columns = []
        for p in facts.profile.columns:
            c = by_column.get(p.name)
            entry: dict[str, Any] = {"name": p.name, "type": p.type}
            if c is not None and c.tags:
                entry["tags"] = [t.tag for t in c.tags]
            if not p.pii and p.top_values:
                entry["top_values"] = [v["value"] for v in p.top_values[:5]]
            columns.append(entry)
        return json.dumps({"dataset": facts.dataset, "table": facts.table, "columns": columns})

    def ask(self, facts: DatasetFacts) -> dict[str, str]:
        """Column descriptions from the endpoint, by column name."""
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {
                    "role": "system",
                    "content": "You write one-sentence catalog descriptions of table columns. "
                    'Answer with JSON only: {"descriptions": {"<column>": "<sentence>"}}.',
                },
                {"role": "user", "content": self._prompt(facts)},
            ],
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        where = f"the LLM endpoint {self.base_url}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise Unavailable(f"{where} answered HTTP {exc.code}: {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            why = getattr(exc, "reason", exc)
            raise Unavailable(f"{where} cannot be reached: {why}") from None
        return _descriptions(raw, where)

    def propose(self, facts: DatasetFacts) -> list[Draft]:
        """Offline proposals, with descriptions replaced by the model's."""
        answers = self.ask(facts)
        out = []
        for draft in self.fallback.propose(facts):
            if draft.kind == "description" and draft.column in answers:
                draft = Draft(
                    "description",
                    draft.column,
                    {"description": answers[draft.column]},
                    f"written by {self.model}",
                )
            out.append(draft)
        return out


def _descriptions(raw: bytes, where: str) -> dict[str, str]:
    garbage = Unavailable(
        f"{where} answered something that is not an OpenAI chat completion carrying "
        '{"descriptions": {...}} JSON'
    )
    try:
        doc = json.loads(raw)
        content = doc["choices"][0]["message"]["content"]
        found = json.loads(_FENCE.sub("", str(content).strip()))
        descriptions = found["descriptions"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise garbage from None
    if not isinstance(descriptions, dict):
        raise garbage
    return {
        str(k): str(v).strip()[:500]
        for k, v in descriptions.items()
        if isinstance(v, str) and v.strip()
    }
