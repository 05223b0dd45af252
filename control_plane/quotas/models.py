"""Per-tenant quota limits (defaults come from the effective plan at provisioning)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
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
