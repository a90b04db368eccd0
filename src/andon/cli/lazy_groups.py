"""Command groups built when a command line reaches them, not on every command.

Typer turns every registered sub-app into Click commands before it parses a word, and the
modules behind them must be imported first: for ``andon team list`` that was 17 modules and
about 110 commands, some 40 ms of every process. A :class:`LazyGroup` names its groups and
how to get each one's Typer app; it imports and builds a group when it is looked up. Help,
the docs and "did you mean" list every name; help and the docs then build every group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperGroup
from typer.main import get_group_from_info

if TYPE_CHECKING:
    from typer._click import Command


class LazyCommands(MutableMapping[str, "Command"]):
    """A group's commands: the ones built already, and groups built on their first look-up.

    Iteration keeps the built commands' order, then the lazy groups' order, whether or not a
    group was built yet (the order of help and the docs does not depend on what ran).
    """

    def __init__(
        self, built: MutableMapping[str, Command], later: Mapping[str, Callable[[], Command]]
    ) -> None:
        self._built = built
        self._later = dict(later)

    def __getitem__(self, name: str) -> Command:
        if name not in self._built and name in self._later:
            self._built[name] = self._later[name]()
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._later  # no build for a membership test

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._built.pop(name, None)
        self._later.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from (name for name in self._built if name not in self._later)
        yield from self._later

    def __len__(self) -> int:
        return sum(1 for _ in self)


class LazyGroup(TyperGroup):
    """A Typer group whose sub-groups (:attr:`groups`: name to a function returning the
    sub-app) are built on first use, with the settings this group's Typer app gives them."""

    groups: ClassVar[Mapping[str, Callable[[], typer.Typer]]] = {}
    pretty_exceptions_short: ClassVar[bool] = True
    """What the root Typer app passes to its sub-groups (``typer.Typer``'s default)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(
            self.commands, {name: self._builder(name, sub) for name, sub in self.groups.items()}
        )

    def _builder(self, name: str, sub_app: Callable[[], typer.Typer]) -> Callable[[], Command]:
        def build() -> Command:
            holder = typer.Typer()  # add_typer's own defaults for the group's settings
            holder.add_typer(sub_app(), name=name)
            return get_group_from_info(
                holder.registered_groups[0],
                pretty_exceptions_short=self.pretty_exceptions_short,
                rich_markup_mode=self.rich_markup_mode,
                suggest_commands=self.suggest_commands,
            )

        return build

    def list_commands(self, ctx: Any) -> list[str]:
        """Every name in order, without building a group (help builds them as it shows them)."""
        return list(self.commands)
