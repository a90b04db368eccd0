"""Each domain reads another only through its doors: ``service`` (operations, and the
session-level writes every service shares, such as ``audit.service.record_change``),
``queries`` (reads for other domains), ``lights`` (its board hook) and ``facts`` (what gates
and cards read about it). Nothing reaches into a domain's other modules, so a domain can
rearrange them without breaking its neighbours.
"""

from __future__ import annotations

import grimp

DOMAINS = {"auth", "audit", "events", "board", "data", "lineage", "registry", "evaluate",
           "policy", "cards"}  # fmt: skip
DOORS = {"service", "queries", "lights", "facts"}


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def reach_ins(graph: grimp.ImportGraph) -> set[tuple[str, str]]:
    """(importer, imported) pairs where a domain imports another domain's inner module."""
    found = set()
    for importer in graph.modules:
        home = _domain(importer)
        if home is None:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            other = _domain(imported)
            if other is None or other == home:
                continue
            parts = imported.split(".")
            if len(parts) == 2 or parts[2] not in DOORS:
                found.add((importer, imported))
    return found


def test_domains_meet_only_at_their_doors() -> None:
    assert sorted(reach_ins(grimp.build_graph("andon"))) == []


def test_a_reach_in_is_caught() -> None:
    graph = grimp.ImportGraph()
    for module in ("andon.policy.promotion", "andon.registry.models", "andon.registry.service"):
        graph.add_module(module)
    graph.add_import(importer="andon.policy.promotion", imported="andon.registry.models")
    graph.add_import(importer="andon.policy.promotion", imported="andon.registry.service")
    assert reach_ins(graph) == {("andon.policy.promotion", "andon.registry.models")}
