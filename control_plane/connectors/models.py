"""A tenant's link to an AWS account: the role the platform assumes for one service, and its ExternalId."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base

SERVICES = (
    "partner-central-selling",
    "marketplace-catalog",
    "marketplace-metering",
    "marketplace-agreement",
    "marketplace-entitlement",
)
# pending: registered, never verified; verified: the last AssumeRole with the ExternalId succeeded;
# failed: the last verification was refused; disabled: removed by the tenant (kept for the audit trail).
STATUSES = ("pending", "verified", "failed", "disabled")
ACTIVE_STATUSES = ("pending", "verified", "failed")


class Connector(Base):
    """One tenant's linked-account role for one AWS service; at most one is active per (tenant, service)."""

    __tablename__ = "connectors"
    __table_args__ = (
        Index("ix_connectors_tenant_service_status", "tenant_id", "service", "status"),
        {"info": {"tenant_owned": True}},
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"))
    service: Mapped[str] = mapped_column(String(64))
    aws_account_id: Mapped[str] = mapped_column(String(12))
    role_arn: Mapped[str] = mapped_column(String(2048))
    external_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    last_verified_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
