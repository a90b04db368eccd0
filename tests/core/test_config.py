"""Settings come from ANDON_* variables, and a bad one is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.core.config import load_settings
from andon.core.errors import Invalid


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDON_HOME")
    cfg = load_settings()
    assert cfg.home == Path(".andon")
    assert cfg.host == "127.0.0.1"
    assert cfg.port == 8765
    assert cfg.resolved_database_url == f"sqlite:///{Path('.andon/andon.db').resolve()}"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANDON_PORT", "9000")
    monkeypatch.setenv("ANDON_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/x")
    cfg = load_settings()
    assert cfg.port == 9000
    assert cfg.resolved_database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ANDON_PORT", "eighty", "valid integer"),
        ("ANDON_PORT", "70000", "less than or equal to 65535"),
        ("ANDON_DATABASE_URL", "mysql://x", "must start with sqlite"),
        ("ANDON_HOST", "not a host", "not an IP address"),
        ("ANDON_LOG_LEVEL", "LOUD", "must be one of"),
        ("ANDON_PRINCIPAL", "", "at least 1 character"),
    ],
)
def test_invalid_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(Invalid) as info:
        load_settings()
    assert info.value.field == name
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
