"""Every table of the metadata store, gathered on one ``MetaData`` for Alembic and tests.

Each domain's tables live in their own ``andon.store.tables`` module on the shared ``Base``;
importing them here is what puts them in the schema.
"""

from __future__ import annotations

from andon.store.tables import (
    audit,
    auth,
    catalog,
    connections,
    data,
    evaluate,
    events,
    lineage,
    policy,
    registry,
    roots,
    schema_changes,
    serve,
    telemetry,
)
from andon.store.tables.base import Base

# Domain table modules register on Base.metadata when imported (one line each).
_MODULES = [auth, audit, events, registry, lineage, data, evaluate, policy, catalog,
            schema_changes, roots, connections, serve, telemetry]  # fmt: skip

metadata = Base.metadata

__all__ = ["metadata"]
