"""Connectors: each tenant's linked-account role per AWS service, with the ExternalId the platform issued.

Tenant-owned like 0002's tables: on PostgreSQL owned by the owner role, FORCE'd row-level security with
0001's two policies, and least-privilege grants. The link itself (tenant, service, account, role, ExternalId)
is immutable; only the verification state moves, and a connector is disabled, never deleted.

Revision ID: 0004_connectors
Revises: 0002_approvals_costs
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from control_plane.db import APP_ROLE, OWNER_ROLE, PLATFORM_ROLE, UtcDateTime

revision = "0004_connectors"
down_revision = "0003_security_tokens_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(63), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("aws_account_id", sa.String(12), nullable=False),
        sa.Column("role_arn", sa.String(2048), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_verified_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
    )
    op.create_index("ix_connectors_tenant_service_status", "connectors", ["tenant_id", "service", "status"])
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()


def _postgres_security() -> None:
    """Ownership, FORCE'd row-level security with 0001's policies, and least-privilege grants."""
    op.execute(f"ALTER TABLE connectors OWNER TO {OWNER_ROLE}")
    op.execute("ALTER TABLE connectors ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE connectors FORCE ROW LEVEL SECURITY")
    predicate = "lakehouse_tenant_visible(tenant_id)"
    op.execute(
        f"CREATE POLICY app_tenant_scope ON connectors TO {APP_ROLE} USING ({predicate}) WITH CHECK ({predicate})"
    )
    op.execute(
        f"CREATE POLICY platform_scope ON connectors TO {PLATFORM_ROLE} USING (true) WITH CHECK (true)"
    )
    both = f"{APP_ROLE}, {PLATFORM_ROLE}"
    op.execute(f"GRANT SELECT, INSERT ON connectors TO {both}")
    op.execute(f"GRANT UPDATE (status, updated_at, last_verified_at, last_error) ON connectors TO {both}")


def downgrade() -> None:
    op.drop_table("connectors")
