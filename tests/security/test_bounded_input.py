"""Bounded input: request bodies, JSON and YAML nesting and integer size, CEL nesting.

The probe sent a 400 MB authenticated body (the server went from 293 MB to 1,479 MB) and a
viewer's 200 MB body (to 848 MB); a contract nested 50,000 levels deep and a 100,000-digit
integer gave 500s; a deeply nested CEL gate gave "internal error". Bodies are tested against a
real ``andon serve`` process, whose memory the test reads from /proc.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from andon.auth import service as auth
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.policy import promotion
from andon.policy import service as policy
from andon.store.tables import policy as p
from tests.cli.conftest import ANDON, Run
from tests.policy.conftest import TEAM, Line, policy_yaml
from tests.server import free_port

LIMIT = 1024 * 1024
"""The server under test reads bodies of at most 1 MiB (the default is 4 MiB)."""


@dataclass
class Served:
    """A running ``andon serve`` process, an admin token for it, and its memory."""

    base: str
    port: int
    token: str
    process: subprocess.Popen[bytes]

    def rss_mb(self) -> float:
        """The server process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS in /proc status")

    def client(self) -> httpx.Client:
        """An admin client of the server."""
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``andon init`` then ``andon serve`` with a 1 MiB body limit, in its own process."""
    home = tmp_path_factory.mktemp("bounded") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
    env |= {"ANDON_HOME": str(home), "ANDON_MAX_BODY_BYTES": str(LIMIT)}
    subprocess.run([ANDON, "init"], env=env, check=True, capture_output=True, timeout=120)
    created = subprocess.run(
        [ANDON, "token", "create", "--format", "json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    port = free_port()
    process = subprocess.Popen(
        [ANDON, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("andon serve did not start")
            time.sleep(0.1)
        yield Served(base, port, json.loads(created.stdout)["token"], process)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _assert_413(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc: dict[str, object] = response.json()
    assert doc["status"] == 413
    assert doc["field"] == "body"
    assert doc["limit"] == LIMIT
    assert f"{LIMIT:,} bytes" in str(doc["detail"])
    return doc


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A JSON-looking body of ``total`` bytes, streamed (httpx sends it chunked)."""
    yield b'{"name": "x"'
    sent = 12
    while sent < total:
        piece = min(size, total - sent)
        yield b" " * piece
        sent += piece


def test_the_default_limit_is_a_few_megabytes() -> None:
    assert Settings().max_body_bytes == 4 * 1024 * 1024
    assert Settings(max_body_bytes=10_000).max_body_bytes == 10_000


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_sent(
    served: Served,
) -> None:
    """Only the headers go out: the 413 comes back without a byte of the body read."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /api/v1/teams HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {served.token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
            ).encode()
        )
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            raw += data
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert b"content-type: application/problem+json" in head.lower()
    doc = json.loads(body)
    assert doc["limit"] == LIMIT
    assert "declares 209,715,200 bytes" in doc["detail"]


def test_a_chunked_body_over_the_limit_is_refused(served: Served) -> None:
    with served.client() as client:
        response = client.post(
            "/api/v1/teams",
            content=_chunks(4 * LIMIT),
            headers={"Content-Type": "application/json"},
        )
        doc = _assert_413(response)
        assert "is larger than that" in str(doc["detail"])
        # The refused body created nothing.
        assert "x" not in [t["name"] for t in client.get("/api/v1/teams").json()["items"]]


def test_the_console_is_bounded_too(served: Served) -> None:
    response = httpx.post(
        f"{served.base}/console/login",
        content=_chunks(2 * LIMIT),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    _assert_413(response)


def test_a_body_under_the_limit_works(served: Served) -> None:
    padded = b'{"name": "under-limit"' + b" " * (LIMIT - 100) + b"}"
    assert len(padded) <= LIMIT
    with served.client() as client:
        response = client.post(
            "/api/v1/teams", content=padded, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 201, response.text
        # A streamed (chunked) body under the limit is read as well.
        response = client.post(
            "/api/v1/teams",
            content=_chunks(LIMIT // 2, size=4096),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text  # read in full: the JSON is cut


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_body_does_not_grow_the_server(served: Served, chunked: bool) -> None:
    """The probe's 200 MB body took the server up by ~650 MB; now it stays flat."""
    size = 200 * 1024 * 1024
    before = served.rss_mb()
    headers = {"Content-Type": "application/json"}
    if not chunked:
        headers["Content-Length"] = str(size)
    with served.client() as client:
        try:
            response = client.post("/api/v1/teams", content=_chunks(size, 1 << 20), headers=headers)
        except httpx.TransportError:  # the server closed the connection mid-send: refused
            response = None
        if response is not None:
            _assert_413(response)
    after = served.rss_mb()
    print(f"server RSS {before:.0f} MB -> {after:.0f} MB around a 200 MB body ({chunked=})")
    assert after - before < size / 4 / 1024 / 1024


# --------------------------------------------------------------------------- JSON and YAML

DEEP = 50_000
DIGITS = 100_000


def _contract(extra: str) -> str:
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: urn:bounded\nversion: 1.0.0\n"
        f"status: active\n{extra}\n"
    )


