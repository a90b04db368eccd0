"""A contract never chooses where the server sends its credentials (issue 20, item 2).

An attacker's listener is a real loopback TCP socket; contracts pointing at it are refused at
apply and it sees no connection. Credentials and URIs with passwords are refused and masked.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, NotFound
from andon.data import connections, service
from tests.conftest import as_principal
from tests.data.conftest import write_contract

SECRET = "hunter2-secret"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback listener on a random port; the list holds what each connection sent."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                con, _ = sock.accept()
            except OSError:
                continue
            with con:
                con.settimeout(1)
                try:
                    seen.append(con.recv(4096))
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1]), seen
    stop.set()
    thread.join(2)
    sock.close()


def _contract(server: str) -> str:
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: pg-orders\nversion: 1.0.0\nstatus: active\n"
        f"servers: [{server}]\n"
        "schema: [{name: orders, properties: [{name: id, logicalType: integer}]}]\n"
    )


@pytest.fixture
def shop(admin: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("ANDON_POSTGRES_PASSWORD", SECRET)
    auth.create_team(admin, "shop")
    connections.add_connection(
        admin, "warehouse", host="10.0.0.5", port=5432, database="shop", user="andon",
        password_env="ANDON_POSTGRES_PASSWORD",
    )  # fmt: skip
    return admin


@pytest.mark.parametrize(
    "server",
    [
        "{server: w, type: postgresql, host: 127.0.0.1, port: PORT, database: shop}",
        "{server: w, type: postgresql, host: 127.0.0.1, port: PORT, database: shop, "
        "customProperties: [{property: connection, value: warehouse}]}",
        "{server: w, type: postgresql, port: PORT, "
        "customProperties: [{property: connection, value: warehouse}]}",
        "{server: w, type: postgresql, host: 127.0.0.1, port: PORT, "
        "customProperties: [{property: connection, value: nosuch}]}",
    ],
    ids=["no-connection", "host-differs", "port-differs", "unknown-connection"],
)
def test_a_contract_pointing_at_the_attacker_is_refused_and_nothing_connects(
    shop: Context, tmp_path: Path, listener: tuple[int, list[bytes]], server: str
) -> None:
    port, seen = listener
    path = write_contract(tmp_path, _contract(server.replace("PORT", str(port))))
    with pytest.raises(Invalid) as caught:
        service.apply_contract(shop, path, "shop")
    assert "servers[0]" in str(caught.value)
    assert "connection" in str(caught.value)
    with pytest.raises((NotFound, Invalid)):  # not applied (or unparseable): nothing runs
        service.run_checks(shop, str(path))
    assert seen == []


@pytest.mark.parametrize("field", ["database", "host", "schema", "description"])
def test_a_uri_with_a_password_is_refused_and_masked(
    shop: Context, tmp_path: Path, field: str
) -> None:
    uri = f"postgresql://andon:{SECRET}@10.0.0.5/shop"
    server = (
        "{server: w, type: postgresql, customProperties: [{property: connection, "
        f"value: warehouse}}], {field}: '{uri}'}}"
    )
    path = write_contract(tmp_path, _contract(server))
    with pytest.raises(Invalid) as caught:
        service.apply_contract(shop, path, "shop")
    message = str(caught.value)
    assert SECRET not in message
    assert f"servers[0].{field}: holds a URI with a password" in message
    assert "andon:***@10.0.0.5" in message
    assert all(SECRET not in str(e.change) for e in audit.list_entries(shop))


@pytest.mark.parametrize("key", ["password", "passwordEnv", "userEnv"])
def test_credentials_in_a_server_are_refused(shop: Context, tmp_path: Path, key: str) -> None:
    server = (
        "{server: w, type: postgresql, customProperties: [{property: connection, "
        f"value: warehouse}}], {key}: {SECRET}}}"
    )
    with pytest.raises(Invalid) as caught:
        service.apply_contract(shop, write_contract(tmp_path, _contract(server)), "shop")
    assert f"servers[0].{key}: credentials do not belong in a contract" in str(caught.value)


def test_connections_are_audited_admin_only_and_never_show_a_secret(shop: Context) -> None:
    auth.create_principal(shop, "carol")
    auth.bind_role(shop, "carol", "contributor", scope="team", target="shop")
    carol = as_principal(shop, "carol")
    with pytest.raises(Forbidden):
        connections.add_connection(
            carol, "mine", host="127.0.0.1", database="d", user="u", password_env="X"
        )
    with pytest.raises(Forbidden):
        connections.remove_connection(carol, "warehouse")
    listed = connections.list_connections(carol)
    assert [(c.name, c.host, c.password_env) for c in listed] == [
        ("warehouse", "10.0.0.5", "ANDON_POSTGRES_PASSWORD")
    ]
    assert SECRET not in repr(listed)
    connections.remove_connection(shop, "warehouse", reason="moved")
    ops = [e.change.get("op") for e in audit.list_entries(shop) if e.action == "connection.manage"]
    assert sorted(ops) == ["add", "remove"]
    with pytest.raises(Invalid) as caught:
        connections.add_connection(
            shop, "bad", host="h", database=f"postgresql://u:{SECRET}@h/d", user="u",
            password_env="X",
        )  # fmt: skip
    assert SECRET not in str(caught.value)
