"""PostgreSQL enforces tenancy on the new tables itself: FORCE'd row-level security, and an insert-only ledger."""

from __future__ import annotations

import psycopg
import pytest

from control_plane.db import APP_ROLE, OWNER_ROLE
from lakehouse.guardrails import Usage
from tests.control_plane.conftest import make_tree

NEW_TABLES = [
    "approval_policies",
    "approval_requests",
    "cost_alerts",
    "cost_ledger",
    "marketplace_buyers",
    "quota_reservations",
]


def _as_app(conn: psycopg.Connection, tenant: str | None) -> None:
    conn.execute(
        "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)", (APP_ROLE, tenant or "")
    )


@pytest.mark.postgres
def test_the_new_tables_are_owned_by_the_owner_role_with_forced_row_level_security(pg_stack):
    with psycopg.connect(pg_stack.backend.admin_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) FROM pg_class c "
            "WHERE c.relkind = 'r' AND c.relname = ANY(%s) ORDER BY 1",
            (NEW_TABLES,),
        ).fetchall()
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(t, True, True, OWNER_ROLE) for t in NEW_TABLES]
        policies = conn.execute(
            "SELECT tablename, policyname FROM pg_policies WHERE tablename = ANY(%s) ORDER BY 1, 2",
            (NEW_TABLES,),
        ).fetchall()
        assert policies == [(t, p) for t in NEW_TABLES for p in ("app_tenant_scope", "platform_scope")]


@pytest.mark.postgres
def test_the_app_role_sees_no_ledger_reservation_or_approval_of_another_tenant_and_cannot_rewrite_the_ledger(
    pg_stack,
):
    from control_plane.costs.ledger import DbUsageRecorder
    from control_plane.quotas.gate import DbQuotaGate
    from tests.guardrails.test_approvals import _new

    db = pg_stack.app.state.cp.db
    a = make_tree(pg_stack.client, pg_stack.admin, levels=())
    b = make_tree(pg_stack.client, pg_stack.admin, levels=())
    for tree in (a, b):
        DbUsageRecorder(db).record(tree.workspace, "run-1", Usage(api_calls=3), usage_at=_now(), source="t")
        DbQuotaGate(db).reserve(tree.workspace, "pipeline_run", run_id="run-1")
        _new(db, tree.workspace)
    with psycopg.connect(pg_stack.backend.app_url) as conn:
        with conn.transaction():
            _as_app(conn, a.enterprise)  # A's enterprise covers A's workspace, never B's
            for table in ("cost_ledger", "quota_reservations", "approval_requests"):
                seen = {r[0] for r in conn.execute(f"SELECT DISTINCT tenant_id FROM {table}").fetchall()}
                assert a.workspace in seen and not seen & {b.enterprise, b.org, b.workspace}, table
        with conn.transaction():
            _as_app(conn, b.workspace)
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("UPDATE cost_ledger SET cost_nano_usd = 0 WHERE tenant_id = %s", (b.workspace,))
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("DELETE FROM cost_ledger WHERE tenant_id = %s", (b.workspace,))
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(
                    "UPDATE approval_requests SET payload = '{}' WHERE tenant_id = %s", (b.workspace,)
                )
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
                conn.transaction(),
            ):
                conn.execute(
                    "INSERT INTO quota_reservations VALUES ('rsv-x', %s, 'pipeline_run', 'r', 'active', "
                    "now(), now(), NULL)",
                    (a.workspace,),
                )


def _now():
    from control_plane.db import utcnow

    return utcnow()
