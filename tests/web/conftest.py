"""Browser fixtures: Debian's Chromium driven by Playwright against a real andon server.

Playwright's own browser download does not work offline, so the tests launch the system
Chromium (``make test`` installs it when absent) and skip, saying why, when it cannot start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.core.context import Context
from tests.server import running_server

if TYPE_CHECKING:  # playwright is an optional extra: imported where used, not at collection
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking switches Chromium stalls on a closed network (update checks,
# QUIC probes); --no-sandbox because the suite may run as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session (skips with the reason if impossible)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: `apt-get install chromium` (make test does this)")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a test dependency
        pytest.skip(f"playwright is not installed: {exc}")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
    except PlaywrightError as exc:
        playwright.stop()
        pytest.skip(f"Playwright cannot launch {CHROMIUM}: {exc.message.splitlines()[0]}")
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def backend() -> str:
    """The console tests exercise the pages, not the database: SQLite is enough."""
    return "sqlite"


@pytest.fixture
def server(admin: Context) -> Iterator[str]:
    """A real andon server on ``admin``'s database and frozen clock; yields its base URL."""
    with running_server(admin) as base:
        yield base


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page, failing on script or CSP errors."""
    context = browser.new_context(base_url=server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A 401/403 answer is logged as "Failed to load resource"; that is expected here.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    def on_page_error(error: Error) -> None:
        problems.append(f"uncaught: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        yield page
    finally:
        context.close()
    assert not problems, f"browser reported errors: {problems}"
