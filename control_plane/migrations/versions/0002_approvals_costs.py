"""Approvals, quota reservations, the cost ledger, budget alerts and Marketplace buyer links.

Every new table is tenant-owned: on PostgreSQL it is owned by the owner role, has FORCE'd row-level security
with the same two policies as 0001 (the app role sees its tenant subtree, the platform role everything) and
least-privilege grants (the ledger and alerts are insert-only, like the audit log).

Revision ID: 0002_approvals_costs
Revises: 0001_initial
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from control_plane.db import APP_ROLE, OWNER_ROLE, PLATFORM_ROLE, JsonType, UtcDateTime

revision = "0002_approvals_costs"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TENANT_OWNED = (
    "approval_policies",
    "approval_requests",
    "quota_reservations",
    "cost_ledger",
    "cost_alerts",
    "marketplace_buyers",
)
_T = sa.String(63)


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def _tenant(primary_key: bool = False) -> sa.Column[Any]:
    return sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), primary_key=primary_key, nullable=False)


def upgrade() -> None:
    op.create_table(
        "approval_policies",
        _tenant(primary_key=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(400), nullable=False),
        sa.Column("catalog", sa.String(16), nullable=True),
        sa.Column("payload", JsonType, nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        _ts("requested_at"),
        _ts("expires_at"),
        sa.Column("decided_by", sa.String(200), nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decision_reason", sa.String(1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("executing_by", sa.String(200), nullable=True),
        _ts("executing_since", nullable=True),
        _ts("executed_at", nullable=True),
        sa.Column("result", JsonType, nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
    )
    op.create_index("ix_approval_requests_tenant_status", "approval_requests", ["tenant_id", "status"])
    op.create_table(
        "quota_reservations",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("released_at", nullable=True),
    )
    op.create_index(
        "ix_quota_reservations_tenant_kind_status", "quota_reservations", ["tenant_id", "kind", "status"]
    )
    op.create_table(
        "cost_ledger",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("entry_key", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("quantity_micros", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_nano_usd", sa.BigInteger(), nullable=False),
        sa.Column("cost_nano_usd", sa.BigInteger(), nullable=False),
        _ts("usage_at"),
        _ts("recorded_at"),
        sa.UniqueConstraint("entry_key", name="uq_cost_ledger_entry_key"),
    )
    op.create_index("ix_cost_ledger_tenant_usage_at", "cost_ledger", ["tenant_id", "usage_at"])
    op.create_table(
        "cost_alerts",
        _tenant(primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("threshold", sa.Integer(), primary_key=True),
        sa.Column("spent_nano_usd", sa.BigInteger(), nullable=False),
        sa.Column("budget_nano_usd", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=True),
        _ts("raised_at"),
    )
    op.create_table(
        "marketplace_buyers",
        sa.Column("identity_key", sa.String(64), primary_key=True),
        _tenant(),
        sa.Column("product_code", sa.String(255), nullable=False),
        sa.Column("customer_aws_account_id", sa.String(32), nullable=True),
        sa.Column("license_arn", sa.String(400), nullable=True),
        sa.Column("customer_identifier", sa.String(255), nullable=True),
        sa.Column("agreement_id", sa.String(255), nullable=True),
        sa.Column("currency_code", sa.String(8), nullable=False),
        sa.Column("rate_card", JsonType, nullable=False),
        _ts("linked_at"),
    )
    op.create_index("ix_marketplace_buyers_tenant", "marketplace_buyers", ["tenant_id"])
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()


def _postgres_security() -> None:
    """Ownership, FORCE'd row-level security with 0001's policies, and least-privilege grants."""
    for table in TENANT_OWNED:
        op.execute(f"ALTER TABLE {table} OWNER TO {OWNER_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        predicate = "lakehouse_tenant_visible(tenant_id)"
        op.execute(
            f"CREATE POLICY app_tenant_scope ON {table} TO {APP_ROLE} USING ({predicate}) WITH CHECK ({predicate})"
        )
        op.execute(
            f"CREATE POLICY platform_scope ON {table} TO {PLATFORM_ROLE} USING (true) WITH CHECK (true)"
        )
    both = f"{APP_ROLE}, {PLATFORM_ROLE}"
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON approval_policies, quota_reservations TO {both}")
    op.execute(f"GRANT SELECT, INSERT ON approval_requests TO {both}")
    # What was requested, by whom, for which payload, is immutable; only the decision and execution move.
    op.execute(
        f"GRANT UPDATE (status, decided_by, decided_at, decision_reason, attempts, executing_by, "
        f"executing_since, executed_at, result, last_error) ON approval_requests TO {both}"
    )
    # The ledger, alerts and buyer links are append-only (like the audit log): no UPDATE, no DELETE.
    op.execute(f"GRANT SELECT, INSERT ON cost_ledger, cost_alerts, marketplace_buyers TO {both}")
    op.execute(f"GRANT USAGE ON SEQUENCE cost_ledger_id_seq TO {both}")


def downgrade() -> None:
    for table in (
        "marketplace_buyers",
        "cost_alerts",
        "cost_ledger",
        "quota_reservations",
        "approval_requests",
        "approval_policies",
    ):
        op.drop_table(table)
