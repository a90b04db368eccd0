"""A team's tag schema: which attribute keys its telemetry keeps, and how many distinct values
each may take in a UTC day before new ones are dropped or hashed.

A schema is a small document (YAML or JSON), set with ``andon telemetry tags set``::

    outside: drop          # a tag outside the schema: drop | hash | keep
    over_limit: drop       # a new value past a tag's limit: drop | hash
    max_distinct: 1000     # distinct values a tag may take per UTC day
    buckets: 64            # a hashed value becomes one of this many ("#0" .. "#63")
    tags:
      http.route: {}
      http.request.method: {}
      gen_ai.request.model: {max_distinct: 50}
      "user.*": {max_distinct: 0, over_limit: hash}   # every value hashed
      customer.tier: {max_distinct: null}             # no limit

``tags`` maps keys or patterns (``*`` matches any run of characters) to their options, or is a
plain list of keys with the defaults. An exact key wins over patterns, and a longer pattern over
a shorter one. Keys andon itself reads (``andon.*``) and the keys the team's sampling policies
test are always in the schema. A value once admitted stays admitted for the rest of its day;
the first ``max_distinct`` distinct values to arrive are the admitted ones.

A hashed value is replaced by ``"#<n>"``, ``n`` the value's MD5 modulo ``buckets``: the same
value always lands in the same bucket, so grouping by the tag still spreads as before, with at
most ``buckets`` distinct values.

The schema covers the ``attributes`` of spans, metric points and log records. Resource
attributes name the process that sent the batch (one resource per process, not per request)
and are left as they are.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from andon.core.errors import Invalid

OUTSIDE = ("drop", "hash", "keep")
OVER_LIMIT = ("drop", "hash")
ALWAYS = ("andon.*",)
"""Patterns every schema keeps: the attributes andon itself reads."""
MAX_TAGS = 1000
_KEY = re.compile(r'^[^"\\\x00-\x1f]{1,256}$')
_TOP = {"outside", "over_limit", "max_distinct", "buckets", "tags"}
_PER_TAG = {"max_distinct", "over_limit"}


@dataclass(frozen=True)
class TagRule:
    """What the schema says of one key or pattern."""

    pattern: str
    max_distinct: int | None  # None: no limit
    over_limit: str

    @property
    def exact(self) -> bool:
        """Whether the rule names one key (no ``*``)."""
        return "*" not in self.pattern


@dataclass(frozen=True)
class TagSchema:
    """A parsed tag schema (see the module's documentation for the fields)."""

    outside: str = "drop"
    over_limit: str = "drop"
    max_distinct: int | None = 1000
    buckets: int = 64
    rules: tuple[TagRule, ...] = ()
    _exact: dict[str, TagRule] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._exact.update({r.pattern: r for r in self.rules if r.exact})

    def rule_for(self, key: str) -> TagRule | None:
        """The rule that covers ``key``, or ``None`` when it is outside the schema."""
        exact = self._exact.get(key)
        if exact is not None:
            return exact
        best: TagRule | None = None
        for rule in self.rules:
            longer = best is None or len(rule.pattern) > len(best.pattern)
            if not rule.exact and longer and fnmatch.fnmatchcase(key, rule.pattern):
                best = rule
        return best

    def with_keys(self, keys: Iterable[str]) -> TagSchema:
        """This schema with ``keys`` (and :data:`ALWAYS`) added, without limits, unless the
        schema already covers them."""
        added = [TagRule(k, None, self.over_limit) for k in (*ALWAYS, *sorted(set(keys)))]
        new = tuple(r for r in added if r.pattern not in {x.pattern for x in self.rules})
        return TagSchema(self.outside, self.over_limit, self.max_distinct, self.buckets,
                         self.rules + new)  # fmt: skip


def parse(document: Any) -> TagSchema:
    """A :class:`TagSchema` from its document; :class:`Invalid` naming the first bad field."""
    if not isinstance(document, Mapping):
        raise Invalid("a tag schema is a mapping with a 'tags' entry", field="tags")
    for key in document:
        if key not in _TOP:
            raise Invalid(f"unknown key (known: {', '.join(sorted(_TOP))})", field=str(key))
    outside = _choice(document, "outside", OUTSIDE, "drop")
    over_limit = _choice(document, "over_limit", OVER_LIMIT, "drop")
    max_distinct = _limit(document.get("max_distinct", 1000), "max_distinct")
    buckets = document.get("buckets", 64)
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 2 <= buckets <= 65536:
        raise Invalid("must be a whole number from 2 to 65536", field="buckets")
    if "tags" not in document:
        raise Invalid("is required: the keys (or patterns) the team keeps", field="tags")
    listed = document["tags"]
    if isinstance(listed, list):
        listed = {key: None for key in listed}
    if not isinstance(listed, Mapping):
        raise Invalid("must be a list of keys or a mapping of keys to options", field="tags")
    if len(listed) > MAX_TAGS:
        raise Invalid(f"at most {MAX_TAGS} keys or patterns", field="tags")
    rules = []
    for pattern, options in listed.items():
        where = f"tags.{pattern}"
        if not isinstance(pattern, str) or not _KEY.match(pattern):
            raise Invalid("must be an attribute key or pattern (no quotes or backslashes)",
                          field=where)  # fmt: skip
        options = {} if options is None else options
        if not isinstance(options, Mapping):
            raise Invalid("must be a mapping of options (max_distinct, over_limit)", field=where)
        for key in options:
            if key not in _PER_TAG:
                raise Invalid(f"unknown key (known: {', '.join(sorted(_PER_TAG))})",
                              field=f"{where}.{key}")  # fmt: skip
        limit = (_limit(options["max_distinct"], f"{where}.max_distinct")
                 if "max_distinct" in options else max_distinct)  # fmt: skip
        over = _choice(options, "over_limit", OVER_LIMIT, over_limit, where=f"{where}.")
        rules.append(TagRule(pattern, limit, over))
    return TagSchema(outside, over_limit, max_distinct, buckets, tuple(rules))


def as_document(schema: TagSchema) -> dict[str, Any]:
    """The document of ``schema`` in its full form (every option spelled out)."""
    rules = {r.pattern: {"max_distinct": r.max_distinct, "over_limit": r.over_limit}
             for r in schema.rules}  # fmt: skip
    return {
        "outside": schema.outside,
        "over_limit": schema.over_limit,
        "max_distinct": schema.max_distinct,
        "buckets": schema.buckets,
        "tags": rules,
    }


def _choice(
    document: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str, where: str = ""
) -> str:
    value = document.get(key, default)
    if value not in allowed:
        raise Invalid(f"must be one of {', '.join(allowed)}", field=f"{where}{key}")
    return str(value)


def _limit(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
        raise Invalid("must be a whole number from 0 to 10000000, or null for no limit",
                      field=where)  # fmt: skip
    return value
