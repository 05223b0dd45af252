"""Initial control-plane schema; on PostgreSQL also the roles, grants and row-level security policies.

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from control_plane.db import APP_ROLE, OWNER_ROLE, PLATFORM_ROLE, TENANT_SETTING, JsonType, UtcDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TENANT_OWNED = (
    "tenants",
    "users",
    "api_keys",
    "signing_keys",
    "quotas",
    "provisioning_steps",
    "audit_log",
    "audit_heads",
)
PLATFORM_OWNED = ("plans", "registry_modules")
_T = sa.String(63)


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quotas", JsonType, nullable=False),
        sa.Column("allowed_module_types", JsonType, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "registry_modules",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("module_type", sa.String(32), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("prerelease", sa.String(64), nullable=False),
        sa.Column("manifest", JsonType, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        _ts("published_at"),
        sa.Column("published_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "tenants",
        sa.Column("id", _T, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parent_id", _T, sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("path", sa.String(400), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=True),
        sa.Column("isolation_mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec_digest", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_tenants_parent", "tenants", ["parent_id"])
    op.create_table(
        "users",
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("expires_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.Column("revoked_reason", sa.String(500), nullable=True),
        sa.Column("replaced_by", sa.String(32), nullable=True),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant_id"])
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "quotas",
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("resource", sa.String(64), primary_key=True),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "provisioning_steps",
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("step", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", JsonType, nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(63), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(400), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("before_digest", sa.String(64), nullable=True),
        sa.Column("after_digest", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("chain", "seq", name="uq_audit_chain_seq"),
    )
    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(63), primary_key=True),
        sa.Column("tenant_id", _T, sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()


def _postgres_security() -> None:
    """Roles, ownership, least-privilege grants and FORCE'd row-level security on every tenant-owned table."""
    roles = {
        OWNER_ROLE: "NOLOGIN NOBYPASSRLS",
        APP_ROLE: "NOLOGIN NOBYPASSRLS",
        PLATFORM_ROLE: "NOLOGIN NOBYPASSRLS",
    }
    for role, attrs in roles.items():
        # Roles are cluster-wide: create once, tolerate a concurrent creator.
        op.execute(
            f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} {attrs};
              END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$;
            """
        )
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT pg_has_role(current_user, '{OWNER_ROLE}', 'MEMBER') THEN
            EXECUTE format('GRANT {OWNER_ROLE} TO %I', current_user);
          END IF;
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}, {PLATFORM_ROLE}', current_schema());
        END $$;
        """
    )
    visible = f"""
        CREATE OR REPLACE FUNCTION lakehouse_tenant_visible(tid text) RETURNS boolean
        LANGUAGE sql STABLE AS $fn$
          SELECT tid = current_setting('{TENANT_SETTING}', true)
              OR EXISTS (SELECT 1 FROM tenants t WHERE t.id = tid
                         AND strpos(t.path, '/' || current_setting('{TENANT_SETTING}', true) || '/') > 0)
        $fn$
    """
    op.execute(visible)
    op.execute(f"ALTER FUNCTION lakehouse_tenant_visible(text) OWNER TO {OWNER_ROLE}")

    for table in (*TENANT_OWNED, *PLATFORM_OWNED):
        op.execute(f"ALTER TABLE {table} OWNER TO {OWNER_ROLE}")
    for table in TENANT_OWNED:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        if table == "tenants":
            predicate = f"strpos(path, '/' || current_setting('{TENANT_SETTING}', true) || '/') > 0"
        else:
            predicate = "lakehouse_tenant_visible(tenant_id)"
        op.execute(
            f"CREATE POLICY app_tenant_scope ON {table} TO {APP_ROLE} USING ({predicate}) WITH CHECK ({predicate})"
        )
        op.execute(
            f"CREATE POLICY platform_scope ON {table} TO {PLATFORM_ROLE} USING (true) WITH CHECK (true)"
        )

    both = f"{APP_ROLE}, {PLATFORM_ROLE}"
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE ON users, signing_keys, quotas, provisioning_steps, audit_heads TO {both}"
    )
    op.execute(f"GRANT SELECT, INSERT ON tenants, api_keys TO {both}")
    # The hierarchy (id, kind, parent, path) and a key's secret and scope are immutable even for the API.
    op.execute(f"GRANT UPDATE (name, plan_id, status, spec_digest, updated_at) ON tenants TO {both}")
    op.execute(f"GRANT UPDATE (revoked_at, revoked_reason, replaced_by) ON api_keys TO {both}")
    # Audit rows: insert and read only, never UPDATE or DELETE.
    op.execute(f"GRANT SELECT, INSERT ON audit_log TO {both}")
    op.execute(f"GRANT USAGE ON SEQUENCE audit_log_id_seq TO {both}")
    op.execute(f"GRANT SELECT ON plans, registry_modules TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON plans TO {PLATFORM_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON registry_modules TO {PLATFORM_ROLE}")


def downgrade() -> None:
    for table in (
        "audit_heads",
        "audit_log",
        "provisioning_steps",
        "quotas",
        "signing_keys",
        "api_keys",
        "users",
        "tenants",
        "registry_modules",
        "plans",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS lakehouse_tenant_visible(text)")
