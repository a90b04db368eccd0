"""The console's graph layout: one column per non-empty kind, upstream on the left."""

from __future__ import annotations

from andon.cards.graph import COLUMN_GAP, MARGIN, NODE_HEIGHT, NODE_WIDTH, layout
from andon.lineage.service import Edge


def test_layout_layers_by_kind_and_joins_sides() -> None:
    nodes = {
        "prm_1": "promotion",
        "mv_2": "model_version",
        "mv_1": "model_version",
        "dv_1": "dataset_version",
        "x_1": "future_kind",
    }
    edges = [
        Edge("dv_1", "dataset_version", "input", "mv_1", "model_version"),
        Edge("mv_1", "model_version", "input", "prm_1", "promotion"),
        Edge("mv_1", "model_version", "input", "gone", "run"),  # not drawn: no such node
    ]
    view = layout("mv_1", nodes, {"mv_1": "m@1", "mv_2": "m@2"}, edges)
    placed = {n.id: n for n in view.nodes}
    step = NODE_WIDTH + COLUMN_GAP
    # Empty layers (run, evaluation, ...) take no room; an unknown kind is drawn last.
    assert [placed[i].x for i in ("dv_1", "mv_1", "prm_1", "x_1")] == [
        MARGIN, MARGIN + step, MARGIN + 2 * step, MARGIN + 3 * step
    ]  # fmt: skip
    assert placed["mv_2"].y == placed["mv_1"].y + NODE_HEIGHT + 18  # sorted by label in a column
    assert placed["mv_1"].root and not placed["mv_2"].root and placed["mv_1"].label == "m@1"
    assert placed["dv_1"].label == "dv_1"  # no label: the id
    assert len(view.links) == 2
    first = view.links[0]
    assert (first.x1, first.x2) == (MARGIN + NODE_WIDTH, MARGIN + step)
    assert view.width == MARGIN + 3 * step + NODE_WIDTH + MARGIN
