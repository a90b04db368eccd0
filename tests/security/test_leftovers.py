"""Nothing left behind (issue 20, items 7 and 8): what a killed process, a disguised pickle, a
team owner or a listing used to leave behind, each kept as a test on the real CLI, services
and HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

import andon
from andon.auth import service as auth
from andon.core.context import Context
from andon.registry import service as registry
from tests.cli.conftest import Run
from tests.conftest import as_principal
from tests.server import LOOPBACK_TIMEOUT, running_server


def _python(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh Python process with ``env`` (the CLI's environment)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --------------------------------------------------------------------------- snapshots


def _temp_files(artifacts: Path) -> list[Path]:
    """Every file under the artifact store that is not a stored artifact."""
    return sorted(
        p
        for p in artifacts.rglob("*")
        if p.is_file() and p.relative_to(artifacts).parts[0] != "sha256"
    )


def test_a_killed_snapshot_leaves_no_temporary_file_after_the_next_write(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    import duckdb

    from tests.cli.conftest import ANDON

    data = tmp_path / "data"
    data.mkdir()
    duckdb.connect().execute(
        "COPY (SELECT range AS id, random() AS score, repeat(md5(range::VARCHAR), 8) AS tag "
        f"FROM range(200000)) TO '{data / 'big.parquet'}' (FORMAT parquet)"
    )
    (data / "c.odcs.yaml").write_text(
        "apiVersion: v3.0.2\nkind: DataContract\nid: big\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: big, properties: [{name: id, logicalType: integer}, "
        "{name: score, logicalType: number}, {name: tag, logicalType: string}]}]\n"
    )
    for args in (
        ("init",),
        ("team", "create", "ml"),
        ("contract", "apply", str(data / "c.odcs.yaml"), "--team", "ml"),
    ):
        assert run(*args).returncode == 0, args
    artifacts = Path(andon_env["ANDON_HOME"]) / "artifacts"
    snapshot = subprocess.Popen(
        [ANDON, "data", "snapshot", "ml/big", "--materialize"],
        env=andon_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(
            lambda: any(p.suffix != ".lock" and p.stat().st_size for p in _temp_files(artifacts)),
            "the snapshot to start writing Parquet",
        )
    finally:
        snapshot.send_signal(signal.SIGKILL)
        snapshot.wait()
    assert snapshot.returncode == -signal.SIGKILL
    left = _temp_files(artifacts)
    assert any(p.suffix == ".parquet" or ".parquet" in p.name for p in left), left
    # a live writer, as slow as it likes, holds its scratch folder: no sweep may take it
    live = _python(
        f"""
        import time
        from pathlib import Path
        from andon.store.artifacts import ArtifactStore
        with ArtifactStore(Path({str(artifacts)!r})).scratch() as folder:
            (folder / "live.parquet").write_bytes(b"x" * 1000)
            print("ready", flush=True)
            time.sleep(120)
        """,
        andon_env,
    )
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "ready"
        # the next command, whatever it is, sweeps the killed one's files, not the live one's
        assert run("run", "list").returncode == 0
        remaining = _temp_files(artifacts)
        assert [p.name for p in remaining if p.suffix != ".lock"] == ["live.parquet"]
        assert not set(left) & set(remaining)
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
    assert run("team", "list").returncode == 0
    assert _temp_files(artifacts) == []
    # and a snapshot after all that still materializes
    assert run("data", "snapshot", "ml/big", "--materialize").returncode == 0
    assert _temp_files(artifacts) == []


# --------------------------------------------------------------------------- run list json


def test_run_list_json_carries_the_datasets_and_artifacts_run_show_has(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "ml").returncode == 0
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 10)
    proc = _python(
        f"""
        import andon
        with andon.start_run("with-both", team="ml") as r:
            r.use_dataset("dsv_01LISTED")
            r.use_dataset("dsv_02LISTED")
            r.log_artifact({str(weights)!r})
            r.log_params({{"C": 1}})
            r.log_metrics({{"f1": 0.5}})
        with andon.start_run("plain", team="ml"):
            pass
        """,
        andon_env,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    listed = json.loads(run("run", "list", "-f", "json").stdout)
    assert len(listed) == 2
    for entry in listed:
        shown = json.loads(run("run", "show", entry["id"], "-f", "json").stdout)
        assert entry == shown
    both = next(e for e in listed if e["name"] == "with-both")
    assert both["datasets"] == ["dsv_01LISTED", "dsv_02LISTED"]
    assert list(both["artifacts"]) == ["weights.bin"]
    filtered = json.loads(run("run", "list", "-w", "status = finished", "-f", "json").stdout)
    assert {e["name"]: e["datasets"] for e in filtered}["with-both"] == both["datasets"]


def test_the_rest_listing_of_runs_carries_datasets_and_artifacts(
    admin: Context, tmp_path: Path
) -> None:
    auth.create_team(admin, "ml")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    with andon.start_run("with-both", team="ml", ctx=admin) as r:
        r.use_dataset("dsv_01REST")
        r.log_artifact(weights)
    _, secret = auth.create_token(admin, "admin")
    with running_server(admin) as base:
        headers = {"Authorization": f"Bearer {secret}"}
        page = httpx.get(f"{base}/api/v1/runs", headers=headers, timeout=LOOPBACK_TIMEOUT).json()
        one = httpx.get(
            f"{base}/api/v1/runs/{r.id}", headers=headers, timeout=LOOPBACK_TIMEOUT
        ).json()
    (entry,) = page["items"]
    assert entry == one
    assert entry["datasets"] == ["dsv_01REST"] and list(entry["artifacts"]) == ["weights.bin"]


# --------------------------------------------------------------------------- pickle by content


class _Payload:
    """A class instance pickles with GLOBAL/REDUCE opcodes, like a real estimator."""

    def __init__(self) -> None:
        self.weights = [0.5] * 50
        self.name = "clf"


_JOBLIB: tuple[int | tuple[str, int], ...] = (3, ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3), 0)


def _joblib_label(compress: int | tuple[str, int]) -> str:
    return f"joblib-{compress[0] if isinstance(compress, tuple) else compress}"


def _disguised_pickles(folder: Path) -> dict[str, Path]:
    """Every protocol, joblib in each compressor, and hand-wrapped compressed pickles, none
    with a pickle-ish name."""
    import bz2
    import gzip
    import lzma
    import pickle
    import zlib

    import joblib

    files: dict[str, Path] = {}

    def put(label: str, name: str, data: bytes) -> None:
        path = folder / label / name
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        files[label] = path

    obj = {"model": _Payload(), "classes": [0, 1], "note": "x" * 20}
    for protocol in range(6):
        put(f"protocol-{protocol}", "model.bin", pickle.dumps(obj, protocol=protocol))
        put(f"protocol-{protocol}-list", "weights", pickle.dumps([1.5, 2, "a"], protocol))
    plain = pickle.dumps(obj, protocol=0)
    # pickle.load stops at STOP: bytes after it must not hide what comes before
    put("protocol-0-trailer", "model.bin", plain + bytes(range(256)) * 8)
    put("gzip", "weights.dat", gzip.compress(plain))
    put("bz2", "weights.dat", bz2.compress(plain))
    put("xz", "weights.dat", lzma.compress(plain))
    put("lzma-alone", "weights.dat", lzma.compress(plain, format=lzma.FORMAT_ALONE))
    put("zlib", "weights.dat", zlib.compress(plain))
    put("gzip-in-gzip", "weights.dat", gzip.compress(gzip.compress(pickle.dumps(obj, 1))))
    for compress in _JOBLIB:
        label = _joblib_label(compress)
        path = folder / label / "model.bin"
        path.parent.mkdir(parents=True)
        joblib.dump(obj, path, compress=compress)
        files[label] = path
    # a pickle bigger than the prefix read: protocol 0 has no PROTO opcode to give it away
    put("protocol-0-large", "big.bin", pickle.dumps(list(range(400_000)), protocol=0))
    return files


@pytest.fixture(scope="module")
def disguised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _disguised_pickles(tmp_path_factory.mktemp("disguised"))


DISGUISES = [
    *(f"protocol-{p}{s}" for p in range(6) for s in ("", "-list")),
    "protocol-0-large",
    "protocol-0-trailer",
    "gzip",
    "bz2",
    "xz",
    "lzma-alone",
    "zlib",
    "gzip-in-gzip",
    *(_joblib_label(c) for c in _JOBLIB),
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("label", DISGUISES)
def test_a_disguised_pickle_is_refused_without_trust(
    admin: Context, disguised: dict[str, Path], label: str
) -> None:
    from andon.core.errors import Forbidden, Invalid

    auth.create_team(admin, "ml")
    path = disguised[label]
    for declared in (None, "file", "onnx"):
        with pytest.raises(Invalid, match="pickle/joblib"):
            registry.register_model(admin, "m", team="ml", artifact=path, fmt=declared)
    auth.create_principal(admin, "carla")
    auth.bind_role(admin, "carla", "contributor", scope="team", target="ml")
    with pytest.raises(Forbidden, match=r"model\.trust_pickle"):
        registry.register_model(
            as_principal(admin, "carla"), "m", team="ml", artifact=path, trust_pickle=True
        )
    trusted = registry.register_model(admin, "m", team="ml", artifact=path, trust_pickle=True)
    assert trusted.format == "pickle" and trusted.trusted_pickle


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_safe_formats_and_plain_files_still_register(admin: Context, tmp_path: Path) -> None:
    import gzip

    import numpy as np
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    auth.create_team(admin, "ml")
    rng = np.random.default_rng(1)
    X = rng.random((40, 3)).astype(np.float32)
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int))
    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(to_onnx(model, X[:1], target_opset=17).SerializeToString())
    skops_path = tmp_path / "model.skops"
    sio.dump(model, skops_path)
    assert registry.register_model(admin, "o", team="ml", artifact=onnx_path).format == "onnx"
    assert registry.register_model(admin, "s", team="ml", artifact=skops_path).format == "skops"
    opaque = {
        "notes.txt": b"threshold: 0.5\nlabels: (a, b)\n",
        "table.csv": b"a,b,c\n1,2,3\n" * 100,
        "config.json": b'{"layers": [1, 2, 3], "name": "clf"}',
        "weights.f32": X.tobytes(),
        "noise.bin": os.urandom(1 << 16),
        "readme.gz": gzip.compress(b"I am not a pickle, only text that is gzipped.\n" * 50),
    }
    for name, data in opaque.items():
        path = tmp_path / name
        path.write_bytes(data)
        version = registry.register_model(admin, "f", team="ml", artifact=path)
        assert version.format == "file", name


# --------------------------------------------------------------------------- team ownership


def test_an_owner_cannot_hand_the_team_to_an_outsider(admin: Context) -> None:
    from andon.audit import service as audit
    from andon.core.errors import Forbidden

    for name in ("alice", "bob", "mallory"):
        auth.create_principal(admin, name)
    auth.create_team(admin, "ml", owners=["alice", "bob"])
    alice = as_principal(admin, "alice")
    before = len(audit.list_entries(admin, limit=1000))
    # the probe's sequence: an owner gives ownership to an outsider...
    with pytest.raises(Forbidden, match="'mallory' is not a member of it") as refused:
        auth.add_member(alice, "ml", "mallory", owner=True)
    assert "platform-admin" in str(refused.value)
    assert refused.value.details["hint"] and refused.value.details["action"] == "team.update"
    assert len(audit.list_entries(admin, limit=1000)) == before
    assert auth.get_team(admin, "ml").owners == ["alice", "bob"]
    # ...who would then have removed the original owners: mallory holds nothing in ml
    mallory = as_principal(admin, "mallory")
    for owner in ("alice", "bob"):
        with pytest.raises(Forbidden):
            auth.remove_member(mallory, "ml", owner)
    # a team-scoped platform-admin of another team is no platform-admin of this one
    auth.create_team(admin, "other")
    auth.create_principal(admin, "olga")
    auth.bind_role(admin, "olga", "platform-admin", scope="team", target="other")
    with pytest.raises(Forbidden):
        auth.add_member(as_principal(admin, "olga"), "ml", "mallory", owner=True)
    # a platform-admin may give the team to anyone, and an owner to a member
    auth.create_principal(admin, "paul")
    auth.bind_role(admin, "paul", "platform-admin", scope="team", target="ml")
    auth.add_member(as_principal(admin, "paul"), "ml", "mallory", owner=True)
    auth.create_principal(admin, "gil")
    auth.add_member(admin, "other", "gil", owner=True)  # a global platform-admin too
    auth.create_principal(admin, "dora")
    auth.add_member(alice, "ml", "dora")
    assert auth.add_member(alice, "ml", "dora", owner=True).owners == [
        "alice",
        "bob",
        "dora",
        "mallory",
    ]


# --------------------------------------------------------------------------- scoped bindings


def _object_in(action: str) -> tuple[str | None, str | None]:
    """The (team, asset) of an object the action applies to: asset A1 of team "home" unless
    the action acts on a team as a whole (then the team) or on the platform (then neither)."""
    from andon.core.permissions import GLOBAL_ONLY, TEAM_WIDE

    if action in GLOBAL_ONLY:
        return None, None
    if action in TEAM_WIDE:
        return "team_home", None
    return "team_home", "asset_a1"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_role_roles_lists_exactly_what_a_binding_at_each_scope_is_granted(
    admin: Context, run: Run
) -> None:
    """Walk the table ``andon role roles --scope`` prints: every role, scope and action, the
    real check (``Context.require``, ``require_somewhere``) grants exactly what it lists."""
    from dataclasses import replace

    from andon.core.context import Principal
    from andon.core.errors import Forbidden
    from andon.core.permissions import ACTIONS, ROLES, Grant

    someone = Principal("p_1", "someone", "user")
    for scope in ("global", "team", "asset"):
        listed = json.loads(run("role", "roles", "--scope", scope, "-f", "json").stdout)
        assert set(listed) == set(ROLES)
        target = {"global": None, "team": "team_home", "asset": "asset_a1"}[scope]
        for role in ROLES:
            ctx = replace(admin, principal=someone, grants=(Grant(role, scope, target),))  # type: ignore[arg-type]
            for action in sorted(ACTIONS):
                team_id, asset_id = _object_in(action)
                allowed = action in listed[role]
                assert ctx.can(action, team_id=team_id, asset_id=asset_id) is allowed, (
                    role,
                    scope,
                    action,
                )
                if allowed:
                    ctx.require(action, team_id=team_id, asset_id=asset_id)
                    ctx.require_somewhere(action)
                else:
                    with pytest.raises(Forbidden):
                        ctx.require(action, team_id=team_id, asset_id=asset_id)
                    with pytest.raises(Forbidden):
                        ctx.require_somewhere(action)
    assert "audit.verify" not in listed["risk-owner"]  # the listing says what the check does


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_team_risk_owner_is_told_audit_verify_takes_a_global_binding(
    admin: Context, run: Run
) -> None:
    from andon.audit import service as audit
    from andon.core.errors import Forbidden

    auth.create_team(admin, "ml")
    auth.create_principal(admin, "rita")
    binding = auth.bind_role(admin, "rita", "risk-owner", scope="team", target="ml")
    with pytest.raises(Forbidden, match=r"audit\.verify") as refused:
        audit.verify(as_principal(admin, "rita"))
    assert "only a global binding grants it" in refused.value.details["hint"]
    team_listing = json.loads(run("role", "roles", "--scope", "team", "-f", "json").stdout)
    global_listing = json.loads(run("role", "roles", "-f", "json").stdout)
    assert "audit.verify" not in team_listing["risk-owner"]
    assert "audit.verify" in global_listing["risk-owner"]
    assert "only a global binding grants" in run("role", "roles", "--scope", "team").stdout.lower()
    auth.unbind_role(admin, binding.id)
    auth.bind_role(admin, "rita", "risk-owner")
    assert audit.verify(as_principal(admin, "rita")).ok


# --------------------------------------------------------------------------- run leases


def test_a_run_without_a_heartbeat_past_its_lease_ends_killed_by_the_system(
    admin: Context,
) -> None:
    from andon.audit import service as audit
    from andon.core.clock import FrozenClock
    from andon.registry import leases

    clock = admin.clock
    assert isinstance(clock, FrozenClock)
    auth.create_team(admin, "ml")
    dead = registry.create_run(admin, "dead", "ml")
    alive = registry.create_run(admin, "alive", "ml")
    clock.advance(seconds=40)
    assert leases.heartbeat(admin, alive.id)
    clock.advance(seconds=21)  # dead: 61 s without a beat, past the 60 s lease; alive: 21 s
    found_at = clock.now()
    listed = {run.id: run for run in registry.list_runs(admin)}
    assert listed[dead.id].status == "killed" and listed[dead.id].ended_at == found_at
    assert "no heartbeat since 2026-11-23T08:00:00+00:00" in listed[dead.id].error
    assert listed[alive.id].status == "running" and listed[alive.id].ended_at is None
    (entry,) = [e for e in audit.list_entries(admin) if e.action == "run.end"]
    assert (entry.actor, entry.object_id, entry.reason) == ("system", dead.id, "lease expired")
    assert entry.change["status"] == "killed"
    assert leases.heartbeat(admin, dead.id) is False  # a late beat does not revive it
    clock.advance(seconds=60)  # alive stops beating too: the next read of it ends it
    assert registry.get_run(admin, alive.id).status == "killed"
    assert leases.reap_expired(admin) == []  # once
    assert len([e for e in audit.list_entries(admin) if e.action == "run.end"]) == 2
    assert admin.settings.run_lease_seconds == 60


def test_a_sigkilled_run_shows_killed_after_its_lease_and_a_live_one_keeps_running(
    run: Run, andon_env: dict[str, str]
) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "ml").returncode == 0
    env = {**andon_env, "ANDON_RUN_LEASE_SECONDS": "4"}
    script = """
        import time
        import andon
        with andon.start_run("{name}", team="ml") as r:
            print(r.id, flush=True)
            time.sleep(120)
        """
    doomed = _python(script.replace("{name}", "doomed"), env)
    live = _python(script.replace("{name}", "live"), env)
    try:
        assert doomed.stdout is not None and live.stdout is not None
        doomed_id, live_id = doomed.stdout.readline().strip(), live.stdout.readline().strip()
        assert doomed_id.startswith("run_") and live_id.startswith("run_")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed_at = time.time()

        def statuses() -> dict[str, dict[str, object]]:
            listed = run("run", "list", "-f", "json", env=env)
            assert listed.returncode == 0, listed.stderr
            return {r["id"]: r for r in json.loads(listed.stdout)}

        _wait_for(lambda: statuses()[doomed_id]["status"] == "killed", "the lease to expire", 60)
        assert time.time() - killed_at > 3  # not before the lease was up
        now = statuses()
        assert now[doomed_id]["ended_at"] and "no heartbeat since" in str(now[doomed_id]["error"])
        assert now[live_id]["status"] == "running" and now[live_id]["ended_at"] is None
        shown = json.loads(run("run", "show", doomed_id, "-f", "json", env=env).stdout)
        assert shown["status"] == "killed" and shown["ended_at"] == now[doomed_id]["ended_at"]
    finally:
        for proc in (doomed, live):
            proc.kill()
            proc.wait()
