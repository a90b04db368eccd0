"""The console is defined one way: a module per page under ``andon.web.pages``, each with a
``router``, all listed in ``andon.web.routes.PAGES``."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI

from andon.web import pages, routes


def test_every_page_module_is_in_the_route_table_once() -> None:
    modules = [
        importlib.import_module(f"{pages.__name__}.{info.name}")
        for info in pkgutil.iter_modules(pages.__path__)
    ]
    assert modules, "no page modules found"
    routers = [module.router for module in modules]
    assert sorted(map(id, routers)) == sorted(map(id, routes.PAGES))


def test_the_route_table_is_all_the_console_serves() -> None:
    app = FastAPI()
    routes.install(app)
    served = {
        (path, method)
        for route in app.routes
        if (path := getattr(route, "path", None)) and path != "/static"
        for method in getattr(route, "methods", ())
    }
    listed = {
        (route.path, method)
        for router in routes.PAGES
        for route in router.routes
        for method in getattr(route, "methods", ())
    }
    assert served == listed
    assert ("/", "GET") in served and ("/console/login", "POST") in served
    assert not any(
        getattr(r, "include_in_schema", False) for router in routes.PAGES for r in router.routes
    )
