"""Services speak in their own fields: no error message or field names a CLI option or command.

The doors render a service error their own way: the CLI shows ``dataset_version`` as the
invoked command's ``--dataset-version`` and prints ``details["hint"]``; the API returns the
field and the hint as they are. A command to run belongs in the hint, never in the message.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import andon
from andon.core import errors

_SRC = Path(andon.__file__).parent
_DOORS = ("cli/",)
# A CLI option (--dataset-version) or a command to run (`andon db upgrade`, (andon ...)).
_CLI = re.compile(r"(?<![\w-])--[a-z][a-z-]*|`andon |\(andon [a-z]|\brun andon ")
_ERRORS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.AndonError)
}


def _texts(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    elif isinstance(node, ast.BinOp):
        yield from _texts(node.left)
        yield from _texts(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _texts(node.body)
        yield from _texts(node.orelse)


def _raised_names(tree: ast.Module) -> set[str]:
    """Error classes this module raises: andon's own and its local subclasses of them."""
    names = set(_ERRORS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Name) and b.id in names for b in node.bases
        ):
            names.add(node.name)
    return names


def offences(path: Path) -> list[str]:
    """``line: text`` for each error built in ``path`` whose message or field names the CLI."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    raised = _raised_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in raised:
            continue
        said = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "field"]
        found += [f"{node.lineno}: {t}" for a in said for t in _texts(a) if _CLI.search(t)]
    return found


def test_no_service_message_names_a_cli_option_or_command() -> None:
    found = {
        f"{path.relative_to(_SRC).as_posix()}:{line}"
        for path in sorted(_SRC.rglob("*.py"))
        if not path.relative_to(_SRC).as_posix().startswith(_DOORS)
        for line in offences(path)
    }
    assert sorted(found) == []


def test_the_check_catches_an_option_and_a_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from andon.core.errors import Invalid, NotFound\n"
        "class Mine(Invalid): ...\n"
        "raise Invalid('no file', field='--artifact')\n"
        "raise NotFound(f'no version of {x}: run `andon data snapshot`')\n"
        "raise Mine('give --team or --run')\n"
        "raise Invalid('fine', field='artifact', hint='run `andon data snapshot`')\n"
        "raise Invalid('the andon cord of model m is pulled')\n",
        encoding="utf-8",
    )
    assert [line.split(":")[0] for line in offences(bad)] == ["3", "4", "5"]
