"""Routes of the quotas domain: guardrail limits and current use, and setting a tenant's limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from control_plane.costs.settings import GuardrailSettings
from control_plane.deps import Authorized, AuthorizeTenant
from control_plane.errors import responses
from control_plane.quotas import service
from control_plane.request_model import RequestModel
from control_plane.tenants.schemas import QuotaOut

router = APIRouter(tags=["quotas"])
AUTH = (401, 403, 422)


class QuotaLimits(RequestModel):
    """Limits to set on one tenant (``resource -> limit``); other resources keep theirs."""

    model_config = ConfigDict(extra="forbid")

    limits: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")], Annotated[float, Field(ge=0, le=1e15)]
    ] = Field(
        min_length=1,
        max_length=50,
        description="e.g. concurrent_pipeline_runs, rows_ingested_per_day, "
        "api_calls_per_minute, monthly_compute_usd (the monthly budget)",
    )


class GuardrailsOut(BaseModel):
    """Every guardrail quota's limit and what is used right now."""

    tenant_id: str
    limits: dict[str, float]
    running: dict[str, list[str]] = Field(description="Run ids holding a concurrency slot, per kind of run")
    rows_ingested_today: Decimal
    month: str
    spent_usd: Decimal


@router.get("/tenants/{tenant_id}/guardrails", response_model=GuardrailsOut, responses=responses(*AUTH, 404))
def guardrails(auth: Annotated[Authorized, Depends(AuthorizeTenant("quotas:read"))]) -> GuardrailsOut:
    """Limits (quota rows, else defaults), running reservations, rows ingested today and the month's spend."""
    assert auth.tenant is not None
    return GuardrailsOut(**service.usage_state(auth.db, auth.tenant.id, GuardrailSettings()))


@router.put(
    "/tenants/{tenant_id}/quotas", response_model=list[QuotaOut], responses=responses(*AUTH, 400, 404)
)
def put_quotas(
    body: QuotaLimits, auth: Annotated[Authorized, Depends(AuthorizeTenant("quotas:write"))]
) -> list[QuotaOut]:
    """Set quota limits of the tenant (platform admins; audited). Returns the limits set."""
    assert auth.tenant is not None
    rows = service.set_limits(
        auth.db,
        tenant=auth.tenant,
        values=body.limits,
        actor=auth.ctx.principal.actor,
        reason=auth.ctx.reason,
        request_id=auth.ctx.request_id,
    )
    auth.db.commit()
    return [QuotaOut.model_validate(r) for r in rows]
