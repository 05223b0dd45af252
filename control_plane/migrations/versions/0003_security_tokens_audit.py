"""Token generations on API keys and a MAC algorithm per audit entry (keyed audit chain).

``api_keys.token_generation`` is carried in every token issued from a key; bumping it (or revoking the key)
invalidates the key's outstanding tokens. ``audit_log.alg`` says how an entry's ``hash`` was computed:
``sha256`` for entries written before this revision, ``hmac-sha256`` afterwards. Existing chains are not
rewritten (their plain hashes stay verifiable); at startup the API appends one keyed ``audit.chain_keyed``
entry to each chain whose head is still unkeyed, so the keyed link covers the whole earlier history.

Revision ID: 0003_security_tokens_audit
Revises: 0002_approvals_costs
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from control_plane.db import APP_ROLE, PLATFORM_ROLE

revision = "0003_security_tokens_audit"
down_revision = "0002_approvals_costs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("alg", sa.String(16), nullable=False, server_default="sha256"))
    if op.get_bind().dialect.name == "postgresql":
        both = f"{APP_ROLE}, {PLATFORM_ROLE}"
        op.execute(f"GRANT UPDATE (token_generation) ON api_keys TO {both}")


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("alg")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("token_generation")
