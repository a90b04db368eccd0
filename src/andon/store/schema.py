"""Every table of the metadata store, gathered on one ``MetaData`` for Alembic and tests.

Each domain's tables live in their own ``andon.store.*_tables`` module on the shared ``Base``;
importing them here is what puts them in the schema.
"""

from __future__ import annotations

from andon.store import (
    catalog_tables,
    connection_tables,
    data_tables,
    evaluate_tables,
    policy_tables,
    registry_tables,
    root_tables,
    schema_change_tables,
    tables,
)
from andon.store.tables import Base

# Domain table modules register on Base.metadata when imported (one line each).
_MODULES = [
    tables,
    registry_tables,
    data_tables,
    evaluate_tables,
    policy_tables,
    catalog_tables,
    schema_change_tables,
    root_tables,
    connection_tables,
]

metadata = Base.metadata

__all__ = ["metadata"]
