"""The cost ledger: record usage at the configured rates, month-to-date spend, budgets and 80%/100% alerts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from control_plane.audit.service import SYSTEM
from control_plane.audit.service import record as audit_record
from control_plane.costs.models import CostAlert, CostLedgerEntry
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import utcnow
from control_plane.quotas.models import Quota
from lakehouse.guardrails import MONTHLY_BUDGET_USD, UNITS, Usage

MICRO = Decimal(10) ** 6
NANO = Decimal(10) ** 9


def to_micros(quantity: Decimal) -> int:
    """A quantity in micro-units (6 decimals, half up)."""
    return int((quantity * MICRO).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_nano(usd: Decimal) -> int:
    """USD in nano-dollars (9 decimals, half up)."""
    return int((usd * NANO).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def usd(nano: int) -> Decimal:
    """Nano-dollars as USD."""
    return Decimal(nano) / NANO


def month_of(moment: datetime) -> tuple[str, datetime, datetime]:
    """(``YYYY-MM``, start, end) of the UTC month containing ``moment``."""
    moment = moment.astimezone(UTC)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), start, end


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of ``moment``'s day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _insert(db: Session) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def entry_key(tenant_id: str, run_id: str | None, source: str, resource: str) -> str:
    """What makes a ledger entry unique: a run's usage of one resource from one source is recorded once."""
    run = run_id if run_id is not None else f"adhoc-{uuid.uuid4().hex}"
    return hashlib.sha256(f"{tenant_id}|{run}|{source}|{resource}".encode()).hexdigest()


def record_usage(
    db: Session,
    *,
    tenant_id: str,
    run_id: str | None,
    usage: Usage,
    usage_at: datetime,
    source: str,
    settings: GuardrailSettings,
) -> int:
    """Append the run's non-zero usage to the ledger (idempotent per run, source and resource) and raise any
    budget alert it crosses, in the caller's transaction. Returns the number of new entries."""
    rates = settings.rates()
    now = utcnow()
    insert = _insert(db)
    added = 0
    for resource, quantity in usage.items():
        micros = to_micros(quantity)
        if micros == 0:
            continue
        rate = rates[resource]
        values = {
            "tenant_id": tenant_id,
            "entry_key": entry_key(tenant_id, run_id, source, resource),
            "run_id": run_id,
            "source": source,
            "resource": resource,
            "unit": UNITS[resource],
            "quantity_micros": micros,
            "unit_cost_nano_usd": to_nano(rate),
            "cost_nano_usd": to_nano(Decimal(micros) / MICRO * rate),
            "usage_at": usage_at.astimezone(UTC),
            "recorded_at": now,
        }
        inserted = db.execute(
            insert(CostLedgerEntry)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["entry_key"])
            .returning(CostLedgerEntry.id)
        ).first()
        added += inserted is not None
    if added:
        check_budget(db, tenant_id=tenant_id, moment=usage_at, run_id=run_id, settings=settings)
    db.flush()
    return added


def spent_nano(db: Session, tenant_id: str, start: datetime, end: datetime) -> int:
    """Estimated nano-USD of the tenant's usage with ``start <= usage_at < end``."""
    total = db.execute(
        select(func.coalesce(func.sum(CostLedgerEntry.cost_nano_usd), 0)).where(
            CostLedgerEntry.tenant_id == tenant_id,
            CostLedgerEntry.usage_at >= start,
            CostLedgerEntry.usage_at < end,
        )
    ).scalar_one()
    return int(total)


def used_quantity(db: Session, tenant_id: str, resource: str, start: datetime, end: datetime) -> Decimal:
    """How much of ``resource`` the tenant used with ``start <= usage_at < end``."""
    total = db.execute(
        select(func.coalesce(func.sum(CostLedgerEntry.quantity_micros), 0)).where(
            CostLedgerEntry.tenant_id == tenant_id,
            CostLedgerEntry.resource == resource,
            CostLedgerEntry.usage_at >= start,
            CostLedgerEntry.usage_at < end,
        )
    ).scalar_one()
    return Decimal(int(total)) / MICRO


