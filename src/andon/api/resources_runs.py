"""Response bodies of the run endpoints; a run itself is :class:`~andon.registry.records.RunRecord`."""

from __future__ import annotations

from pydantic import BaseModel

from andon.api.resources import Page
from andon.registry.records import RunRecord


class MetricPointResponse(BaseModel):
    """One logged value of a metric."""

    step: int
    value: float


class MetricHistoryResponse(BaseModel):
    """Every value logged for one metric of a run, by step (the route assembles it from the
    service's ``(step, value)`` pairs)."""

    run_id: str
    key: str
    points: list[MetricPointResponse]


class RunPage(Page[RunRecord]):
    """A page of runs."""
