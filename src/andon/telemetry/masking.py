"""Masking a batch at intake: every value the catalog's classifiers see as personal data is
replaced before the batch is spooled (:mod:`andon.data.masking` finds and replaces it).

Attribute maps (span, resource, metric and log attributes) are masked key by key, so a team's
allow-list of attribute keys (``andon telemetry policy unmask``) keeps exactly those values;
free text (span names, status messages, log bodies, span events and links) is masked whole.
"""

from __future__ import annotations

import pyarrow as pa

from andon.data.queries import MaskPolicy, mask_json, mask_text

_OBJECTS = ("attributes", "resource")
_TEXTS = ("name", "status_message", "body", "events", "links")


def mask_table(table: pa.Table, unmasked: frozenset[str]) -> tuple[pa.Table, int]:
    """``table`` with its personal data masked, and how many values were masked."""
    policy = MaskPolicy(allow=unmasked)
    total = 0
    for name in (*_OBJECTS, *_TEXTS):
        if name not in table.column_names or table.num_rows == 0:
            continue
        values = table.column(name).to_pylist()
        changed = False
        for i, value in enumerate(values):
            if not value:
                continue
            masked, counts = mask_json(value, policy) if name in _OBJECTS else mask_text(value)
            if counts:
                values[i] = masked
                total += sum(counts.values())
                changed = True
        if changed:
            index = table.schema.get_field_index(name)
            table = table.set_column(
                index, table.schema.field(index), pa.array(values, pa.string())
            )
    return table, total
