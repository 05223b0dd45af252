"""Request and response bodies of the approvals domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from control_plane.request_model import RequestModel
from lakehouse.tenancy import TENANT_ID_PATTERN

APPROVAL_ID_PATTERN = r"^apr-[a-f0-9]{24}$"
StatusName = Literal["pending", "approved", "rejected", "executing", "executed", "failed", "expired"]


class ApprovalSpec(RequestModel):
    """A request to perform a sensitive action; ``payload`` is bound to the approval by its SHA-256."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID_PATTERN, max_length=63)
    action: str = Field(
        min_length=1,
        max_length=64,
        description="partner_central.create_opportunity, "
        "partner_central.update_opportunity, partner_central.accept_invitation, "
        "partner_central.reject_invitation or marketplace.change_set.apply",
    )
    target: str | None = Field(
        None, max_length=400, description="What the action changes (default: from the payload)"
    )
    payload: dict[str, Any] = Field(description="The exact action input; see docs/approvals_and_costs.md")
    reason: str = Field(min_length=1, max_length=1000, description="Why (audited)")


class ApprovalOut(BaseModel):
    """An approval request as stored, with its effective status (``expired`` once past ``expires_at``)."""

    id: str
    tenant_id: str
    action: str
    target: str
    catalog: str | None
    payload: dict[str, Any]
    payload_sha256: str
    reason: str | None
    mode: str
    status: StatusName
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    attempts: int
    executed_at: datetime | None
    result: dict[str, Any] | None
    last_error: str | None


class PolicySpec(RequestModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["manual", "dry_run", "auto_sandbox"] = Field(
        description="manual: an approver decides; dry_run: execution validates and never sends; auto_sandbox: "
        "requests on the Sandbox catalog are approved by the system"
    )
    ttl_hours: float = Field(24.0, gt=0, le=24 * 90, description="How long an approval stays valid")


class PolicyOut(BaseModel):
    tenant_id: str
    mode: str
    ttl_hours: float
