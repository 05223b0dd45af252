"""Response bodies of the audit domain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from control_plane.request_model import RequestModel


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    chain: str
    seq: int
    tenant_id: str | None
    at: str
    actor: str
    actor_role: str
    action: str
    resource: str
    reason: str | None
    request_id: str | None
    before_digest: str | None
    after_digest: str | None
    prev_hash: str
    hash: str


class ChainReportOut(BaseModel):
    chain: str
    entries: int
    ok: bool
    problems: list[str]


class AnchorStatusOut(BaseModel):
    """The newest anchor of the chain heads outside the database (None: anchoring is not configured)."""

    anchored_at: str | None
    ok: bool
    problem: str | None = None


class VerifyOut(BaseModel):
    """``ok`` is false when any chain has an edited, reordered or deleted entry, or the anchor is not genuine."""

    ok: bool
    chains: list[ChainReportOut]
    anchor: AnchorStatusOut | None = None


class AnchorOut(BaseModel):
    """An anchor just written: when, and how many chain heads it holds."""

    anchored_at: str
    chains: int


class DashboardViewSpec(RequestModel):
    """Why the caller looks at a tenant's data on the dashboards."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=1000, description="Why (default: dashboard tenant switch)")


class DashboardViewOut(BaseModel):
    """``recorded`` is false for a look at the caller's own tenant, which is not audited."""

    tenant_id: str
    recorded: bool
    action: str
    seq: int | None
