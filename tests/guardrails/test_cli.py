"""The CLI end to end: quota refusals (exit 4, nothing done), the ledger of real runs, and request → approve →
execute on the sandbox followed by a sync that brings the new opportunity through bronze and silver."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from control_plane.costs import service as costs
from control_plane.costs.ledger import DbUsageRecorder
from control_plane.db import DbScope, utcnow
from control_plane.quotas.gate import DbQuotaGate
from lakehouse import io
from lakehouse.cli import main
from lakehouse.guardrails import NoGuardrails, QuotaExceeded, Usage
from lakehouse.tenancy import TenantScope
from tests.guardrails.conftest import create_payload, sandbox_env, write_json

ACME = TenantScope.for_tenant("acme")


def _ingest(sandbox) -> int:
    return main(
        ["ingest", "partner-central", "--tenant", "acme", "--endpoint-url", sandbox.url, "--no-rate-limit"]
    )


def test_a_tenant_over_its_rows_per_day_quota_is_refused_with_exit_4_and_nothing_is_ingested(
    local_cp, sandbox, monkeypatch, capsys
):
    sandbox_env(monkeypatch, sandbox)
    local_cp.set_limits("acme", rows_ingested_per_day=50)
    DbUsageRecorder(local_cp.db).record(
        "acme", "earlier-sync", Usage(rows_ingested=50), usage_at=utcnow(), source="partner_central_sync"
    )
    assert _ingest(sandbox) == 4
    message = capsys.readouterr().err
    assert (
        "50 rows were ingested today (UTC), which meets the quota rows_ingested_per_day = 50; nothing was"
        in " ".join(message.split())
    )
    assert sandbox.calls(None, "acme") == 0
    assert not io.exists("bronze.partner_central_opportunity") and not io.exists("ops.ingestion_run")


def test_a_pipeline_run_is_refused_with_exit_4_while_another_run_holds_the_only_slot(local_cp, capsys):
    local_cp.set_limits("acme", concurrent_pipeline_runs=1)
    gate = DbQuotaGate(local_cp.db)
    held = gate.reserve("acme", "pipeline_run", run_id="pipeline-nightly")
    assert main(["pipeline", "run", "--tenant", "acme", "--until", "silver"]) == 4
    assert (
        "1 pipeline run(s) already running (pipeline-nightly), the quota concurrent_pipeline_runs is 1"
        in " ".join(capsys.readouterr().err.split())
    )
    gate.release(held, usage=None, usage_at=utcnow(), source="pipeline")


def test_unprovisioned_tenants_pass_with_a_warning_in_development_and_are_refused_when_enforced(
    local_cp, monkeypatch
):
    from control_plane.quotas.local import local_quota_gate

    warnings: list[str] = []
    gate = local_quota_gate("nobody", warn=warnings.append)
    assert isinstance(gate, NoGuardrails) and "tenant nobody is not provisioned" in warnings[0]
    assert local_quota_gate("acme").__class__ is DbQuotaGate
    monkeypatch.setenv("LAKEHOUSE_GUARDRAILS", "enforce")
    with pytest.raises(QuotaExceeded, match="'nobody' is not provisioned in the control plane"):
        local_quota_gate("nobody")
    monkeypatch.setenv("LAKEHOUSE_GUARDRAILS", "off")
    assert isinstance(local_quota_gate("acme"), NoGuardrails)


def test_ledger_totals_equal_the_recorded_usage_of_real_sync_runs(spark, local_cp, sandbox, monkeypatch):
    sandbox_env(monkeypatch, sandbox)
    assert _ingest(sandbox) == 0
    sandbox.state.touch_opportunities("acme", "Sandbox", count=2)
    assert _ingest(sandbox) == 0
    runs = (
        io.read(spark, "ops.ingestion_run", ACME)
        .select("ingestion_run_id", "api_calls", "landed", "started_at", "finished_at")
        .collect()
    )
    assert len(runs) == 2
    expected = {
        "api_calls": Decimal(sum(r.api_calls for r in runs)),
        "rows_ingested": Decimal(sum(r.landed for r in runs)),
        "compute_seconds": sum(
            (Usage.seconds_between(r.started_at, r.finished_at) for r in runs), Decimal(0)
        ),
    }
    with local_cp.db.session(DbScope.for_tenant("acme")) as session:
        totals = {t["resource"]: t["quantity"] for t in costs.ledger_totals(session, "acme")}
        entries = session.execute(costs.select(costs.CostLedgerEntry.run_id).distinct()).scalars().all()
    assert totals == expected
    assert sorted(entries) == sorted(r.ingestion_run_id for r in runs)  # one ledger run per ingestion run
    # opportunities, solutions, invitations; then 2 touched; plus AWS's summary of each fetched engaged opportunity
    summaries = int(io.read(spark, "bronze.partner_central_aws_opportunity_summary", ACME).count())
    assert summaries > 0
    assert expected["rows_ingested"] == 6 + 3 + 4 + 2 + summaries


def test_request_approve_execute_then_the_next_sync_brings_the_new_opportunity_to_silver(
    spark, local_cp, sandbox, monkeypatch, tmp_path: Path, capsys
):
    sandbox_env(monkeypatch, sandbox)
    payload = write_json(tmp_path / "create.json", create_payload(sandbox, title="Lakehouse rollout"))
    assert (
        main(
            [
                "actions",
                "request",
                "--tenant",
                "acme",
                "--action",
                "create-opportunity",
                "--payload",
                payload,
                "--reason",
                "customer workshop",
                "--as",
                "alice",
            ]
        )
        == 0
    )
    approval = capsys.readouterr().out.split("approval ", 1)[1].split()[0]
    assert main(["actions", "approve", approval, "--as", "alice"]) == 4  # the requester cannot approve
    assert "cannot approve it; another approver must decide" in " ".join(capsys.readouterr().err.split())
    assert main(["actions", "approve", approval, "--as", "carol"]) == 4  # an analyst cannot approve
    assert main(["actions", "approve", approval, "--as", "bob", "--reason", "ok"]) == 0
    capsys.readouterr()

    assert main(["actions", "execute", approval, "--as", "svc", "--endpoint-url", sandbox.url]) == 0
    out = capsys.readouterr().out
    new = [
        o
        for o in sandbox.state.opportunity_ids("acme", "Sandbox")
        if sandbox.state.tenants["acme"].catalog("Sandbox").opportunities[o].record["Project"]["Title"]
        == "Lakehouse rollout"
    ]
    assert len(new) == 1 and new[0] in out and "COMPLETE" in out
    assert main(["actions", "execute", approval, "--as", "svc", "--endpoint-url", sandbox.url]) == 4
    assert "was already executed" in " ".join(capsys.readouterr().err.split())
    assert main(["actions", "list", "--tenant", "acme", "--status", "executed", "--json"]) == 0
    assert f'"id": "{approval}"' in capsys.readouterr().out

    results = io.read(spark, "bronze.partner_central_write_result", ACME).orderBy("executed_at").collect()
    assert [(r.approval_id, r.step, r.status, r.entity_id) for r in results] == [
        (approval, "create", "succeeded", new[0]),
        (approval, "associate-1", "succeeded", new[0]),
        (approval, "start-engagement", "succeeded", new[0]),
    ]
    assert results[-1].task_status == "COMPLETE" and results[-1].engagement_id.startswith("eng-")

    assert _ingest(sandbox) == 0
    bronze = (
        io.read(spark, "bronze.partner_central_opportunity", ACME).where(F.col("entity_id") == new[0]).count()
    )
    assert bronze == 1
    assert main(["pipeline", "run", "--tenant", "acme", "--until", "silver"]) == 0
    silver = io.read(spark, "silver.opportunity", ACME).where(F.col("opportunity_id") == new[0]).collect()
    assert [(r.project_title, r.review_status) for r in silver] == [("Lakehouse rollout", "Submitted")]
    with local_cp.db.session(DbScope.for_tenant("acme")) as session:
        sources = dict(
            session.execute(
                costs.select(costs.CostLedgerEntry.source, costs.func.count()).group_by(
                    costs.CostLedgerEntry.source
                )
            ).all()
        )
        write_calls = session.execute(
            costs.select(costs.CostLedgerEntry.quantity_micros).where(
                costs.CostLedgerEntry.source == "partner_central_write",
                costs.CostLedgerEntry.resource == "api_calls",
            )
        ).scalar_one()
    assert set(sources) == {"partner_central_write", "partner_central_sync", "pipeline"}
    assert write_calls == 3 * 1_000_000  # Create, Associate, StartEngagement


def test_the_demo_records_its_runs_in_the_ledger_and_meters_from_it(lake, monkeypatch):
    from datetime import UTC, datetime

    from control_plane.costs.demo import record_demo_usage
    from control_plane.quotas.local import is_provisioned, open_database
    from lakehouse.guardrails import RecordedRun
    from lakehouse.marketplace.metering import aggregate_usage

    monkeypatch.delenv("LAKEHOUSE_DATABASE_URL", raising=False)
    at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    runs = [
        RecordedRun(
            "acme", "demo-sync-acme", Usage(compute_seconds=720, api_calls=130, rows_ingested=500_000), at
        ),
        RecordedRun("globex", "demo-sync-globex", Usage(api_calls=90), at),
    ]
    source = record_demo_usage(runs)
    again = record_demo_usage(runs)  # recording the same runs again adds nothing
    db = open_database()
    try:
        assert is_provisioned(db, "acme") and is_provisioned(db, "globex")
    finally:
        db.dispose()
    hourly = aggregate_usage(
        source.usage("acme", at.replace(minute=0), at.replace(minute=0, hour=10)), tenant_id="acme"
    )
    assert {(u.dimension, u.quantity) for u in hourly} == {
        ("pipeline_hours", Decimal("0.2")),
        ("api_calls", Decimal(130)),
        ("rows_ingested", Decimal("0.5")),
    }
    assert [
        (r.dimension, r.quantity) for r in again.usage("globex", at.replace(minute=0), at.replace(hour=10))
    ] == [("api_calls", Decimal(90))]
    source.db.dispose()
    again.db.dispose()


def test_the_marketplace_runner_loads_the_control_plane_providers_by_spec(lake, monkeypatch):
    from control_plane.approvals.gate import DbApprovalGate
    from control_plane.costs.buyers import DbBuyerDirectory
    from control_plane.costs.ledger import LedgerUsageSource
    from lakehouse.marketplace.runner import approval_gate, buyer_directory, usage_source

    monkeypatch.delenv("LAKEHOUSE_DATABASE_URL", raising=False)
    spec = "python:control_plane.costs.providers:"
    loaded = [
        usage_source(spec + "usage_source"),
        buyer_directory(spec + "buyer_directory"),
        approval_gate(spec + "approval_gate"),
    ]
    assert [type(x) for x in loaded] == [LedgerUsageSource, DbBuyerDirectory, DbApprovalGate]
    assert loaded[1].buyer_for("acme") is None
    for item in loaded:
        item.db.dispose()
