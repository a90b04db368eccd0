"""A bound on what a YAML document expands to.

``yaml.safe_load`` builds an alias (``*a``) as a second reference to the anchored node, so a
small text can stand for an exponentially large document ("billion laughs"); it only blows up
later, when the document is walked or serialized (digests, canonical JSON, stored copies).
:func:`load_bounded` is the one loader of andon's YAML inputs (contracts, suites, policies):
``safe_load`` then :func:`require_bounded`, which walks the document as it would be expanded
and stops at the limit, so the walk itself is bounded too.
"""

from __future__ import annotations

from typing import Any

from andon.core.errors import Invalid

MAX_NODES = 200_000
"""Far above any real contract, suite or policy (the sample contract has about 400 nodes)."""


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


def load_bounded(text: str, *, source: str) -> Any:
    """``yaml.safe_load(text)``, refused with :class:`Invalid` when it expands past
    :data:`MAX_NODES` values. Malformed YAML raises ``yaml.YAMLError`` as ``safe_load`` does,
    for the caller to word."""
    import yaml  # type: ignore[import-untyped]

    doc = yaml.safe_load(text)
    require_bounded(doc, source=source)
    return doc
