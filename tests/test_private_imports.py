"""No module imports another module's private names, nor aliases a public name as private.

``from andon.x import _name`` reaches into another module's internals; ``import name as _alias``
hides that a module depends on another's public name. Both break the seams between domains.
"""

from __future__ import annotations

import ast
from pathlib import Path

import andon

_SRC = Path(andon.__file__).parent

# Offenders tolerated for now: none are left. The test fails when an entry is gone, so the
# list only shrinks. (module path, imported name)
_ALLOWED: set[tuple[str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _offences(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if not node.module.startswith("andon"):
            continue
        for alias in node.names:
            shown = alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"
            if _private(alias.name) or (alias.asname and _private(alias.asname)):
                out.append(shown)
    return out


def test_no_module_imports_private_names_across_modules() -> None:
    found = {
        (path.relative_to(_SRC).as_posix(), shown)
        for path in sorted(_SRC.rglob("*.py"))
        for shown in _offences(path)
    }
    assert sorted(found - _ALLOWED) == []
    # The allow-list holds only offenders that still exist: it shrinks as they are fixed.
    assert sorted(_ALLOWED - found) == []


def test_the_check_catches_an_offence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from andon.registry.service import _artifacts\n"
        "from andon.store.lookups import team_by_name as _team\n"
        "from andon import __version__\n",
        encoding="utf-8",
    )
    assert _offences(bad) == ["_artifacts", "team_by_name as _team"]
