"""Quota limits and atomic reservations.

A reservation is taken in one write transaction that first serialises on the tenant — ``BEGIN IMMEDIATE`` on
SQLite (one writer at a time, across processes), a transaction-scoped advisory lock on PostgreSQL — then counts
the tenant's active reservations, checks the budget and the daily row quota, and inserts the reservation. Two runs
racing for the last slot therefore cannot both see it free: exactly one starts.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from control_plane.audit.service import Actor
from control_plane.audit.service import record as audit_record
from control_plane.costs import service as costs
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import new_id, utcnow
from control_plane.quotas.models import Quota, QuotaReservation
from control_plane.tenants.models import Tenant
from lakehouse.guardrails import (
    AGENT_TOKENS_PER_DAY,
    CONCURRENT_CONNECTOR_SYNCS,
    CONCURRENT_PIPELINE_RUNS,
    MONTHLY_BUDGET_USD,
    ROWS_INGESTED_PER_DAY,
    RUN_KINDS,
    QuotaExceeded,
    Usage,
)

# Which concurrency quota each kind of run counts against (writes are gated by approvals, not concurrency).
CONCURRENCY: dict[str, str | None] = {
    "pipeline_run": CONCURRENT_PIPELINE_RUNS,
    "connector_sync": CONCURRENT_CONNECTOR_SYNCS,
    "partner_central_write": None,
    "agent_ask": None,
}
QUOTA_HINT = "a platform admin can raise it with PUT /tenants/{tenant}/quotas"


def limits(db: Session, tenant_id: str, settings: GuardrailSettings) -> dict[str, float]:
    """The tenant's guardrail limits: its quota rows, else the configured defaults."""
    values = settings.default_limits()
    rows = db.execute(
        select(Quota).where(Quota.tenant_id == tenant_id, Quota.resource.in_(list(values)))
    ).scalars()
    for quota in rows:
        values[quota.resource] = float(quota.limit)
    return values


def set_limits(
    db: Session,
    *,
    tenant: Tenant,
    values: dict[str, float],
    actor: Actor,
    reason: str | None,
    request_id: str | None,
) -> list[Quota]:
    """Create or change quota rows (``source = manual``), audited; returns the rows now set."""
    rows = []
    now = utcnow()
    for resource, limit in sorted(values.items()):
        quota = db.get(Quota, (tenant.id, resource))
        before = (
            None if quota is None else {"resource": resource, "limit": quota.limit, "source": quota.source}
        )
        if quota is None:
            quota = Quota(
                tenant_id=tenant.id, resource=resource, limit=float(limit), source="manual", updated_at=now
            )
            db.add(quota)
        elif quota.limit == float(limit) and quota.source == "manual":
            rows.append(quota)
            continue
        else:
            quota.limit, quota.source, quota.updated_at = float(limit), "manual", now
        db.flush()
        audit_record(
            db,
            actor=actor,
            action="quota.set",
            tenant_id=tenant.id,
            resource=f"tenant/{tenant.id}/quota/{resource}",
            reason=reason,
            request_id=request_id,
            before=before,
            after={"resource": resource, "limit": float(limit), "source": "manual"},
        )
        rows.append(quota)
    return rows


def _serialise_on_tenant(db: Session, tenant_id: str) -> None:
    """Make concurrent reservations of one tenant take turns (SQLite: the write transaction already does)."""
    if db.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"quota:{tenant_id}".encode()).digest()[:8], "big", signed=True)
        db.execute(select(func.pg_advisory_xact_lock(key)))


def active_reservations(db: Session, tenant_id: str, kind: str, now: datetime) -> list[QuotaReservation]:
    """Reservations of ``kind`` still held (released ones and expired leases do not count)."""
    return list(
        db.execute(
            select(QuotaReservation)
            .where(
                QuotaReservation.tenant_id == tenant_id,
                QuotaReservation.kind == kind,
                QuotaReservation.status == "active",
                QuotaReservation.expires_at > now,
            )
            .order_by(QuotaReservation.created_at)
        ).scalars()
    )


def _fmt(value: float | Decimal) -> str:
    number = float(value)
    return f"{int(number):,}" if number == int(number) else f"{number:,.2f}"


