"""The gateway's workers on a PostgreSQL store: serving, a cord, a revoked caller."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from andon.serve import service as serve
from tests.gateway.harness import Line, line
from tests.pg import PostgresServer

pytestmark = pytest.mark.postgres
ASK = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def pg(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    home = tmp_path_factory.mktemp("gateway-pg")
    with line(postgres.create_database(), home / "andon-home") as running:
        yield running


def test_serving_and_a_cord_on_postgresql(pg: Line) -> None:
    name = pg.llm(fallback="{content: paused}")
    assert (
        pg.client().chat.completions.create(model=name, messages=ASK).choices[0].message.content
        == "You said: hello"
    )
    serve.pull_endpoint_cord(pg.admin, name, reason="pg stop")
    pg.settle()
    assert (
        pg.client().chat.completions.create(model=name, messages=ASK).choices[0].message.content
        == "paused"
    )
    with pytest.raises(openai.APIStatusError) as stopped:
        pg.client().embeddings.create(model=name, input="x")
    assert stopped.value.status_code == 503
    serve.release_endpoint_cord(pg.admin, name, reason="back")
    pg.settle()
    assert pg.client().embeddings.create(model=name, input="x").data
