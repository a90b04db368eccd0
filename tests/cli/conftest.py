"""Run the real `andon` console script in a subprocess with a chosen environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ANDON = str(Path(sys.executable).with_name("andon"))
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def andon_env(tmp_path: Path) -> dict[str, str]:
    """A minimal environment for the CLI: its own ANDON_HOME, no inherited ANDON_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
    env["ANDON_HOME"] = str(tmp_path / "home")
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def run(andon_env: dict[str, str]) -> Run:
    """``run("team", "list", env={...})`` runs andon and returns the completed process."""

    def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ANDON, *args],
            env={**andon_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return _run
