"""Response bodies of the lineage endpoints; an edge is :class:`~andon.lineage.service.Edge`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from andon.lineage.service import Edge


class LineageNodeResponse(BaseModel):
    """One object of the graph (``Graph`` keeps its nodes as an id-to-kind mapping)."""

    id: str
    kind: str


class LineageGraphResponse(BaseModel):
    """The objects reachable from ``root`` and the edges between them.

    ``lineage.service.Graph`` with its nodes as a list of :class:`LineageNodeResponse`."""

    root: str
    direction: Literal["upstream", "downstream", "both"]
    nodes: list[LineageNodeResponse]
    edges: list[Edge]


class VersionCoverageResponse(BaseModel):
    """One production model version: the objects found for each link, and what is missing.

    ``lineage.coverage.VersionCoverage`` with its ``ref`` and ``complete`` properties as
    fields."""

    id: str
    model: str
    team: str
    version: int
    ref: str
    champion: bool = Field(description="The champion alias points at it now.")
    complete: bool
    links: dict[str, list[str]] = Field(description="Link kind to the ids found.")
    missing: list[str] = Field(description="Link kinds the chain lacks, in chain order.")


class LineageCoverageResponse(BaseModel):
    """The share of production model versions whose lineage chain is complete.

    ``lineage.coverage.Coverage`` with its ``share`` property and the chain's ``links`` as
    fields."""

    total: int
    complete: int
    share: float
    links: list[str]
    versions: list[VersionCoverageResponse]
