"""Response bodies of the audit domain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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


class VerifyOut(BaseModel):
    """``ok`` is false when any chain has an edited, reordered or deleted entry."""

    ok: bool
    chains: list[ChainReportOut]
