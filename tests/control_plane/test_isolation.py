"""Tenant isolation: through every tenant-scoped route (both backends) and in PostgreSQL itself (RLS)."""

from __future__ import annotations

import re

import psycopg
import pytest

from control_plane.db import APP_ROLE, OWNER_ROLE, PLATFORM_ROLE
from tests.control_plane.conftest import APP_LOGIN_ROLE, create_key, make_tree, reasoned

# A valid body for every tenant-scoped operation that takes one; a new route without a sample fails the test.
BODIES = {
    ("PUT", "/tenants/{tenant_id}"): lambda b: {"kind": "workspace", "name": "Hijack", "parent_id": b.org},
    ("PUT", "/tenants/{tenant_id}/users/{user_id}"): lambda b: {
        "email": "x@example.com",
        "display_name": "X",
        "role": "viewer",
    },
    ("POST", "/tenants/{tenant_id}/api-keys"): lambda b: {"name": "x", "role": "viewer"},
    ("PUT", "/tenants/{tenant_id}/approval-policy"): lambda b: {"mode": "manual", "ttl_hours": 24},
    ("PUT", "/tenants/{tenant_id}/quotas"): lambda b: {"limits": {"concurrent_pipeline_runs": 5}},
    ("POST", "/tenants/{tenant_id}/audit/dashboard-views"): lambda b: {"reason": "isolation test"},
    ("POST", "/tenants/{tenant_id}/agents/{agent}/ask"): lambda b: {
        "question": "Which deals need attention?"
    },
    ("POST", "/tenants/{tenant_id}/connectors"): lambda b: {
        "service": "partner-central-selling",
        "aws_account_id": "123456789012",
        "role_arn": "arn:aws:iam::123456789012:role/Hijack",
        "verify": False,
    },
}
# A well-formed connector id for routes that name one (tests/control_plane/test_connectors.py checks that
# another tenant's real connector stays invisible).
CONNECTOR_ID = "con-" + "0" * 18
# Required query parameters besides tenant_id, for routes that take the tenant in the query.
QUERY_EXTRA = {"/entitlements/check": "&dimension=plan_pro"}


def _tenant_scoped_operations(app):
    """(method, path, operation) for every route that names a tenant in its path or query."""
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            params = {p["name"] for p in op.get("parameters", [])}
            if "tenant_id" in params:
                yield method.upper(), path, op


@pytest.fixture
def two_trees(client, admin):
    """Tenant trees A and B; B has a user and an extra key so that sub-resource ids exist."""
    a = make_tree(client, admin, levels=("enterprise", "workspace"))
    b = make_tree(client, admin, levels=("workspace",))
    user = client.put(
        f"/tenants/{b.workspace}/users/bob",
        json={"email": "b@example.com", "display_name": "B", "role": "analyst"},
        headers=admin,
    )
    assert user.status_code == 201
    b_key = create_key(client, admin, b.workspace, "viewer")["X-API-Key"].split(".")[2]
    return a, b, b_key


def _url(path: str, tenant: str, key_id: str) -> str:
    url = (
        path.replace("{tenant_id}", tenant)
        .replace("{user_id}", "bob")
        .replace("{key_id}", key_id)
        .replace("{connector_id}", CONNECTOR_ID)
        .replace("{agent}", "advisor")
        .replace("{name}", "opportunity_count")  # a metric (control_plane/metrics)
    )
    assert "{" not in url, url
    return url


