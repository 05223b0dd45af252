"""Audit entries and chain heads."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base

PLATFORM_CHAIN = "_platform"


class AuditEntry(Base):
    """Who did what, when, why, to which tenant; ``hash`` covers every other field and the previous hash."""

    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_chain_seq"),
        {"info": {"tenant_owned": True}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(63))
    seq: Mapped[int]
    tenant_id: Mapped[str | None] = mapped_column(String(63), ForeignKey("tenants.id"))
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(400))
    reason: Mapped[str | None] = mapped_column(String(1000))
    request_id: Mapped[str | None] = mapped_column(String(100))
    before_digest: Mapped[str | None] = mapped_column(String(64))
    after_digest: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    alg: Mapped[str] = mapped_column(String(16), server_default="sha256", default="hmac-sha256")


class AuditHead(Base):
    """The last entry of a chain: serialises appends and anchors the tail (a deleted last entry is detected)."""

    __tablename__ = "audit_heads"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    chain: Mapped[str] = mapped_column(String(63), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(63), ForeignKey("tenants.id"))
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
