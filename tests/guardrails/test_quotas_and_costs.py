"""Quotas, reservations, the cost ledger and budget alerts, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from control_plane.audit.service import SYSTEM
from control_plane.costs import service as costs
from control_plane.costs.ledger import DbUsageRecorder, LedgerUsageSource
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope, utcnow
from control_plane.quotas import service as quotas
from control_plane.quotas.gate import DbQuotaGate
from control_plane.tenants.models import Tenant
from lakehouse.guardrails import QuotaExceeded, Usage, guarded_run
from tests.control_plane.conftest import create_key, reasoned, uid


@pytest.fixture
def tenant(client, admin) -> str:
    tenant_id = f"ent-{uid()}"
    assert (
        client.put(
            f"/tenants/{tenant_id}", json={"kind": "enterprise", "name": "E"}, headers=admin
        ).status_code
        == 201
    )
    return tenant_id


def set_limits(db: Database, tenant: str, **limits: float) -> None:
    with db.session(DbScope.for_platform(), write=True) as session:
        quotas.set_limits(
            session,
            tenant=session.get(Tenant, tenant),
            values=limits,
            actor=SYSTEM,
            reason="test",
            request_id=None,
        )
        session.commit()


def test_two_concurrent_runs_against_a_quota_of_one_exactly_one_starts(stack, tenant):
    set_limits(stack.app.state.cp.db, tenant, concurrent_pipeline_runs=1)
    # separate engines: nothing in this process serialises them; only the database can
    gates = [DbQuotaGate(Database(stack.backend.app_url, pool_size=1)) for _ in range(2)]
    try:
        for round_ in range(5):
            barrier = threading.Barrier(2)
            results: list[object] = [None, None]

            def run(i: int, barrier: threading.Barrier, results: list[object], round_: int) -> None:
                barrier.wait()
                try:
                    results[i] = gates[i].reserve(tenant, "pipeline_run", run_id=f"run-{round_}-{i}")
                except QuotaExceeded as exc:
                    results[i] = exc

            threads = [threading.Thread(target=run, args=(i, barrier, results, round_)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            granted = [r for r in results if not isinstance(r, QuotaExceeded)]
            refused = [r for r in results if isinstance(r, QuotaExceeded)]
            assert (len(granted), len(refused)) == (1, 1), results
            assert "concurrent_pipeline_runs is 1; the run was not started" in str(refused[0])
            gates[0].release(granted[0], usage=None, usage_at=utcnow(), source="pipeline")  # type: ignore[arg-type]
    finally:
        for gate in gates:
            gate.db.dispose()


def test_a_crashed_runs_slot_frees_when_its_lease_ends(stack, tenant):
    db = stack.app.state.cp.db
    set_limits(db, tenant, concurrent_pipeline_runs=1)
    settings = GuardrailSettings(reservation_lease_seconds=60)
    start = utcnow()
    with db.session(DbScope.for_tenant(tenant), write=True) as session:
        quotas.reserve(
            session, tenant_id=tenant, kind="pipeline_run", run_id="crashed", settings=settings, now=start
        )
        session.commit()
    with (
        pytest.raises(QuotaExceeded, match=r"already running \(crashed\)"),
        db.session(DbScope.for_tenant(tenant), write=True) as session,
    ):
        quotas.reserve(
            session,
            tenant_id=tenant,
            kind="pipeline_run",
            run_id="next",
            settings=settings,
            now=start + timedelta(seconds=30),
        )
    with db.session(DbScope.for_tenant(tenant), write=True) as session:
        row, _ = quotas.reserve(
            session,
            tenant_id=tenant,
            kind="pipeline_run",
            run_id="next",
            settings=settings,
            now=start + timedelta(seconds=61),
        )
        session.commit()
    assert row.run_id == "next"


def test_a_tenant_over_its_rows_per_day_quota_cannot_start_a_sync(stack, tenant):
    db = stack.app.state.cp.db
    set_limits(db, tenant, rows_ingested_per_day=100)
    gate = DbQuotaGate(db)
    with guarded_run(gate, tenant, "connector_sync", run_id="sync-1") as guard:
        guard.usage = Usage(compute_seconds=2, api_calls=4, rows_ingested=100)
    with pytest.raises(
        QuotaExceeded,
        match=r"100 rows were ingested today .* rows_ingested_per_day = 100; nothing was ingested",
    ):
        gate.reserve(tenant, "connector_sync", run_id="sync-2")
    gate.release(
        gate.reserve(tenant, "pipeline_run", run_id="p-1"), usage=None, usage_at=utcnow(), source="pipeline"
    )  # the row quota is an ingestion quota


def test_the_budget_alerts_at_80_and_100_percent_and_then_refuses_runs(stack, tenant, client, admin):
    db = stack.app.state.cp.db
    set_limits(db, tenant, monthly_compute_usd=1)
    settings = GuardrailSettings(
        cost_rate_api_call_usd=Decimal("0.01"), cost_rate_compute_second_usd=Decimal(0)
    )
    recorder = DbUsageRecorder(db, settings)
    now = utcnow()
    recorder.record(tenant, "r1", Usage(api_calls=79), usage_at=now, source="test")
    recorder.record(tenant, "r2", Usage(api_calls=6), usage_at=now, source="test")  # $0.85: 80%
    recorder.record(tenant, "r2", Usage(api_calls=6), usage_at=now, source="test")  # same run again: nothing
    DbQuotaGate(db, settings).release(
        DbQuotaGate(db, settings).reserve(tenant, "pipeline_run", run_id="p"),
        usage=None,
        usage_at=now,
        source="pipeline",
    )  # under budget: runs
    recorder.record(tenant, "r3", Usage(api_calls=20), usage_at=now, source="test")  # $1.05: 100%
    with pytest.raises(
        QuotaExceeded,
        match=r"estimated spend for \d{4}-\d\d \(\$1\.05\) has reached the monthly "
        r"budget \(\$1\.00, quota monthly_compute_usd from manual\)",
    ):
        DbQuotaGate(db, settings).reserve(tenant, "pipeline_run", run_id="p2")
    viewer = create_key(client, admin, tenant, "tenant_admin")
    summary = client.get(f"/tenants/{tenant}/costs", headers=viewer).json()
    assert (Decimal(summary["spent_usd"]), Decimal(summary["budget_usd"]), summary["status"]) == (
        Decimal("1.05"),
        Decimal(1),
        "over_budget",
    )
    assert [(a["threshold"], a["run_id"], Decimal(a["spent_usd"])) for a in summary["alerts"]] == [
        (80, "r2", Decimal("0.85")),
        (100, "r3", Decimal("1.05")),
    ]
    assert [a["threshold"] for a in client.get(f"/tenants/{tenant}/cost-alerts", headers=viewer).json()] == [
        80,
        100,
    ]
    audit = client.get(f"/tenants/{tenant}/audit?limit=1000", headers=viewer).json()
    alerts = [e for e in audit if e["action"] == "cost.budget_alert"]
    assert [e["reason"][:40] for e in alerts] == [
        "estimated spend $0.85 reached 80% of the",
        "estimated spend $1.05 reached 100% of th",
    ]


def test_ledger_totals_equal_the_runs_recorded_usage(stack, tenant, client, admin):
    db = stack.app.state.cp.db
    gate = DbQuotaGate(db)
    runs = [
        Usage(compute_seconds=Decimal("12.345678"), api_calls=31, rows_ingested=500),
        Usage(compute_seconds=Decimal("0.000001"), api_calls=0, rows_ingested=7),
        Usage(compute_seconds=Decimal(3600), api_calls=1203, rows_ingested=0),
    ]
    for i, usage in enumerate(runs):
        with guarded_run(gate, tenant, "connector_sync", run_id=f"sync-{i}") as guard:
            guard.usage = usage
    rates = GuardrailSettings().rates()
    expected = {
        "compute_seconds": sum((u.compute_seconds for u in runs), Decimal(0)),
        "api_calls": Decimal(sum(u.api_calls for u in runs)),
        "rows_ingested": Decimal(sum(u.rows_ingested for u in runs)),
    }
    with db.session(DbScope.for_tenant(tenant)) as session:
        totals = {t["resource"]: t for t in costs.ledger_totals(session, tenant)}
    assert {r: t["quantity"] for r, t in totals.items()} == expected
    for resource, total in totals.items():
        assert total["estimated_cost_usd"] == sum(
            (
                Decimal(costs.to_nano(q * rates[resource])) / costs.NANO
                for q in (getattr(u, resource) for u in runs)
                if q
            ),
            Decimal(0),
        )
    api = client.get(f"/tenants/{tenant}/costs", headers=create_key(client, admin, tenant, "analyst")).json()
    assert {r["resource"]: Decimal(r["quantity"]) for r in api["by_resource"]} == expected
    assert Decimal(api["spent_usd"]) == sum((t["estimated_cost_usd"] for t in totals.values()), Decimal(0))
    ledger = client.get(
        f"/tenants/{tenant}/cost-ledger?run_id=sync-2",
        headers=create_key(client, admin, tenant, "tenant_admin"),
    ).json()
    assert [(e["resource"], Decimal(e["quantity"])) for e in ledger] == [
        ("compute_seconds", Decimal(3600)),
        ("api_calls", Decimal(1203)),
    ]


def test_guardrail_limits_are_visible_and_only_the_platform_sets_them(client, admin, tenant):
    tenant_admin = create_key(client, admin, tenant, "tenant_admin")
    assert (
        client.put(
            f"/tenants/{tenant}/quotas",
            json={"limits": {"concurrent_pipeline_runs": 9}},
            headers=reasoned(tenant_admin),
        ).status_code
        == 403
    )
    resp = client.put(
        f"/tenants/{tenant}/quotas",
        json={"limits": {"concurrent_pipeline_runs": 3, "rows_ingested_per_day": 1000}},
        headers=reasoned(admin, "bigger customer"),
    )
    assert resp.status_code == 200, resp.text
    assert {(q["resource"], q["limit"], q["source"]) for q in resp.json()} == {
        ("concurrent_pipeline_runs", 3.0, "manual"),
        ("rows_ingested_per_day", 1000.0, "manual"),
    }
    state = client.get(f"/tenants/{tenant}/guardrails", headers=tenant_admin).json()
    defaults = GuardrailSettings()
    assert state["limits"] == {
        "concurrent_pipeline_runs": 3.0,
        "rows_ingested_per_day": 1000.0,
        "concurrent_connector_syncs": float(defaults.default_concurrent_connector_syncs),
        "api_calls_per_minute": float(defaults.default_api_calls_per_minute),
        "monthly_compute_usd": 100.0,
        "agent_tokens_per_day": float(defaults.default_agent_tokens_per_day),
    }  # the free plan's budget
    assert state["running"] == {"pipeline_run": [], "connector_sync": []}


def test_the_ledger_usage_source_bills_the_linked_tenant_for_its_workspaces(stack, client, admin):
    from lakehouse.marketplace.metering import aggregate_usage

    suffix = uid()
    ent, org, ws = f"ent-{suffix}", f"org-{suffix}", f"ws-{suffix}"
    for tenant_id, spec in (
        (ent, {"kind": "enterprise", "name": "E"}),
        (org, {"kind": "org", "name": "O", "parent_id": ent}),
        (ws, {"kind": "workspace", "name": "W", "parent_id": org}),
    ):
        assert client.put(f"/tenants/{tenant_id}", json=spec, headers=admin).status_code == 201
    db = stack.app.state.cp.db
    recorder = DbUsageRecorder(db)
    hour = datetime(2026, 3, 4, 10, tzinfo=UTC)
    recorder.record(
        ws,
        "run-a",
        Usage(compute_seconds=1800, api_calls=40, rows_ingested=250_000),
        usage_at=hour + timedelta(minutes=5),
        source="pipeline",
    )
    recorder.record(
        org, "run-b", Usage(compute_seconds=900), usage_at=hour + timedelta(minutes=50), source="pipeline"
    )
    recorder.record(ws, "run-c", Usage(api_calls=5), usage_at=hour + timedelta(hours=1), source="sync")
    rows = list(LedgerUsageSource(db).usage(org, hour, hour + timedelta(hours=1)))
    assert {(r.tenant_id, r.workspace_id, r.dimension, r.quantity, r.run_id) for r in rows} == {
        (org, ws, "pipeline_hours", Decimal("0.5"), "run-a"),
        (org, ws, "api_calls", Decimal(40), "run-a"),
        (org, ws, "rows_ingested", Decimal("0.25"), "run-a"),
        (org, None, "pipeline_hours", Decimal("0.25"), "run-b"),
    }
    assert len(rows) == 4
    hourly = {u.dimension: (u.quantity, u.allocations) for u in aggregate_usage(rows, tenant_id=org)}
    assert hourly["pipeline_hours"] == (
        Decimal("0.750000"),
        ((None, Decimal("0.250000")), (ws, Decimal("0.500000"))),
    )
    assert list(LedgerUsageSource(db).usage(ent, hour, hour + timedelta(hours=2))) != []  # the enterprise too
    assert list(LedgerUsageSource(db).usage(ws, hour - timedelta(hours=1), hour)) == []
