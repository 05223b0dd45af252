"""Tenant hierarchy, plans and provisioning steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base

TENANT_KINDS = ("enterprise", "org", "workspace")
PARENT_KIND = {"enterprise": None, "org": "enterprise", "workspace": "org"}
ISOLATION_MODES = ("pooled", "siloed")
TENANT_STATUSES = ("provisioning", "active", "failed")


class Plan(Base):
    """A commercial plan: default quotas and the module types a tenant may install (platform-owned)."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    quotas: Mapped[dict[str, Any]]
    allowed_module_types: Mapped[list[Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Tenant(Base):
    """A node of the hierarchy; ``path`` is ``/enterprise/org/workspace/`` and never changes."""

    __tablename__ = "tenants"
    __table_args__ = (Index("ix_tenants_parent", "parent_id"), {"info": {"tenant_owned": True}})

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(String(63), ForeignKey("tenants.id"))
    path: Mapped[str] = mapped_column(String(400), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("plans.id"))
    isolation_mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    spec_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    @property
    def enterprise_id(self) -> str:
        return self.path.strip("/").split("/")[0]

    @property
    def ancestors(self) -> list[str]:
        """Ids from the enterprise down to the parent."""
        return self.path.strip("/").split("/")[:-1]


class ProvisioningStep(Base):
    """One step of a tenant's provisioning; a failed provisioning resumes from the first step not done."""

    __tablename__ = "provisioning_steps"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    detail: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
