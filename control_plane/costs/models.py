"""The cost ledger, budget alerts and Marketplace buyer links.

Quantities and costs are stored as integers (micro-units and nano-USD) so sums are exact on SQLite and
PostgreSQL alike: ``quantity = quantity_micros / 10**6``, ``cost_usd = cost_nano_usd / 10**9``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base


class CostLedgerEntry(Base):
    """Usage of one resource by one run, with its estimated cost at the configured rate (append-only)."""

    __tablename__ = "cost_ledger"
    __table_args__ = (
        UniqueConstraint("entry_key", name="uq_cost_ledger_entry_key"),
        Index("ix_cost_ledger_tenant_usage_at", "tenant_id", "usage_at"),
        {"info": {"tenant_owned": True}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"))
    entry_key: Mapped[str] = mapped_column(
        String(64)
    )  # sha256(tenant|run|source|resource): a re-record is a no-op
    run_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    quantity_micros: Mapped[int] = mapped_column(BigInteger)
    unit_cost_nano_usd: Mapped[int] = mapped_column(BigInteger)
    cost_nano_usd: Mapped[int] = mapped_column(BigInteger)
    usage_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class CostAlert(Base):
    """The month's estimated spend crossed ``threshold`` percent of the budget (raised once per month and level)."""

    __tablename__ = "cost_alerts"
    __table_args__ = {"info": {"tenant_owned": True}}  # noqa: RUF012 (SQLAlchemy declarative)

    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM (UTC)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    spent_nano_usd: Mapped[int] = mapped_column(BigInteger)
    budget_nano_usd: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str | None] = mapped_column(String(200))
    raised_at: Mapped[datetime]


class MarketplaceBuyer(Base):
    """A Marketplace buyer linked to a tenant; ``identity_key`` (product, account, license, customer id) is unique
    across all tenants, so a buyer can never be linked to two tenants, even under row-level security."""

    __tablename__ = "marketplace_buyers"
    __table_args__ = (Index("ix_marketplace_buyers_tenant", "tenant_id"), {"info": {"tenant_owned": True}})

    identity_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.id"))
    product_code: Mapped[str] = mapped_column(String(255))
    customer_aws_account_id: Mapped[str | None] = mapped_column(String(32))
    license_arn: Mapped[str | None] = mapped_column(String(400))
    customer_identifier: Mapped[str | None] = mapped_column(String(255))
    agreement_id: Mapped[str | None] = mapped_column(String(255))
    currency_code: Mapped[str] = mapped_column(String(8))
    rate_card: Mapped[dict[str, Any]]
    linked_at: Mapped[datetime]
