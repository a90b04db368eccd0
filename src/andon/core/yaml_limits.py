"""Bounds on what a YAML document may be: nesting depth, integer size, expanded size.

andon reads YAML it did not write (contracts, suites and policies, from a file or a request
body), so :func:`load_bounded`, the one loader of those inputs, refuses three shapes before
they cost the server anything:

- nesting deeper than :data:`MAX_DEPTH`: the composer recurses once per level, so 50,000
  levels would end in a ``RecursionError``; the depth is checked before each descent;
- an integer of more than :data:`MAX_INT_DIGITS` decimal digits: converting one costs time
  quadratic in its length (Python itself stops at 4,300 digits with a ``ValueError``); the
  digits are counted before the conversion;
- a document that expands past :data:`MAX_NODES` values: ``yaml.safe_load`` builds an alias
  (``*a``) as a second reference to the anchored node, so a small text can stand for an
  exponentially large document ("billion laughs") that only blows up when it is walked;
  :func:`require_bounded` walks it as it would be expanded and stops at the limit.

Each refusal is :class:`~andon.core.errors.Invalid` naming the source, the bound and the line.

``load_bounded(text, source=..., timestamps=False)`` reads unquoted dates and times
(``2024-05-01``) as the strings they are written as: JSON Schema (the ODCS standard's own
schema) knows no date type, so a tree validated against it must not hold ``datetime.date``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from andon.core.errors import Invalid

MAX_NODES = 200_000
"""Far above any real contract, suite or policy (the sample contract has about 400 nodes)."""

MAX_DEPTH = 100
"""Levels of nested mappings and lists; the sample contract nests 6 deep."""

MAX_INT_DIGITS = 1_000
"""Decimal digits of one integer; a 64-bit integer has 19, a DECIMAL(38) bound 38."""


def require_bounded(doc: Any, *, source: str, limit: int = MAX_NODES) -> None:
    """:class:`Invalid` when ``doc`` expands to more than ``limit`` values."""
    seen = 0
    stack = [doc]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            raise Invalid(
                f"{source} expands to more than {limit:,} values (YAML anchors and aliases "
                "repeated inside each other?): write it out, or split it"
            )
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@cache
def _loader(timestamps: bool = True) -> Any:
    """A ``SafeLoader`` class that refuses deep nesting and huge integers as it loads;
    without ``timestamps`` it resolves no YAML 1.1 timestamp (they stay strings)."""
    import yaml  # type: ignore[import-untyped]

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
        source = "the document"
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if not self.check_event(yaml.CollectionStartEvent):
                return super().compose_node(parent, index)
            if self.depth >= MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise Invalid(
                    f"{self.source} nests deeper than {MAX_DEPTH} levels (line {line}): flatten it"
                )
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def bounded_int(self, node: Any) -> Any:
            digits = sum(ch.isdigit() for ch in str(node.value))
            if digits > MAX_INT_DIGITS:
                raise Invalid(
                    f"{self.source} holds an integer of {digits:,} digits (line "
                    f"{node.start_mark.line + 1}); at most {MAX_INT_DIGITS:,} are read"
                )
            return self.construct_yaml_int(node)

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.bounded_int)
    if not timestamps:
        BoundedLoader.yaml_implicit_resolvers = {
            first: [
                (tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"
            ]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
    return BoundedLoader


def load_bounded(text: str, *, source: str, timestamps: bool = True) -> Any:
    """``yaml.safe_load(text)``, refused with :class:`Invalid` (naming ``source``) when it
    nests deeper than :data:`MAX_DEPTH`, holds an integer of more than :data:`MAX_INT_DIGITS`
    digits or expands past :data:`MAX_NODES` values. Malformed YAML raises ``yaml.YAMLError``
    as ``safe_load`` does, for the caller to word. With ``timestamps=False`` an unquoted date
    or date-time stays a string (an explicit ``!!timestamp`` tag is still honoured)."""
    loader = _loader(timestamps)(text)
    loader.source = source
    try:
        doc = loader.get_single_data()
    finally:
        loader.dispose()
    require_bounded(doc, source=source)
    return doc
