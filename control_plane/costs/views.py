"""Routes of the costs domain: the month's spend against the budget, the ledger and the budget alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from control_plane.costs import service
from control_plane.costs.models import CostAlert, CostLedgerEntry
from control_plane.costs.settings import GuardrailSettings
from control_plane.deps import Authorized, AuthorizeTenant, PageDep
from control_plane.errors import responses

router = APIRouter(tags=["costs"])
AUTH = (401, 403, 422)
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class AlertOut(BaseModel):
    tenant_id: str
    month: str
    threshold: int
    spent_usd: Decimal
    budget_usd: Decimal
    run_id: str | None
    raised_at: datetime


class ResourceTotal(BaseModel):
    resource: str
    unit: str
    quantity: Decimal
    estimated_cost_usd: Decimal
    entries: int


class CostSummary(BaseModel):
    """The month's estimated spend: ``status`` is ok, warning (>= 80%) or over_budget (>= 100%)."""

    tenant_id: str
    month: str
    budget_usd: Decimal
    budget_source: str
    spent_usd: Decimal
    percent_of_budget: Decimal | None
    status: str
    by_resource: list[ResourceTotal]
    alerts: list[AlertOut]


class LedgerEntryOut(BaseModel):
    id: int
    tenant_id: str
    run_id: str | None
    source: str
    resource: str
    unit: str
    quantity: Decimal
    unit_cost_usd: Decimal
    estimated_cost_usd: Decimal
    usage_at: datetime
    recorded_at: datetime


def alert_out(alert: CostAlert) -> AlertOut:
    return AlertOut(
        tenant_id=alert.tenant_id,
        month=alert.month,
        threshold=alert.threshold,
        spent_usd=service.usd(alert.spent_nano_usd),
        budget_usd=service.usd(alert.budget_nano_usd),
        run_id=alert.run_id,
        raised_at=alert.raised_at,
    )


def _moment(month: str | None) -> datetime:
    if month is None:
        return datetime.now(UTC)
    return datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=UTC)


@router.get("/tenants/{tenant_id}/costs", response_model=CostSummary, responses=responses(*AUTH, 404))
def costs(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("quotas:read"))],
    month: Annotated[
        str | None, Query(pattern=MONTH, description="YYYY-MM (UTC); default: this month")
    ] = None,
) -> CostSummary:
    """Estimated spend of the month against the monthly budget, per resource, with the alerts raised."""
    assert auth.tenant is not None
    settings = GuardrailSettings()  # filled from the environment
    data = service.summary(auth.db, auth.tenant.id, moment=_moment(month), settings=settings)
    data["alerts"] = [alert_out(a) for a in data["alerts"]]
    return CostSummary(**data)


@router.get(
    "/tenants/{tenant_id}/cost-ledger", response_model=list[LedgerEntryOut], responses=responses(*AUTH, 404)
)
def ledger(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("quotas:read"))],
    run_id: Annotated[str | None, Query(max_length=200)] = None,
    after_id: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LedgerEntryOut]:
    """Ledger entries of the tenant, oldest first (page with ``after_id``)."""
    assert auth.tenant is not None
    query = select(CostLedgerEntry).where(
        CostLedgerEntry.tenant_id == auth.tenant.id, CostLedgerEntry.id > after_id
    )
    if run_id is not None:
        query = query.where(CostLedgerEntry.run_id == run_id)
    rows = auth.db.execute(query.order_by(CostLedgerEntry.id).limit(limit)).scalars()
    return [
        LedgerEntryOut(
            id=r.id,
            tenant_id=r.tenant_id,
            run_id=r.run_id,
            source=r.source,
            resource=r.resource,
            unit=r.unit,
            quantity=Decimal(r.quantity_micros) / service.MICRO,
            unit_cost_usd=service.usd(r.unit_cost_nano_usd),
            estimated_cost_usd=service.usd(r.cost_nano_usd),
            usage_at=r.usage_at,
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]


@router.get(
    "/tenants/{tenant_id}/cost-alerts", response_model=list[AlertOut], responses=responses(*AUTH, 404)
)
def alerts(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("quotas:read"))], page: PageDep
) -> list[AlertOut]:
    """Budget alerts (80% and 100% of the monthly budget), newest month first (``limit``, ``offset``)."""
    assert auth.tenant is not None
    rows = auth.db.execute(
        select(CostAlert)
        .where(CostAlert.tenant_id == auth.tenant.id)
        .order_by(CostAlert.month.desc(), CostAlert.threshold)
        .limit(page.limit)
        .offset(page.offset)
    ).scalars()
    return [alert_out(a) for a in rows]
