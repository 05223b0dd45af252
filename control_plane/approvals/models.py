"""Approval requests and each tenant's approval policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base

APPROVAL_MODES = ("manual", "dry_run", "auto_sandbox")
# pending -> approved | rejected; approved -> executing -> executed | failed (or back to approved: a retryable
# failure); expiry is computed from expires_at (a pending or approved request past it is reported "expired").
STATUSES = ("pending", "approved", "rejected", "executing", "executed", "failed")


class ApprovalPolicy(Base):
    """How a tenant's approval-gated actions are approved: ``manual`` (default), ``dry_run``, ``auto_sandbox``."""

    __tablename__ = "approval_policies"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    ttl_seconds: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class ApprovalRequest(Base):
    """One request to perform a sensitive action, bound to the SHA-256 of its exact payload."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approval_requests_tenant_status", "tenant_id", "status"),
        {"info": {"tenant_owned": True}},
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(400))
    catalog: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    payload_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(1000))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int]
    executing_by: Mapped[str | None] = mapped_column(String(200))
    executing_since: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
