"""Tenant provisioning creates the tenant's warehouse isolation for real (PostgreSQL through redshift_connector)."""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest

from control_plane.tenants.provisioning import SqlWarehouse
from lakehouse.warehouse.model import SERVED_MARTS
from tests.warehouse.fixtures import tenant


@pytest.mark.postgres
def test_a_siloed_tenant_gets_its_own_schema_readable_by_its_role_and_a_rerun_changes_nothing(warehouse_db):
    t = SimpleNamespace(id=tenant("prov-s"), isolation_mode="siloed")
    detail = SqlWarehouse(warehouse_db.loader_url).ensure_isolation(t)
    assert detail["applied"] is True and detail["schema"] == f"t_{t.id}" and detail["role"] == f"t_{t.id}"
    with psycopg.connect(warehouse_db.admin_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
            (f"t_{t.id}",),
        ).fetchall()
        assert [r[0] for r in tables] == sorted(n.split(".")[1] for n in SERVED_MARTS)
        usage = conn.execute(
            "SELECT has_schema_privilege(%s, %s, 'USAGE')", (f"t_{t.id}", f"t_{t.id}")
        ).fetchone()
        assert usage == (True,)
    again = SqlWarehouse(warehouse_db.loader_url).ensure_isolation(t)
    assert again["statements_run"] == 0


@pytest.mark.postgres
def test_a_pooled_tenant_gets_a_row_policy_on_every_pooled_table(warehouse_db):
    t = SimpleNamespace(id=tenant("prov-p"), isolation_mode="pooled")
    detail = SqlWarehouse(warehouse_db.loader_url).ensure_isolation(t)
    assert (detail["schema"], detail["predicate"]) == ("pooled", f"tenant_id = '{t.id}'")
    with psycopg.connect(warehouse_db.admin_url) as conn:
        policies = conn.execute(
            "SELECT tablename, roles::text, cmd, qual FROM pg_policies WHERE schemaname = 'pooled' AND policyname = %s "
            "ORDER BY 1",
            (f"rls_{t.id}",),
        ).fetchall()
    assert policies == [
        (name.split(".")[1], "{t_" + t.id + "}", "SELECT", f"((tenant_id)::text = '{t.id}'::text)")
        for name in sorted(SERVED_MARTS)
    ]


def test_without_a_warehouse_url_the_step_records_the_plan_and_creates_nothing():
    detail = SqlWarehouse(None).ensure_isolation(SimpleNamespace(id="acme", isolation_mode="pooled"))
    assert detail["applied"] is False and "LAKEHOUSE_WAREHOUSE_URL" in detail["reason"]
    assert (detail["schema"], detail["role"], detail["policy"]) == ("pooled", "t_acme", "rls_acme")