def test_no_tenant_scoped_route_gives_tenant_a_anything_of_tenant_b(client, admin, app, two_trees):
    a, b, b_key = two_trees
    operations = list(_tenant_scoped_operations(app))
    assert len(operations) >= 13
    b_chain_before = client.get(f"/tenants/{b.workspace}/audit?limit=1000", headers=admin).json()
    token = client.post("/auth/token", json={}, headers=a.h("enterprise")).json()["access_token"]
    for caller in (a.h("enterprise"), a.h("workspace"), {"Authorization": f"Bearer {token}"}):
        for method, path, op in operations:
            in_query = "{tenant_id}" not in path
            url = (
                f"{path}?tenant_id={b.workspace}{QUERY_EXTRA.get(path, '')}"
                if in_query
                else _url(path, b.workspace, b_key)
            )
            body = None
            if "requestBody" in op:
                assert (method, path) in BODIES, f"add a sample body for {method} {path}"
                body = BODIES[(method, path)](b)
            resp = client.request(method, url, json=body, headers=reasoned(caller))
            assert resp.status_code in (403, 404), (method, url, resp.status_code, resp.text)
            # B's sub-resources through A's own tenant path: still nothing (a PUT there creates A's own user).
            if not in_query and method != "PUT" and ("{user_id}" in path or "{key_id}" in path):
                resp = client.request(
                    method, _url(path, a.workspace, b_key), json=body, headers=reasoned(caller)
                )
                assert resp.status_code in (403, 404), (method, path, "via own tenant", resp.status_code)
        listed = {t["id"] for t in client.get("/tenants?limit=500", headers=caller).json()}
        assert not listed & {b.enterprise, b.org, b.workspace}
    # Nothing of B changed, and B's own admin still reads what A was refused (the resources exist).
    assert client.get(f"/tenants/{b.workspace}/audit?limit=1000", headers=admin).json() == b_chain_before
    for method, path, _ in operations:
        if method == "GET":
            url = (
                f"{path}?tenant_id={b.workspace}{QUERY_EXTRA.get(path, '')}"
                if "{tenant_id}" not in path
                else _url(path, b.workspace, b_key)
            )
            assert client.get(url, headers=b.h("workspace")).status_code == 200, url


def test_a_tenant_id_that_exists_elsewhere_is_not_revealed(client, admin, two_trees):
    a, b, _ = two_trees
    resp = client.put(
        f"/tenants/{b.workspace}",
        json={"kind": "workspace", "name": "X", "parent_id": a.org},
        headers=a.h("enterprise"),
    )
    assert resp.status_code == 403 and resp.json()["detail"] == f"tenant id {b.workspace!r} is not available"


# --- PostgreSQL: the database enforces it ------------------------------------------------------------------

TENANT_OWNED = [
    "api_keys",
    "approval_policies",
    "approval_requests",
    "audit_heads",
    "audit_log",
    "connectors",
    "cost_alerts",
    "cost_ledger",
    "marketplace_buyers",
    "provisioning_steps",
    "quota_reservations",
    "quotas",
    "signing_keys",
    "tenants",
    "users",
]


def _tenant_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def test_every_table_with_a_tenant_column_is_marked_tenant_owned():
    from control_plane.models import Base

    owned = sorted(t.name for t in Base.metadata.tables.values() if t.info.get("tenant_owned"))
    with_tenant = sorted(
        t.name for t in Base.metadata.tables.values() if "tenant_id" in t.c or t.name == "tenants"
    )
    assert owned == with_tenant == TENANT_OWNED


@pytest.mark.postgres
def test_rls_is_enabled_and_forced_and_the_app_role_neither_owns_nor_bypasses(pg_stack):
    with psycopg.connect(pg_stack.backend.admin_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) "
            "FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
            "AND c.relname <> 'alembic_version' ORDER BY 1"
        ).fetchall()
        secured = sorted(r[0] for r in rows if r[1] and r[2])
        assert secured == TENANT_OWNED
        assert {r[3] for r in rows} == {OWNER_ROLE}
        roles = dict(
            conn.execute(
                "SELECT rolname, (rolsuper OR rolbypassrls) FROM pg_roles WHERE rolname = ANY(%s)",
                ([APP_ROLE, PLATFORM_ROLE, OWNER_ROLE, APP_LOGIN_ROLE],),
            ).fetchall()
        )
        assert roles == {APP_ROLE: False, PLATFORM_ROLE: False, OWNER_ROLE: False, APP_LOGIN_ROLE: False}
        policies = conn.execute(
            "SELECT tablename, policyname, roles::text[], qual FROM pg_policies WHERE policyname = 'app_tenant_scope'"
        ).fetchall()
        assert sorted(p[0] for p in policies) == TENANT_OWNED
        assert all(p[2] == [APP_ROLE] for p in policies)
        assert all("app.tenant_id" in p[3] or "lakehouse_tenant_visible" in p[3] for p in policies)
        # The API's login role owns nothing and is not a member of the owner role.
        assert (
            conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (APP_LOGIN_ROLE, OWNER_ROLE)).fetchone()[0]
            is False
        )


def _as_app(conn: psycopg.Connection, tenant: str | None):
    conn.execute(
        "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)", (APP_ROLE, tenant or "")
    )


