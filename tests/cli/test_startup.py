"""What a command imports before it answers: only what it uses (every process pays for the rest).

Each case runs the CLI's ``main`` in a fresh interpreter on a real home and reads
``sys.modules`` afterwards. A library or command module that comes back onto a command's path
fails here, whatever the machine's speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.core import TyperCommand
from typer.main import get_command

from andon.cli.lazy_groups import LazyCommands
from andon.cli.main import GROUPS, app
from tests.cli.conftest import Run

NO_COMMAND_NEEDS = {
    "fastapi", "uvicorn", "starlette", "httpx", "aiohttp", "jinja2", "pandas", "ibis",
    "sqlglot", "sklearn", "onnxruntime", "alembic", "celpy",
}  # fmt: skip
PROBE = """
import json, sys
from andon.cli.main import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def _loaded(env: dict[str, str], tmp_path: Path, *args: str) -> set[str]:
    """The modules loaded once ``andon ARGS`` is done."""
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.exists(), proc.stderr
    return set(json.loads(out.read_text()))


def _packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _cli_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("andon.cli.")}


SHELL = {"andon.cli.main", "andon.cli._shared", "andon.cli.lazy_groups"}


@pytest.fixture
def home(run: Run) -> None:
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0


def test_help_builds_no_store_and_no_engine(andon_env: dict[str, str], tmp_path: Path) -> None:
    for args in (["--help"], ["team", "--help"], ["telemetry", "query", "--help"]):
        heavy = {"sqlalchemy", "numpy", "pyarrow", "duckdb", "yaml"} | NO_COMMAND_NEEDS
        assert _packages(_loaded(andon_env, tmp_path, *args)) & heavy == set(), args


@pytest.mark.usefixtures("home")
def test_team_list_imports_the_store_and_the_team_commands_alone(
    andon_env: dict[str, str], tmp_path: Path
) -> None:
    loaded = _loaded(andon_env, tmp_path, "team", "list")
    assert "sqlalchemy" in _packages(loaded)  # the probe ran the command
    assert _packages(loaded) & ({"numpy", "pyarrow", "duckdb", "yaml"} | NO_COMMAND_NEEDS) == set()
    assert _cli_modules(loaded) == SHELL | {"andon.cli.teams"}


@pytest.mark.usefixtures("home")
def test_check_run_needs_neither_numpy_nor_arrow(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    sample = tmp_path / "sample"
    assert run("data", "sample", "--out", str(sample)).returncode == 0
    contract = str(sample / "orders.odcs.yaml")
    assert run("contract", "apply", contract, "--team", "fraud-ml").returncode == 0
    loaded = _loaded(andon_env, tmp_path, "check", "run", contract)
    assert "duckdb" in _packages(loaded)
    assert _packages(loaded) & ({"numpy", "pyarrow"} | NO_COMMAND_NEEDS) == set()
    assert _cli_modules(loaded) == SHELL | {"andon.cli.data"}


@pytest.mark.usefixtures("home")
def test_telemetry_query_leaves_arrow_compute_to_intake(
    andon_env: dict[str, str], tmp_path: Path
) -> None:
    loaded = _loaded(andon_env, tmp_path, "telemetry", "query", "select count(*) from spans")
    assert "pyarrow" in _packages(loaded)
    assert "pyarrow.compute" not in loaded
    assert _packages(loaded) & NO_COMMAND_NEEDS == set()
    assert _cli_modules(loaded) == SHELL | {"andon.cli.telemetry"}


def test_every_group_builds_in_help_order() -> None:
    root = get_command(app)
    names = list(root.commands)  # type: ignore[attr-defined]
    assert names[names.index("db") + 1 :] == list(GROUPS)
    for name in GROUPS:
        group = root.commands[name]  # type: ignore[attr-defined]
        assert group.name == name and group.commands, name


def test_lazy_commands_build_on_look_up_only() -> None:
    built: list[str] = []

    def later(name: str) -> Callable[[], TyperCommand]:
        def build() -> TyperCommand:
            built.append(name)
            return TyperCommand(name=f"group {name}")

        return build

    commands = LazyCommands(
        {"init": TyperCommand(name="init")}, {n: later(n) for n in ("team", "data")}
    )
    assert "team" in commands and "nope" not in commands and len(commands) == 3
    assert list(commands) == ["init", "team", "data"] and built == []
    data = commands.get("data")
    assert data is not None and data.name == "group data" and built == ["data"]
    assert commands["data"] is data and built == ["data"]  # built once
    assert list(commands) == ["init", "team", "data"]  # the order does not follow what ran
    with pytest.raises(KeyError):
        commands["nope"]
    del commands["team"]
    assert list(commands) == ["init", "data"]
