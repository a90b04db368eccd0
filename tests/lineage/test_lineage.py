"""Lineage edges written with the changes that create them; graphs and OpenLineage export."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, NotFound
from andon.lineage import service as lineage
from andon.registry import service as registry
from tests.conftest import as_principal


@pytest.fixture
def line(admin: Context, tmp_path: Path) -> dict[str, str]:
    """dsv_A -> run1 -> fraud@1; dsv_A, dsv_B -> run2 -> fraud@2."""
    auth.create_team(admin, "fraud-ml")
    ids: dict[str, str] = {}
    for n, datasets in ((1, ["dsv_A"]), (2, ["dsv_A", "dsv_B"])):
        run = registry.create_run(admin, f"train-{n}", "fraud-ml")
        registry.log_to_run(admin, run.id, datasets=datasets)
        artifact = tmp_path / f"m{n}.bin"
        artifact.write_bytes(bytes([n]))
        version = registry.register_model(
            admin, "fraud", team="fraud-ml", artifact=artifact, run=run.id
        )
        registry.end_run(admin, run.id)
        ids[f"run{n}"], ids[f"mv{n}"] = run.id, version.id
    return ids


def test_upstream_downstream_and_both(admin: Context, line: dict[str, str]) -> None:
    up = lineage.graph(admin, line["mv2"], direction="upstream")
    assert up.nodes == {
        line["mv2"]: "model_version",
        line["run2"]: "run",
        "dsv_A": "dataset_version",
        "dsv_B": "dataset_version",
    }
    assert {(e.src, e.relation, e.dst) for e in up.edges} == {
        (line["run2"], "produced", line["mv2"]),
        ("dsv_A", "input", line["run2"]),
        ("dsv_B", "input", line["run2"]),
    }
    down = lineage.graph(admin, "dsv_A", direction="downstream")
    assert set(down.nodes) == {"dsv_A", line["run1"], line["run2"], line["mv1"], line["mv2"]}
    both = lineage.graph(admin, line["run1"])
    assert set(both.nodes) == {"dsv_A", line["run1"], line["mv1"]}


def test_tree_json_and_dot(admin: Context, line: dict[str, str]) -> None:
    g = lineage.graph(admin, line["mv1"], direction="upstream")
    assert g.to_tree().splitlines() == [
        f"{line['mv1']} (model_version)",
        f"  <- produced: {line['run1']} (run)",
        "    <- input: dsv_A (dataset_version)",
    ]
    doc = json.loads(json.dumps(g.as_dict()))
    assert doc["root"] == line["mv1"] and len(doc["edges"]) == 2
    assert {n["kind"] for n in doc["nodes"]} == {"model_version", "run", "dataset_version"}
    dot = g.to_dot()
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert f'"dsv_A" -> "{line["run1"]}" [label="input"];' in dot


def test_unknown_object_and_bad_direction(admin: Context, line: dict[str, str]) -> None:
    with pytest.raises(NotFound, match="no lineage"):
        lineage.graph(admin, "mv_nope")
    with pytest.raises(Invalid):
        lineage.graph(admin, line["mv1"], direction="sideways")  # type: ignore[arg-type]


def test_openlineage_run_events(admin: Context, line: dict[str, str]) -> None:
    events = lineage.openlineage_events(admin)
    # Per run a START and, as both ended, a COMPLETE with the same runId.
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "COMPLETE"]
    assert events[2]["run"]["runId"] == events[3]["run"]["runId"] != events[0]["run"]["runId"]
    assert events[2]["outputs"] == [] and events[2]["inputs"] == events[3]["inputs"]
    second = events[3]
    assert second["eventType"] == "COMPLETE"
    assert second["schemaURL"].startswith("https://openlineage.io/spec/")
    assert second["producer"] == lineage.PRODUCER
    assert uuid.UUID(second["run"]["runId"])  # OpenLineage run ids are UUIDs
    assert second["job"] == {"namespace": "andon/fraud-ml", "name": "train-2", "facets": {}}
    assert [i["name"] for i in second["inputs"]] == ["dsv_A", "dsv_B"]
    assert [o["name"] for o in second["outputs"]] == ["model/fraud@2"]
    assert second["eventTime"].endswith("+00:00")
    # The fields the RunEvent schema requires, and no others than it defines.
    assert {"eventTime", "producer", "schemaURL", "run", "job"} <= set(second)
    assert set(second) <= {
        "eventTime",
        "eventType",
        "producer",
        "schemaURL",
        "run",
        "job",
        "inputs",
        "outputs",
    }


def test_export_needs_a_global_reader(admin: Context, line: dict[str, str]) -> None:
    auth.create_principal(admin, "tina")
    auth.bind_role(admin, "tina", "viewer", scope="team", target="fraud-ml")
    tina = as_principal(admin, "tina")
    assert lineage.graph(tina, line["mv1"]).root == line["mv1"]
    with pytest.raises(Forbidden):
        lineage.openlineage_events(tina)