@pytest.mark.postgres
def test_raw_sql_as_the_app_role_with_tenant_a_returns_no_row_of_b(pg_stack):
    client, admin = pg_stack.client, pg_stack.admin
    a = make_tree(client, admin, levels=("workspace",))
    b = make_tree(client, admin, levels=("workspace",))
    for tree in (a, b):
        client.put(
            f"/tenants/{tree.workspace}/users/u1",
            json={"email": "u@example.com", "display_name": "U", "role": "viewer"},
            headers=admin,
        )
    b_ids = [b.enterprise, b.org, b.workspace]
    a_ids = [a.enterprise, a.org, a.workspace]
    with psycopg.connect(pg_stack.backend.app_url) as conn:
        for tenant in (a.enterprise, a.workspace):
            with conn.transaction():
                _as_app(conn, tenant)
                for table in TENANT_OWNED:
                    col = _tenant_column(table)
                    leaked = conn.execute(
                        f"SELECT count(*) FROM {table} WHERE {col} = ANY(%s)", (b_ids,)
                    ).fetchone()[0]
                    assert leaked == 0, (tenant, table)
                    unfiltered = conn.execute(f"SELECT DISTINCT {col} FROM {table}").fetchall()
                    visible = a_ids[a_ids.index(tenant) :]
                    assert {r[0] for r in unfiltered} <= set(visible), (tenant, table)
                # Positive control: A's own rows are there.
                assert (
                    conn.execute(
                        "SELECT count(*) FROM users WHERE tenant_id = %s", (a.workspace,)
                    ).fetchone()[0]
                    == 1
                )
        with conn.transaction():  # no tenant set: nothing at all
            _as_app(conn, None)
            for table in TENANT_OWNED:
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        with conn.transaction():  # writes into B are refused by WITH CHECK
            _as_app(conn, a.enterprise)
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
                conn.transaction(),
            ):
                conn.execute(
                    "INSERT INTO users VALUES (%s, 'x', 'x@example.com', 'X', 'viewer', 'active', "
                    "now(), now())",
                    (b.workspace,),
                )
            updated = conn.execute(
                "UPDATE users SET display_name = 'pwned' WHERE tenant_id = %s", (b.workspace,)
            )
            assert updated.rowcount == 0


@pytest.mark.postgres
def test_a_pooled_connection_reused_after_tenant_a_carries_no_tenant_setting(pg_stack):
    from fastapi.testclient import TestClient

    from control_plane.app import create_app
    from tests.control_plane.conftest import make_settings

    tree = make_tree(pg_stack.client, pg_stack.admin, levels=("workspace",))
    app = create_app(make_settings(pg_stack.backend, auto_migrate=False, seed_registry=False, db_pool_size=1))
    engine = app.state.cp.db.engine
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        seen: list[tuple] = []

        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _watch(conn, cursor, statement, parameters, context, executemany):
            if "set_config" in statement:
                seen.append((conn.connection.dbapi_connection.info.backend_pid, parameters))

        resp = TestClient(app).get(f"/tenants/{tree.workspace}", headers=tree.h("workspace"))
        assert resp.status_code == 200
        assert seen and all(s[0] == pid for s in seen)  # the request ran on the one pooled connection
        assert seen[0][1][2] == tree.workspace
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT pg_backend_pid(), current_setting('app.tenant_id', true), current_user"
            ).one()
        assert row[0] == pid
        assert row[1] in (None, "")
        assert row[2] == APP_LOGIN_ROLE  # the role switch ended with the transaction too
    finally:
        app.state.cp.db.dispose()


@pytest.mark.postgres
def test_session_level_setting_would_leak_but_transaction_level_does_not(pg_stack):
    """Why set_config(..., true): the contrast, shown on one connection."""
    with psycopg.connect(pg_stack.backend.app_url, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.tenant_id', 'tenant-a', false)")  # session-level: leaks
        assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()[0] == "tenant-a"
        conn.execute("RESET app.tenant_id")
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', 'tenant-a', true)")
        assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()[0] in (None, "")


def test_bodies_cover_exactly_the_tenant_scoped_operations_with_a_body(app):
    with_body = {(m, p) for m, p, op in _tenant_scoped_operations(app) if "requestBody" in op}
    assert with_body == set(BODIES)
    assert all(re.match(r"^/tenants/\{tenant_id\}", p) for _, p in with_body)
