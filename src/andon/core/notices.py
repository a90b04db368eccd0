"""One-line notices for the person at the door: a deprecated shape read, a default applied.

A service calls :func:`notify`; the door that runs it decides where the line goes. The CLI
prints each distinct notice once on stderr (``warning: ...``); with no door listening (the
REST server, a library caller) the notice goes to the ``andon`` logger at WARNING.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_SINK: ContextVar[Callable[[str], None] | None] = ContextVar("andon_notice_sink", default=None)


def notify(message: str) -> None:
    """Tell the person running this what they should know but need not act on now."""
    sink = _SINK.get()
    if sink is None:
        logging.getLogger("andon").warning("%s", message)
    else:
        sink(message)


@contextmanager
def listening(sink: Callable[[str], None]) -> Iterator[None]:
    """Send every notice raised inside the block to ``sink``."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)
