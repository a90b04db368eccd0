"""The registry's door: runs, models, versions and aliases, re-exported from their modules.

Callers write ``from andon.registry import service as registry`` and call the operations here;
they live by noun: runs in :mod:`andon.registry.tracking`, models and versions in
:mod:`andon.registry.models`, alias moves in :mod:`andon.registry.aliases`. Each write checks
the permission, changes state, writes lineage edges, appends the audit entry and the outbox
event in one transaction. Runs belong to a team (``run.create`` / ``run.read`` at team scope);
models are assets of a team, so checks on an existing model pass its asset id and asset-scoped
role bindings apply. Model references are ``[team/]name[@version|@alias]``.
"""

from __future__ import annotations

from andon.registry.aliases import alias_version, move_alias, set_alias
from andon.registry.formats import load_onnx, load_skops, onnx_feature_names
from andon.registry.models import (
    get_model,
    get_version,
    list_models,
    load_model,
    register_model,
)
from andon.registry.queries import parse_ref
from andon.registry.tracking import (
    create_run,
    end_run,
    get_run,
    list_runs,
    log_to_run,
    metric_history,
    run_record,
)

__all__ = [
    "alias_version",
    "create_run",
    "end_run",
    "get_model",
    "get_run",
    "get_version",
    "list_models",
    "list_runs",
    "load_model",
    "load_onnx",
    "load_skops",
    "log_to_run",
    "metric_history",
    "move_alias",
    "onnx_feature_names",
    "parse_ref",
    "register_model",
    "run_record",
    "set_alias",
]
