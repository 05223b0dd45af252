"""Users, API keys and tenant signing keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base


class User(Base):
    """A person (or workload identity) of a tenant, with one role there."""

    __tablename__ = "users"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiKey(Base):
    """An API key: only the SHA-256 of its secret is stored. ``tenant_id`` is NULL for platform keys."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant", "tenant_id"), {"info": {"tenant_owned": True}})

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(63), ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    replaced_by: Mapped[str | None] = mapped_column(String(32))
    token_generation: Mapped[int] = mapped_column(Integer, server_default="0", default=0)


class SigningKey(Base):
    """A tenant's token-signing key. The secret is derived (HMAC of the platform secret and the id), never stored."""

    __tablename__ = "signing_keys"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"))
    algorithm: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
