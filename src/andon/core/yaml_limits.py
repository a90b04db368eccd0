"""A bound on what a YAML document expands to.

``yaml.safe_load`` builds an alias (``*a``) as a second reference to the anchored node, so a
small text can stand for an exponentially large document ("billion laughs"); it only blows up
later, when the document is walked or serialized (digests, canonical JSON, stored copies).
:func:`require_bounded` walks the loaded document as it would be expanded and stops at the
limit, so the walk itself is bounded too.
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
