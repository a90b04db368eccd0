"""Problems found in a contract: collected as ``path: reason`` lines, reported all at once."""

from __future__ import annotations

from typing import Any


class Problems:
    """Collects ``path: reason`` lines (the path spelled ``schema[0].properties[3].name``)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        """Record one problem at ``path``."""
        self.items.append(f"{path}: {reason}" if path else reason)


def one_of(value: Any, allowed: tuple[str, ...]) -> str:
    """The reason a value outside ``allowed`` is refused."""
    return f"{value!r} is not one of {', '.join(allowed)}"


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (a YAML ``true`` is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def text_field(
    doc: dict[str, Any], key: str, path: str, problems: Problems, *, required: bool
) -> str:
    """``doc[key]`` as text ("" when absent); a problem when it is required, empty or not a scalar."""
    value = doc.get(key)
    if value is None:
        if required:
            problems.add(f"{path}{key}", "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.add(f"{path}{key}", f"must be a string, not {type(value).__name__}")
        return ""
    if str(value).strip() == "":
        problems.add(f"{path}{key}", "must not be empty")
    return str(value)


def list_field(doc: dict[str, Any], key: str, path: str, problems: Problems) -> list[Any]:
    """``doc[key]`` as a list (empty when absent); a problem when it is not one."""
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(f"{path}{key}", f"must be a list, not {type(value).__name__}")
        return []
    return value