def reserve(
    db: Session,
    *,
    tenant_id: str,
    kind: str,
    run_id: str,
    settings: GuardrailSettings,
    now: datetime | None = None,
) -> tuple[QuotaReservation, dict[str, float]]:
    """Reserve a slot for a run (in the caller's write transaction, committed by the caller), or raise
    ``QuotaExceeded`` naming the quota that refused it. Returns the reservation and the tenant's limits."""
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}")
    now = now or utcnow()
    if db.get(Tenant, tenant_id) is None:
        raise QuotaExceeded(
            f"tenant {tenant_id!r} is not provisioned in the control plane; provision it "
            f"(PUT /tenants/{tenant_id}) before running"
        )
    _serialise_on_tenant(db, tenant_id)
    values = limits(db, tenant_id, settings)
    hint = QUOTA_HINT.format(tenant=tenant_id)

    month, start, end = costs.month_of(now)
    spent = costs.usd(costs.spent_nano(db, tenant_id, start, end))
    budget, source = costs.budget_usd(db, tenant_id, settings)
    if spent >= budget:
        raise QuotaExceeded(
            f"tenant {tenant_id}: the estimated spend for {month} (${spent:.2f}) has reached the monthly budget "
            f"(${budget:.2f}, quota {MONTHLY_BUDGET_USD} from {source}); the {kind.replace('_', ' ')} was not "
            f"started. The budget resets on the 1st (UTC); {hint}"
        )
    if kind == "connector_sync":
        rows_today = costs.used_quantity(
            db, tenant_id, "rows_ingested", costs.day_start(now), now + timedelta(days=1)
        )
        limit = values[ROWS_INGESTED_PER_DAY]
        if rows_today >= Decimal(str(limit)):
            raise QuotaExceeded(
                f"tenant {tenant_id}: {_fmt(rows_today)} rows were ingested today (UTC), which meets the quota "
                f"{ROWS_INGESTED_PER_DAY} = {_fmt(limit)}; nothing was ingested. The quota resets at 00:00 UTC; "
                f"{hint}"
            )
    if kind == "agent_ask":
        day, tomorrow = costs.day_start(now), now + timedelta(days=1)
        tokens_today = costs.used_quantity(db, tenant_id, "model_input_tokens", day, tomorrow) + (
            costs.used_quantity(db, tenant_id, "model_output_tokens", day, tomorrow)
        )
        limit = values[AGENT_TOKENS_PER_DAY]
        if tokens_today >= Decimal(str(limit)):
            raise QuotaExceeded(
                f"tenant {tenant_id}: agents used {_fmt(tokens_today)} model tokens today (UTC), which meets the "
                f"quota {AGENT_TOKENS_PER_DAY} = {_fmt(limit)}; nothing was asked. The quota resets at 00:00 UTC; "
                f"{hint}"
            )
    resource = CONCURRENCY[kind]
    if resource is not None:
        limit = values[resource]
        held = active_reservations(db, tenant_id, kind, now)
        if len(held) >= limit:
            running = ", ".join(r.run_id for r in held[:3]) + ("..." if len(held) > 3 else "")
            raise QuotaExceeded(
                f"tenant {tenant_id}: {len(held)} {kind.replace('_', ' ')}(s) already running ({running or 'none'}), "
                f"the quota {resource} is {_fmt(limit)}; the run was not started. Retry when one finishes; {hint}"
            )
    reservation = QuotaReservation(
        id=new_id("rsv-", 12),
        tenant_id=tenant_id,
        kind=kind,
        run_id=run_id[:200],
        status="active",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.reservation_lease_seconds),
        released_at=None,
    )
    db.add(reservation)
    db.flush()
    return reservation, values


def release(
    db: Session,
    *,
    reservation_id: str,
    usage: Usage | None,
    usage_at: datetime,
    source: str,
    settings: GuardrailSettings,
) -> QuotaReservation | None:
    """Free the reservation and record the run's usage in the ledger (both idempotent), in the caller's transaction."""
    reservation = db.get(QuotaReservation, reservation_id)
    if reservation is None:
        return None
    if reservation.status == "active":
        reservation.status, reservation.released_at = "released", utcnow()
    if usage is not None:
        costs.record_usage(
            db,
            tenant_id=reservation.tenant_id,
            run_id=reservation.run_id,
            usage=usage,
            usage_at=usage_at.astimezone(UTC),
            source=source,
            settings=settings,
        )
    db.flush()
    return reservation


def usage_state(
    db: Session, tenant_id: str, settings: GuardrailSettings, now: datetime | None = None
) -> dict[str, Any]:
    """Limits and current use of every guardrail quota (for the API)."""
    now = now or utcnow()
    values = limits(db, tenant_id, settings)
    month, start, end = costs.month_of(now)
    return {
        "tenant_id": tenant_id,
        "limits": values,
        "running": {
            kind: [r.run_id for r in active_reservations(db, tenant_id, kind, now)]
            for kind, resource in CONCURRENCY.items()
            if resource
        },
        "rows_ingested_today": costs.used_quantity(
            db, tenant_id, "rows_ingested", costs.day_start(now), now + timedelta(days=1)
        ),
        "month": month,
        "spent_usd": costs.usd(costs.spent_nano(db, tenant_id, start, end)),
    }
