"""The registry: safe formats, immutable versions, aliases, verified loads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound, TamperedArtifact
from andon.registry import service
from andon.store.tables import audit as t
from andon.store.tables import auth as auth_tables
from andon.store.tables import registry as r
from tests.conftest import as_principal


def _count(ctx: Context, table: type) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_onnx_version_records_digest_signature_run_and_datasets(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    run = service.create_run(admin, "train", team)
    service.log_to_run(admin, run.id, datasets=["dsv_A", "dsv_B"])
    v = service.register_model(admin, "fraud", team=team, artifact=model_files["onnx"], run=run.id)
    assert (v.model, v.version, v.format, v.run_id) == ("fraud", 1, "onnx", run.id)
    assert v.dataset_version_ids == ["dsv_A", "dsv_B"]
    assert v.signature["inputs"] == [{"name": "X", "type": "tensor(float)", "shape": [None, 3]}]
    assert [o["name"] for o in v.signature["outputs"]] == ["label", "probabilities"]
    session = service.load_model(admin, "fraud@1")
    import numpy as np

    label, proba = session.run(None, {"X": np.array([[0.9, 0.1, 0.1]], dtype=np.float32)})
    assert label.tolist() == [1] and proba.shape == (1, 2)
    model = service.get_model(admin, "fraud-ml/fraud")
    assert model.latest_version == 1 and model.versions[0].id == v.id
    with admin.db.read() as s:  # the model is an asset of its team
        asset = s.get(auth_tables.Asset, model.asset_id)
        assert asset is not None and (asset.kind, asset.name) == ("model", "fraud")
    events = [e.action for e in audit.list_entries(admin)]
    assert "model.register" in events


def test_skops_and_opaque_files(admin: Context, team: str, model_files: dict[str, Path]) -> None:
    sk = service.register_model(admin, "sk", team=team, artifact=model_files["skops"])
    assert sk.format == "skops" and sk.signature["classes"] == [0, 1]
    assert sk.signature["inputs"][0]["shape"] == [None, 3]
    estimator = service.load_model(admin, "sk@1")
    assert type(estimator).__name__ == "LogisticRegression"
    f = service.register_model(admin, "notes", team=team, artifact=model_files["file"])
    assert f.format == "file" and service.load_model(admin, "notes") == b"threshold: 0.5\n"
    with pytest.raises(Invalid, match="not a loadable ONNX"):
        service.register_model(admin, "x", team=team, artifact=model_files["file"], fmt="onnx")


@pytest.mark.parametrize("kind", ["pickle", "joblib"])
def test_pickle_is_refused_without_trust(
    admin: Context, team: str, model_files: dict[str, Path], kind: str
) -> None:
    before = _count(admin, r.ModelVersion), _count(admin, t.AuditEntry)
    for declared in (None, "file"):
        with pytest.raises(Invalid, match="pickle/joblib"):
            service.register_model(admin, "p", team=team, artifact=model_files[kind], fmt=declared)
    assert (_count(admin, r.ModelVersion), _count(admin, t.AuditEntry)) == before
    assert _count(admin, r.Model) == 0


def test_trusting_a_pickle_takes_a_platform_admin_and_is_audited(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    auth.create_principal(admin, "carla")
    auth.bind_role(admin, "carla", "contributor", scope="team", target=team)
    carla = as_principal(admin, "carla")
    with pytest.raises(Forbidden, match=r"model\.trust_pickle"):
        service.register_model(
            carla, "p", team=team, artifact=model_files["pickle"], trust_pickle=True
        )
    v = service.register_model(
        admin, "p", team=team, artifact=model_files["pickle"], trust_pickle=True, reason="legacy"
    )
    assert v.format == "pickle" and v.trusted_pickle
    assert service.load_model(admin, "p@1") == {"weights": [1, 2, 3]}
    (entry,) = [e for e in audit.list_entries(admin) if e.action == "model.trust_pickle"]
    assert entry.change["trusted_pickle"] is True and entry.change["format"] == "pickle"
    assert entry.reason == "legacy"


def test_tampered_artifact_fails_to_load(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    v = service.register_model(admin, "fraud", team=team, artifact=model_files["onnx"])
    stored = admin.settings.artifact_dir / "sha256" / v.digest[:2] / v.digest[2:]
    os.chmod(stored, 0o644)
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(TamperedArtifact, match="modified on disk"):
        service.load_model(admin, "fraud@1")
    stored.unlink()
    with pytest.raises(NotFound, match="missing"):
        service.load_model(admin, "fraud@1")


def test_unknown_models_versions_and_aliases(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    with pytest.raises(NotFound, match="no model named 'ghost'"):
        service.get_version(admin, "ghost@1")
    service.register_model(admin, "fraud", team=team, artifact=model_files["file"])
    with pytest.raises(NotFound, match="no version 7"):
        service.get_version(admin, "fraud@7")
    with pytest.raises(NotFound, match="no alias 'champion'"):
        service.load_model(admin, "fraud@champion")
    with pytest.raises(Invalid):
        service.get_version(admin, "fraud@Bad!")
    with pytest.raises(Invalid, match="NAME@VERSION"):
        service.set_alias(admin, "fraud", "champion")
    with pytest.raises(NotFound):
        service.register_model(admin, "fraud", team=team, artifact=Path("/nonexistent"))


def test_alias_moves_are_compare_and_swap_and_audited(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    for _ in range(3):
        service.register_model(admin, "fraud", team=team, artifact=model_files["file"])
    first = service.set_alias(admin, "fraud@1", "champion")
    assert (first.previous, first.version) == (None, 1)
    moved = service.set_alias(admin, "fraud@2", "champion", expect=1, reason="better f1")
    assert (moved.previous, moved.version) == (1, 2)
    with pytest.raises(Conflict, match="is at 2, not 1"):
        service.set_alias(admin, "fraud@3", "champion", expect=1)
    assert service.get_version(admin, "fraud@champion").version == 2
    assert service.get_model(admin, "fraud").aliases == {"champion": 2}
    moves = [e for e in audit.list_entries(admin) if e.action == "model.alias"]
    assert {(e.change["from"], e.change["to"]) for e in moves} == {(None, 1), (1, 2)}
    from andon.events import service as events

    types = [e.type for e in events.list_events(admin)]
    assert types.count("model.alias.moved") == 2


def test_concurrent_registrations_get_versions_one_to_eight(
    admin: Context, team: str, tmp_path: Path
) -> None:
    files = []
    for i in range(8):
        path = tmp_path / f"m{i}.bin"
        path.write_bytes(f"model {i}".encode())
        files.append(path)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def register(path: Path) -> None:
        try:
            barrier.wait()
            service.register_model(admin, "race", team=team, artifact=path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(p,)) for p in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    model = service.get_model(admin, "race")
    assert sorted(v.version for v in model.versions) == list(range(1, 9))
    assert len({v.digest for v in model.versions}) == 8
    assert model.latest_version == 8 and _count(admin, r.Model) == 1


def test_asset_scoped_binding_reaches_the_model(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    service.register_model(admin, "a", team=team, artifact=model_files["file"])
    service.register_model(admin, "b", team=team, artifact=model_files["file"])
    auth.create_principal(admin, "ana")
    asset = service.get_model(admin, "a").asset_id
    auth.bind_role(admin, "ana", "contributor", scope="asset", target=asset)
    ana = as_principal(admin, "ana")
    assert [m.name for m in service.list_models(ana)] == ["a"]
    service.set_alias(ana, "a@1", "champion")
    with pytest.raises(Forbidden):
        service.set_alias(ana, "b@1", "champion")
    service.register_model(ana, "a", team=team, artifact=model_files["skops"])
    assert service.get_version(ana, "a").version == 2


def _double(x: object) -> object:
    return x


@pytest.mark.parametrize("backend", ["sqlite"])
def test_skops_with_untrusted_types_needs_trust(admin: Context, team: str, tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "custom.skops"
    sio.dump(FunctionTransformer(func=_double), path)
    with pytest.raises(Invalid, match="does not trust"):
        service.register_model(admin, "custom", team=team, artifact=path)
    v = service.register_model(admin, "custom", team=team, artifact=path, trust_pickle=True)
    assert v.trusted_pickle and any("_double" in x for x in v.signature["trusted_types"])
    assert type(service.load_model(admin, "custom@1")).__name__ == "FunctionTransformer"


def test_concurrent_alias_moves_have_one_winner(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    for _ in range(3):
        service.register_model(admin, "fraud", team=team, artifact=model_files["file"])
    service.set_alias(admin, "fraud@1", "champion")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def move(version: int) -> None:
        barrier.wait()
        try:
            service.set_alias(admin, f"fraud@{version}", "champion", expect=1)
            outcomes.append("moved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=move, args=(2 + i % 2,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["moved"]
    moves = [e for e in audit.list_entries(admin) if e.action == "model.alias"]
    assert len(moves) == 2  # the first set and the one winning move
