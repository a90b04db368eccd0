"""The lineage graph as the console draws it: layered left to right by kind, labelled.

:func:`lineage_view` reads the graph around an object (``lineage.read``) and names its nodes
(model versions as ``name@version``, runs by name, dataset versions by dataset);
:func:`layout` places them in one column per kind, upstream to downstream, for an SVG.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from andon.core.context import Context
from andon.data.queries import dataset_version_facts
from andon.lineage import service as lineage
from andon.registry import facts as registry_facts

LAYERS: tuple[tuple[str, ...], ...] = (
    ("dataset_version",),
    ("run",),
    ("model_version", "model"),
    ("evaluation",),
    ("gate_decision",),
    ("approval",),
    ("promotion",),
)
"""Columns of the drawing, left to right: the kinds each holds."""

NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 200, 46, 60, 18, 10


@dataclass(frozen=True, slots=True)
class Node:
    """One object of the graph, placed: its box's top-left corner and size."""

    id: str
    kind: str
    label: str
    x: int
    y: int
    root: bool
    width: int = NODE_WIDTH
    height: int = NODE_HEIGHT


@dataclass(frozen=True, slots=True)
class Link:
    """An edge, from the right side of ``src`` to the left side of ``dst``."""

    src: str
    dst: str
    relation: str
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass
class LineageView:
    """The placed graph around ``root`` and the size of its drawing."""

    root: str
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    width: int = 0
    height: int = 0


def _column(kind: str) -> int:
    for index, kinds in enumerate(LAYERS):
        if kind in kinds:
            return index
    return len(LAYERS)  # a kind added later: drawn last, not dropped


def layout(
    root: str, nodes: dict[str, str], labels: dict[str, str], edges: list[lineage.Edge]
) -> LineageView:
    """Place ``nodes`` (id -> kind) in one column per non-empty layer, sorted by label."""
    columns: dict[int, list[str]] = {}
    for node, kind in nodes.items():
        columns.setdefault(_column(kind), []).append(node)
    view = LineageView(root)
    where: dict[str, Node] = {}
    for position, column in enumerate(sorted(columns)):
        ids = sorted(columns[column], key=lambda i: (labels.get(i, i), i))
        for row, node in enumerate(ids):
            placed = Node(
                node,
                nodes[node],
                labels.get(node, node),
                MARGIN + position * (NODE_WIDTH + COLUMN_GAP),
                MARGIN + row * (NODE_HEIGHT + ROW_GAP),
                node == root,
            )
            where[node] = placed
            view.nodes.append(placed)
    for e in edges:
        a, b = where.get(e.src), where.get(e.dst)
        if a is None or b is None:
            continue
        view.links.append(
            Link(
                e.src,
                e.dst,
                e.relation,
                a.x + a.width,
                a.y + a.height // 2,
                b.x,
                b.y + b.height // 2,
            )
        )
    view.width = max((n.x + n.width for n in view.nodes), default=0) + MARGIN
    view.height = max((n.y + n.height for n in view.nodes), default=0) + MARGIN
    return view


def lineage_view(ctx: Context, obj: str) -> LineageView:
    """The graph around ``obj`` (an object id, or a model reference ``NAME@VERSION``), placed
    and labelled. Needs ``lineage.read`` (and ``model.read`` on the model a reference names)."""
    object_id = obj.strip()
    if "@" in object_id:
        from andon.registry import service as registry

        object_id = registry.get_version(ctx, object_id).id
    graph = lineage.graph(ctx, object_id)
    with ctx.db.read() as session:
        ids = list(graph.nodes)
        labels: dict[str, str] = {}
        labels.update(registry_facts.run_names(session, ids))
        labels.update(registry_facts.version_refs(session, ids))
        for vid, fact in dataset_version_facts(session, ids).items():
            labels[vid] = fact.dataset
    return layout(graph.root, graph.nodes, labels, graph.edges)
