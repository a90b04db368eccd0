"""Request bodies of the data endpoints (strict, unknown fields refused, like api.schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from andon.api.schemas import Body, ReasonBody

_CONTRACT_CHARS = 1_000_000


def _server() -> Any:
    return Field(
        None,
        min_length=1,
        max_length=200,
        description="Which of the contract's servers to read; default its first.",
    )


class ContractApplyBody(ReasonBody):
    team: str = Field(min_length=1, max_length=63, description="The team that owns the contract.")
    content: str = Field(
        min_length=1, max_length=_CONTRACT_CHARS, description="The ODCS v3 contract, as YAML text."
    )
    base_dir: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Absolute folder on the andon server that relative local server paths "
        "resolve against; required when the contract has such a path.",
    )


class DecisionBody(Body):
    reason: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"\S",
        description="Why; required, recorded in the audit log.",
    )


class CheckRunCreateBody(ReasonBody):
    server: str | None = _server()
    strict: bool = Field(
        False, description="Fail the run when anything the contract declares is not_checked."
    )


class SnapshotCreateBody(ReasonBody):
    server: str | None = _server()
    materialize: bool = Field(False, description="Also store a Parquet copy of the data.")


class ClassifyBody(ReasonBody):
    server: str | None = _server()
