"""Warehouse sync on PostgreSQL through redshift_connector (behind pgbouncer): isolation, idempotence, increments."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse.warehouse.model import Isolation
from lakehouse.warehouse.sync import open_warehouse
from tests.warehouse.fixtures import pipeline_rows, tenant, write_mart

pytestmark = pytest.mark.postgres

PIPELINE_COLUMNS = "tenant_id, stage, target_close_month, opportunity_count, expected_monthly_spend_usd"


def _query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    from lakehouse.warehouse.connection import connect

    conn = connect(url)
    try:
        cur = conn.cursor()
        cur.execute(sql, list(params) if params else None)
        rows = [tuple(r) for r in cur.fetchall()]
        conn.rollback()
        return rows
    finally:
        conn.close()


def _sync(url: str, tenant_id: str, mode: str, tables: tuple[str, ...] = ("gold.ace_pipeline",)):
    from lakehouse.warehouse.model import served_tables

    with open_warehouse(url) as wh:
        return wh.sync(Isolation.of(tenant_id, mode), served_tables(tables))


def _expected(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r["tenant_id"],
            r["stage"],
            r["target_close_month"],
            r["opportunity_count"],
            r["expected_monthly_spend_usd"],
        )
        for r in rows
    )


def test_schema_mode_puts_each_tenant_in_its_own_schema_readable_only_by_its_role(lake, warehouse_db):
    a, b = tenant("sa"), tenant("sb")
    write_mart("gold.ace_pipeline", pipeline_rows(a, 3))
    write_mart("gold.ace_pipeline", pipeline_rows(b, 2, spend="7.50"))
    result_a = _sync(warehouse_db.loader_url, a, "siloed")
    _sync(warehouse_db.loader_url, b, "siloed")
    assert [(t.action, t.rows, t.target) for t in result_a.tables] == [("loaded", 3, f"t_{a}.ace_pipeline")]

    as_a = warehouse_db.login_as_tenant(a)
    mine = _query(as_a, f'SELECT {PIPELINE_COLUMNS} FROM "t_{a}".ace_pipeline ORDER BY stage')
    assert sorted(mine) == _expected(pipeline_rows(a, 3))
    from redshift_connector.error import ProgrammingError

    with pytest.raises(ProgrammingError, match="permission denied for schema"):
        _query(as_a, f'SELECT count(*) FROM "t_{b}".ace_pipeline')
    # B's schema holds B's rows only (the loader owns both and sees everything)
    theirs = _query(warehouse_db.loader_url, f'SELECT {PIPELINE_COLUMNS} FROM "t_{b}".ace_pipeline')
    assert sorted(theirs) == _expected(pipeline_rows(b, 2, spend="7.50"))


def test_rls_mode_shares_one_schema_and_a_tenants_connection_sees_no_other_tenants_row(lake, warehouse_db):
    a, b = tenant("pa"), tenant("pb")
    write_mart("gold.ace_pipeline", pipeline_rows(a, 4))
    write_mart("gold.ace_pipeline", pipeline_rows(b, 3))
    assert _sync(warehouse_db.loader_url, a, "pooled").schema == "pooled"
    _sync(warehouse_db.loader_url, b, "pooled")

    everything = _query(
        warehouse_db.loader_url,
        f"SELECT {PIPELINE_COLUMNS} FROM pooled.ace_pipeline WHERE tenant_id IN (%s, %s)",
        (a, b),
    )
    assert sorted(everything) == _expected(pipeline_rows(a, 4) + pipeline_rows(b, 3))
    for me, n in ((a, 4), (b, 3)):
        url = warehouse_db.login_as_tenant(me)
        seen = _query(url, f"SELECT {PIPELINE_COLUMNS} FROM pooled.ace_pipeline")
        assert sorted(seen) == _expected(pipeline_rows(me, n))
        other = b if me == a else a
        assert _query(url, "SELECT count(*) FROM pooled.ace_pipeline WHERE tenant_id = %s", (other,)) == [
            (0,)
        ]


def _snapshot(url: str, table: str, tenant_id: str) -> list[tuple[Any, ...]]:
    """Each row with its physical identity (xmin, ctid): any rewrite of a row changes them."""
    return _query(
        url,
        f"SELECT xmin::text, ctid::text, {PIPELINE_COLUMNS} FROM {table} WHERE tenant_id = %s ORDER BY stage",
        (tenant_id,),
    )


def _state(url: str, tenant_id: str) -> list[tuple[Any, ...]]:
    return _query(
        url,
        "SELECT xmin::text, table_name, target, delta_version, row_count FROM lakehouse_meta.sync_state "
        "WHERE tenant_id = %s ORDER BY table_name",
        (tenant_id,),
    )


def test_a_second_sync_with_no_new_versions_writes_nothing(lake, warehouse_db):
    a = tenant("idem")
    version = write_mart("gold.ace_pipeline", pipeline_rows(a, 5))
    first = _sync(warehouse_db.loader_url, a, "pooled")
    assert [t.action for t in first.tables] == ["loaded"]
    rows_before = _snapshot(warehouse_db.loader_url, "pooled.ace_pipeline", a)
    state_before = _state(warehouse_db.loader_url, a)
    assert [s[1:] for s in state_before] == [("gold.ace_pipeline", "pooled.ace_pipeline", version, 5)]

    second = _sync(warehouse_db.loader_url, a, "pooled")
    assert [(t.action, t.from_version, t.to_version) for t in second.tables] == [
        ("unchanged", version, version)
    ]
    assert not second.wrote
    assert _snapshot(warehouse_db.loader_url, "pooled.ace_pipeline", a) == rows_before
    assert _state(warehouse_db.loader_url, a) == state_before


def test_a_new_version_of_the_tenants_partition_replaces_its_rows_and_leaves_others_untouched(
    lake, warehouse_db
):
    a, b = tenant("inc-a"), tenant("inc-b")
    write_mart("gold.ace_pipeline", pipeline_rows(a, 3))
    write_mart("gold.ace_pipeline", pipeline_rows(b, 2))
    _sync(warehouse_db.loader_url, a, "pooled")
    _sync(warehouse_db.loader_url, b, "pooled")
    b_before = _snapshot(warehouse_db.loader_url, "pooled.ace_pipeline", b)

    v2 = write_mart("gold.ace_pipeline", pipeline_rows(a, 2, spend="99.99"))
    result = _sync(warehouse_db.loader_url, a, "pooled")
    assert [(t.action, t.to_version, t.rows) for t in result.tables] == [("loaded", v2, 2)]
    rows = _query(
        warehouse_db.loader_url,
        f"SELECT {PIPELINE_COLUMNS} FROM pooled.ace_pipeline WHERE tenant_id = %s",
        (a,),
    )
    assert sorted(rows) == _expected(pipeline_rows(a, 2, spend="99.99"))
    assert _snapshot(warehouse_db.loader_url, "pooled.ace_pipeline", b) == b_before


def test_another_tenants_new_version_only_advances_the_recorded_version(lake, warehouse_db):
    a, b = tenant("adv-a"), tenant("adv-b")
    v1 = write_mart("gold.ace_pipeline", pipeline_rows(a, 3))
    _sync(warehouse_db.loader_url, a, "siloed")
    rows_before = _snapshot(warehouse_db.loader_url, f'"t_{a}".ace_pipeline', a)

    v2 = write_mart("gold.ace_pipeline", pipeline_rows(b, 4))
    result = _sync(warehouse_db.loader_url, a, "siloed")
    assert [(t.action, t.from_version, t.to_version, t.rows) for t in result.tables] == [
        ("advanced", v1, v2, 3)
    ]
    assert _snapshot(warehouse_db.loader_url, f'"t_{a}".ace_pipeline', a) == rows_before
    assert [s[3] for s in _state(warehouse_db.loader_url, a)] == [v2]


def test_a_tenant_moved_from_pooled_to_siloed_leaves_no_row_in_the_pooled_schema(lake, warehouse_db):
    a = tenant("move")
    write_mart("gold.ace_pipeline", pipeline_rows(a, 2))
    _sync(warehouse_db.loader_url, a, "pooled")
    result = _sync(warehouse_db.loader_url, a, "siloed")
    assert [t.action for t in result.tables] == ["loaded"]
    assert _query(
        warehouse_db.loader_url, "SELECT count(*) FROM pooled.ace_pipeline WHERE tenant_id = %s", (a,)
    ) == [(0,)]
    moved = _query(warehouse_db.loader_url, f'SELECT {PIPELINE_COLUMNS} FROM "t_{a}".ace_pipeline')
    assert sorted(moved) == _expected(pipeline_rows(a, 2))


def test_every_served_mart_round_trips_with_its_types(lake, warehouse_db):
    from datetime import UTC, date, datetime

    a = tenant("types")
    write_mart(
        "gold.marketplace_subscriptions",
        [
            {
                "tenant_id": a,
                "product_id": "prod-1",
                "product_title": "Widget 'Pro'",
                "active": 3,
                "pending_cancellation": 1,
                "expired": 0,
                "total": 4,
                "as_of": datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
            }
        ],
    )
    write_mart(
        "gold.ace_pipeline_health",
        [
            {
                "tenant_id": a,
                "review_status": None,
                "opportunity_count": 2,
                "stale_count": 1,
                "action_required_count": 0,
                "as_of_date": date(2026, 12, 6),
            }
        ],
    )
    result = _sync(warehouse_db.loader_url, a, "pooled", tables=())
    by_table = {t.table: t.action for t in result.tables}
    assert by_table == {
        "gold.ace_pipeline": "absent",
        "gold.ace_win_rate": "absent",
        "gold.ace_pipeline_health": "loaded",
        "gold.marketplace_usage": "absent",
        "gold.marketplace_subscriptions": "loaded",
    }
    subs = _query(
        warehouse_db.loader_url,
        "SELECT product_title, active, total, as_of AT TIME ZONE 'UTC' FROM pooled.marketplace_subscriptions "
        "WHERE tenant_id = %s",
        (a,),
    )
    assert subs == [("Widget 'Pro'", 3, 4, datetime(2026, 12, 1, 8, 30))]
    health = _query(
        warehouse_db.loader_url,
        "SELECT review_status, stale_count, as_of_date FROM pooled.ace_pipeline_health WHERE tenant_id = %s",
        (a,),
    )
    assert health == [(None, 1, date(2026, 12, 6))]


def test_the_cli_syncs_once_then_reports_every_mart_unchanged(lake, warehouse_db, capsys):
    import json

    from lakehouse.cli import main

    a = tenant("cli")
    version = write_mart("gold.ace_pipeline", pipeline_rows(a, 2))
    args = ["warehouse", "sync", "--tenant", a, "--isolation", "pooled", "--url", warehouse_db.loader_url]
    assert main([*args, "--table", "gold.ace_pipeline", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["schema"] == "pooled" and first["mode"] == "rls"
    assert [(t["action"], t["to_version"], t["rows"]) for t in first["tables"]] == [("loaded", version, 2)]
    assert main([*args, "--table", "gold.ace_pipeline", "--format", "json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert [(t["action"], t["to_version"]) for t in second["tables"]] == [("unchanged", version)]


def test_the_cli_refuses_a_tenant_the_control_plane_does_not_know_without_isolation(lake, capsys):
    from lakehouse.cli import main

    code = main(
        ["warehouse", "sync", "--tenant", tenant("nobody"), "--url", "postgresql://u:p@127.0.0.1:1/db"]
    )
    assert code == 4
    assert "not provisioned in the control plane" in capsys.readouterr().err


def test_the_cli_refuses_a_malformed_warehouse_url_with_exit_2(lake, capsys):
    from lakehouse.cli import main

    code = main(
        ["warehouse", "sync", "--tenant", tenant("badurl"), "--isolation", "pooled", "--url", "mysql://x@h/d"]
    )
    assert code == 2
    assert "scheme 'mysql'" in capsys.readouterr().err


def test_the_cli_takes_the_isolation_the_control_plane_recorded_and_refuses_a_contradicting_flag(
    lake, warehouse_db, capsys, monkeypatch
):
    import json

    from control_plane.costs.demo import ensure_tenants
    from control_plane.quotas.local import open_database
    from lakehouse.cli import main

    monkeypatch.delenv("LAKEHOUSE_DATABASE_URL", raising=False)
    monkeypatch.delenv("LAKEHOUSE_WAREHOUSE_URL", raising=False)
    a = tenant("cp")
    db = open_database()
    try:
        ensure_tenants(db, [a])  # an enterprise on the default isolation: pooled
    finally:
        db.dispose()
    write_mart("gold.ace_pipeline", pipeline_rows(a, 1))
    args = [
        "warehouse",
        "sync",
        "--tenant",
        a,
        "--url",
        warehouse_db.loader_url,
        "--table",
        "gold.ace_pipeline",
    ]
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["mode"], out["schema"], out["tables"][0]["action"]) == ("rls", "pooled", "loaded")
    assert main([*args, "--isolation", "siloed"]) == 2
    assert "disagrees with the control plane" in capsys.readouterr().err


def test_a_declared_column_missing_from_the_warehouse_table_is_added_and_loaded(lake, warehouse_db):
    a = tenant("evolve")
    with _pg(warehouse_db) as conn:
        conn.execute(f'CREATE SCHEMA "t_{a}"')
        conn.execute(
            f'CREATE TABLE "t_{a}".ace_pipeline (tenant_id VARCHAR(63), stage TEXT, target_close_month TEXT, '
            "opportunity_count BIGINT, legacy_note TEXT)"
        )
        loader = warehouse_db.loader_url.split("//")[1].split(":")[0]
        conn.execute(f'ALTER SCHEMA "t_{a}" OWNER TO {loader}')
        conn.execute(f'ALTER TABLE "t_{a}".ace_pipeline OWNER TO {loader}')
    write_mart("gold.ace_pipeline", pipeline_rows(a, 2))
    _sync(warehouse_db.loader_url, a, "siloed")
    rows = _query(
        warehouse_db.loader_url, f'SELECT {PIPELINE_COLUMNS}, legacy_note FROM "t_{a}".ace_pipeline'
    )
    assert sorted(rows) == [(*r, None) for r in _expected(pipeline_rows(a, 2))]


def _pg(db):
    import psycopg

    return psycopg.connect(db.admin_url, autocommit=True)
