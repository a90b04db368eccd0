"""The console is defined one way: a module per page under ``andon.web.pages``, each with a
``router``, all listed in ``andon.web.routes.PAGES``."""

from __future__ import annotations

import importlib
import pkgutil

import httpx

from andon.web import pages, routes
from tests.server import LOOPBACK_TIMEOUT


def test_every_page_module_is_in_the_route_table_once() -> None:
    modules = [
        importlib.import_module(f"{pages.__name__}.{info.name}")
        for info in pkgutil.iter_modules(pages.__path__)
    ]
    assert modules, "no page modules found"
    routers = [module.router for module in modules]
    assert sorted(map(id, routers)) == sorted(map(id, routes.PAGES))


def test_the_route_table_is_what_the_console_serves(server: str) -> None:
    listed = {
        (route.path, method)
        for router in routes.PAGES
        for route in router.routes
        for method in route.methods  # type: ignore[attr-defined]
        if method != "HEAD"
    }
    assert ("/", "GET") in listed and ("/console/login", "POST") in listed
    assert not any(r.include_in_schema for router in routes.PAGES for r in router.routes)  # type: ignore[attr-defined]
    with httpx.Client(base_url=server, timeout=LOOPBACK_TIMEOUT) as client:
        for path, method in sorted(listed):
            url = path.replace("{evaluation_id}", "ev_1").replace("{ref:path}", "m@1")
            # Signed out, a page sends the visitor to sign in (or refuses): never 404 or 405.
            answer = client.request(method, url, follow_redirects=False)
            assert answer.status_code not in (404, 405, 500), (method, path, answer.status_code)
        assert client.get("/console/nowhere").status_code == 404
