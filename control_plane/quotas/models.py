"""Per-tenant quota limits (defaults come from the effective plan at provisioning) and quota reservations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base


class Quota(Base):
    """The limit of one resource for one tenant."""

    __tablename__ = "quotas"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[float] = mapped_column("limit_value", Float)
    source: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]


class QuotaReservation(Base):
    """A slot held by a running pipeline run, connector sync or Partner Central write (``active`` until released
    or until ``expires_at``, so a crashed run frees its slot after the lease)."""

    __tablename__ = "quota_reservations"
    __table_args__ = (
        Index("ix_quota_reservations_tenant_kind_status", "tenant_id", "kind", "status"),
        {"info": {"tenant_owned": True}},
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
