"""One gateway (2 workers) over SQLite per module; PostgreSQL where a module asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.harness import Line, line


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    """A gateway with 2 workers on a SQLite store."""
    home = tmp_path_factory.mktemp("gateway")
    with line(f"sqlite:///{home / 'andon.db'}", home / "andon-home") as running:
        yield running
