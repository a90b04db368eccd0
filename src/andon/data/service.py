"""The data domain's door: contracts, check runs, dataset versions.

Every state change checks its permission, writes its rows, then appends one audit entry (and
its outbox event) in the same transaction. The operations live by noun in
:mod:`~andon.data.contract_versions`, :mod:`~andon.data.check_runs` and
:mod:`~andon.data.dataset_versions`, and return the records of :mod:`~andon.data.records`;
this module re-exports them so callers keep one name, ``data``. Other domains read datasets
and versions through :mod:`andon.data.queries`.
"""

from __future__ import annotations

from andon.data.check_runs import check_history, run_checks
from andon.data.contract_versions import (
    apply_contract,
    apply_contract_text,
    list_contracts,
    show_contract,
)
from andon.data.dataset_versions import diff_versions, snapshot_dataset
from andon.data.reader import get_version, latest_version, read_version
from andon.data.records import (
    ContractVersionRecord,
    DatasetVersionRecord,
    HistoryRow,
    RunReport,
    VersionDiff,
)

__all__ = [
    "ContractVersionRecord",
    "DatasetVersionRecord",
    "HistoryRow",
    "RunReport",
    "VersionDiff",
    "apply_contract",
    "apply_contract_text",
    "check_history",
    "diff_versions",
    "get_version",
    "latest_version",
    "list_contracts",
    "read_version",
    "run_checks",
    "show_contract",
    "snapshot_dataset",
]