def budget_usd(db: Session, tenant_id: str, settings: GuardrailSettings) -> tuple[Decimal, str]:
    """The tenant's monthly budget and where it comes from (its ``monthly_compute_usd`` quota, else the default)."""
    quota = db.get(Quota, (tenant_id, MONTHLY_BUDGET_USD))
    if quota is not None:
        return Decimal(str(quota.limit)), quota.source
    return settings.default_monthly_budget_usd, "default"


def check_budget(
    db: Session, *, tenant_id: str, moment: datetime, run_id: str | None, settings: GuardrailSettings
) -> list[CostAlert]:
    """Raise (once per month and level) the alerts whose threshold the month's spend has crossed; each one also
    goes to the tenant's audit chain."""
    month, start, end = month_of(moment)
    spent = spent_nano(db, tenant_id, start, end)
    budget, source = budget_usd(db, tenant_id, settings)
    budget_nano = to_nano(budget)
    raised: list[CostAlert] = []
    insert = _insert(db)
    for threshold in sorted(settings.budget_alert_thresholds):
        if spent * 100 < budget_nano * threshold:
            continue
        inserted = db.execute(
            insert(CostAlert)
            .values(
                tenant_id=tenant_id,
                month=month,
                threshold=threshold,
                spent_nano_usd=spent,
                budget_nano_usd=budget_nano,
                run_id=run_id,
                raised_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "month", "threshold"])
            .returning(CostAlert.threshold)
        ).first()
        if inserted is None:  # raised before (rowcount is not reliable for ORM inserts on every driver)
            continue
        alert = db.get(CostAlert, (tenant_id, month, threshold))
        assert alert is not None
        raised.append(alert)
        audit_record(
            db,
            actor=SYSTEM,
            action="cost.budget_alert",
            tenant_id=tenant_id,
            resource=f"tenant/{tenant_id}/costs/{month}",
            reason=f"estimated spend ${usd(spent):.2f} reached {threshold}% of the monthly budget "
            f"${budget:.2f} ({source})" + (f" with run {run_id}" if run_id else ""),
            after={
                "month": month,
                "threshold": threshold,
                "spent_nano_usd": spent,
                "budget_nano_usd": budget_nano,
                "run_id": run_id,
            },
        )
    return raised


def ledger_totals(
    db: Session, tenant_id: str, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Quantity and estimated cost per resource (exact decimals)."""
    query = (
        select(
            CostLedgerEntry.resource,
            CostLedgerEntry.unit,
            func.sum(CostLedgerEntry.quantity_micros),
            func.sum(CostLedgerEntry.cost_nano_usd),
            func.count(),
        )
        .where(CostLedgerEntry.tenant_id == tenant_id)
        .group_by(CostLedgerEntry.resource, CostLedgerEntry.unit)
    )
    if start is not None:
        query = query.where(CostLedgerEntry.usage_at >= start)
    if end is not None:
        query = query.where(CostLedgerEntry.usage_at < end)
    rows = db.execute(query.order_by(CostLedgerEntry.resource)).all()
    return [
        {
            "resource": r[0],
            "unit": r[1],
            "quantity": Decimal(int(r[2])) / MICRO,
            "estimated_cost_usd": usd(int(r[3])),
            "entries": int(r[4]),
        }
        for r in rows
    ]


def summary(db: Session, tenant_id: str, *, moment: datetime, settings: GuardrailSettings) -> dict[str, Any]:
    """The month's spend against the budget, per resource, and the alerts raised."""
    month, start, end = month_of(moment)
    spent = spent_nano(db, tenant_id, start, end)
    budget, source = budget_usd(db, tenant_id, settings)
    percent = (Decimal(spent) / to_nano(budget) * 100) if budget > 0 else None
    alerts = list(
        db.execute(
            select(CostAlert)
            .where(CostAlert.tenant_id == tenant_id, CostAlert.month == month)
            .order_by(CostAlert.threshold)
        ).scalars()
    )
    level = max((a.threshold for a in alerts), default=0)
    return {
        "tenant_id": tenant_id,
        "month": month,
        "budget_usd": budget,
        "budget_source": source,
        "spent_usd": usd(spent),
        "percent_of_budget": percent.quantize(Decimal("0.01")) if percent is not None else None,
        "status": "over_budget" if level >= 100 else "warning" if level else "ok",
        "by_resource": ledger_totals(db, tenant_id, start, end),
        "alerts": alerts,
    }
