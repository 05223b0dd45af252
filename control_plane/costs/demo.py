"""For ``lakehouse demo``: record the demo runs' usage in the cost ledger and hand back a ``UsageSource``.

    from control_plane.costs.demo import record_demo_usage
    from lakehouse.guardrails import RecordedRun, Usage
    source = record_demo_usage([RecordedRun("acme", run_id, Usage(compute_seconds=..., api_calls=...,
                                                                  rows_ingested=...), finished_at), ...])
    run_demo(spark, usage=source)            # lakehouse.marketplace.demo: meters what the ledger holds

Tenants the control plane does not know yet are provisioned as enterprises on the default plan first (the ledger
belongs to provisioned tenants). Recording the same run again adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from control_plane.auth.principal import Principal
from control_plane.context import RequestContext
from control_plane.costs.ledger import DbUsageRecorder, LedgerUsageSource
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope
from control_plane.quotas.local import is_provisioned, open_database
from lakehouse.guardrails import RecordedRun


def ensure_tenants(db: Database, tenant_ids: Iterable[str], *, lake_root: str | None = None) -> list[str]:
    """Provision the tenants that do not exist yet (enterprises, default plan); returns those created."""
    from control_plane.tenants.flows import ensure_default_plans, provision
    from control_plane.tenants.provisioning import LakePrefixes, Provisioner, SqlWarehouse
    from lakehouse.settings import get_settings

    missing = sorted({t for t in tenant_ids if not is_provisioned(db, t)})
    if not missing:
        return []
    root = lake_root or get_settings().lake_root
    warehouse = SqlWarehouse.from_environment()
    provisioner = Provisioner(LakePrefixes(root), warehouse)
    principal = Principal(
        subject="system:demo", role="platform_admin", tenant_id=None, tenant_path=None, via="cli"
    )
    ctx = RequestContext(
        principal=principal, environment=get_settings().environment, reason="lakehouse demo", request_id=None
    )
    try:
        with db.session(DbScope.for_platform(), write=True) as session:
            ensure_default_plans(session)
            for tenant_id in missing:
                provision(
                    session, ctx, provisioner, tenant_id, {"kind": "enterprise", "name": tenant_id.title()}
                )
    finally:
        warehouse.close()
    return missing


def record_demo_usage(
    runs: Iterable[RecordedRun], *, database_url: str | None = None, settings: GuardrailSettings | None = None
) -> LedgerUsageSource:
    """Record each run's usage in the ledger (idempotent per run) and return a ``UsageSource`` over the ledger."""
    runs = list(runs)
    db = open_database(database_url)
    ensure_tenants(db, [r.tenant_id for r in runs])
    recorder = DbUsageRecorder(db, settings)
    for run in runs:
        recorder.record(run.tenant_id, run.run_id, run.usage, usage_at=run.usage_at, source=run.source)
    return LedgerUsageSource(db)