def test_json_bodies_nested_deep_or_with_huge_integers_are_a_named_400(served: Served) -> None:
    deep = '{"name": ' + "[" * DEEP + "]" * DEEP + "}"
    huge = '{"name": ' + "9" * DIGITS + "}"
    with served.client() as client:
        for body, says in ((deep, "nests too deeply"), (huge, "integer of more than 4,300")):
            response = client.post(
                "/api/v1/teams", content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 400, response.text
            assert response.headers["content-type"] == "application/problem+json"
            doc = response.json()
            assert doc["field"] == "body"
            assert says in doc["detail"], doc
        assert client.get("/healthz").status_code == 200


def test_yaml_contracts_over_rest_nested_deep_or_with_huge_integers_are_a_named_422(
    served: Served,
) -> None:
    with served.client() as client:
        assert client.post("/api/v1/teams", json={"name": "bounded"}).status_code == 201
        cases = (
            (_contract("customProperties: " + "[" * DEEP + "]" * DEEP), "nests deeper than 100"),
            (_contract("customProperties: {x: " + "{y: " * DEEP + "1" + "}" * (DEEP + 1)), "100"),
            (_contract("customProperties:\n  " + "- " * DEEP + "x"), "nests deeper than 100"),
            (_contract("quantity: " + "9" * DIGITS), "integer of 100,000 digits"),
        )
        for content, says in cases:
            response = client.post(
                "/api/v1/contracts", json={"team": "bounded", "content": content}
            )
            assert response.status_code == 422, response.text[:500]
            assert response.headers["content-type"] == "application/problem+json"
            assert says in response.json()["detail"], response.json()
        assert client.get("/api/v1/contracts").json()["items"] == []


@pytest.fixture
def cli_team(run: Run, tmp_path: Path) -> Path:
    """An initialised home with team ``bounded``; returns a folder for input files."""
    assert run("init").returncode == 0
    assert run("team", "create", "bounded").returncode == 0
    return tmp_path


def _refused(result: subprocess.CompletedProcess[str], says: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert says in lines[0], lines[0]


def test_cli_refuses_deep_and_huge_yaml_with_exit_2(run: Run, cli_team: Path) -> None:
    deep = "[" * DEEP + "]" * DEEP
    huge = "9" * DIGITS
    files = {
        "deep-contract.yaml": (_contract(f"customProperties: {deep}"), "nests deeper than 100"),
        "huge-contract.yaml": (_contract(f"quantity: {huge}"), "integer of 100,000 digits"),
        # A policy is at most 100,000 characters: as deep and as long as fits.
        "deep-policy.yaml": (f"team: bounded\ndescription: {deep[DEEP // 2 :]}", "deeper than 100"),
        "huge-policy.yaml": (f"team: bounded\ndescription: {huge[:90_000]}\n", "90,000 digits"),
        "deep-suite.yaml": (f"name: s\ndataset: {deep}\n", "nests deeper than 100"),
        "huge-suite.yaml": (f"name: s\ndataset: {huge}\n", "100,000 digits"),
    }
    for name, (text, _) in files.items():
        (cli_team / name).write_text(text)
    for name, (_, says) in files.items():
        path = str(cli_team / name)
        if "contract" in name:
            result = run("contract", "apply", path, "--team", "bounded")
        elif "policy" in name:
            result = run("policy", "apply", path)
        else:
            result = run("eval", "run", "fraud@1", "--suite", path)
        _refused(result, says)


# --------------------------------------------------------------------------- CEL gates


def _policy(gate: str) -> str:
    return f"team: bounded\nstages:\n  production:\n    gate: '{gate}'\n"


GATES = {
    "parentheses": ("(" * 1000 + "card.complete" + ")" * 1000, "clause 1 ((((("),
    "not": ("!" * 3000 + "card.complete", "clause 1 (!!!!!"),
    "minus": ("-" * 3000 + "1 > 0", "clause 1 (-----"),
    "or-chain": ("card.complete && (" + "||".join(["true"] * 600) + ")", "clause 2 ((true||"),
    "and-chain": ("&&".join(["true"] * 600), "600 clauses joined by &&; at most 64"),
}


def test_policy_apply_refuses_deeply_nested_gates_naming_the_clause(
    run: Run, cli_team: Path
) -> None:
    for name, (gate, says) in GATES.items():
        assert len(gate) <= 4000, name  # longer gates are refused by length already
        (cli_team / f"{name}.yaml").write_text(_policy(gate))
        result = run("policy", "apply", str(cli_team / f"{name}.yaml"))
        _refused(result, "stages.production.gate")
        assert says in result.stderr, result.stderr


def test_a_stored_policy_holding_a_deep_gate_is_refused_at_check_time(admin: Context) -> None:
    """A policy stored before the bound (here: its stored spec rewritten) fails cleanly when
    its gate is checked or a promotion evaluates it: Invalid naming the gate, not a 500."""
    auth.create_team(admin, TEAM)
    policy.apply_policy(admin, policy_yaml(gate="true", approvals=()))
    ref = Line(admin).model()
    deep = "(" * 1000 + "card.complete" + ")" * 1000
    with admin.db.transaction() as session:
        row = session.scalars(select(p.StagePolicy)).one()
        spec = copy.deepcopy(row.spec)
        spec["stages"]["production"]["gate"] = deep
        row.spec = spec
    for attempt in (
        lambda: policy.check_gate(admin, ref, "production"),
        lambda: promotion.promote(admin, ref, "production"),
    ):
        with pytest.raises(Invalid) as caught:
            attempt()
        assert caught.value.field == "stages.production.gate"
        assert "clause 1 (((((" in str(caught.value)
        assert "levels deep" in str(caught.value)
