"""Response bodies of the promotion endpoints that no record gives as it is.

Gate decisions, approval decisions and promotions are the policy domain's records
(:mod:`andon.policy.records`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from andon.api.resources import Page
from andon.policy.records import ApprovalRecord, PromotionRecord


class ApprovalRequestResponse(BaseModel):
    """A request for the approvals a stage requires, and the decisions on it so far.

    ``policy.records.RequestRecord`` with its ``missing_roles`` property as a field."""

    id: str
    model: str
    team: str
    version: int
    stage: str
    policy_version: int
    required_roles: list[str]
    missing_roles: list[str]
    status: Literal["pending", "approved", "rejected", "expired", "used"]
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    approvals: list[ApprovalRecord]


class ApprovalRequestPage(Page[ApprovalRequestResponse]):
    """A page of approval requests."""


class PromotionPage(Page[PromotionRecord]):
    """A page of promotions and rollbacks."""
