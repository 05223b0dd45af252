"""Routes of the tenants domain: views translate; flows and services do the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import select

from control_plane.deps import TENANT_ID_PATTERN, Authenticated, Authorized, AuthorizeGlobal, AuthorizeTenant
from control_plane.errors import NotFound, responses
from control_plane.quotas.models import Quota
from control_plane.tenants import flows, service
from control_plane.tenants.models import Plan
from control_plane.tenants.schemas import (
    PlanOut,
    PlanSpec,
    ProvisionResult,
    QuotaOut,
    StepOut,
    TenantOut,
    TenantSpec,
)

router = APIRouter(tags=["tenants"])
AUTH = (401, 403, 422)


@router.get("/tenants", response_model=list[TenantOut], responses=responses(*AUTH))
def list_tenants(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("tenants:read"))],
    kind: Annotated[str | None, Query(pattern="^(enterprise|org|workspace)$")] = None,
    parent_id: Annotated[str | None, Query(pattern=TENANT_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TenantOut]:
    """Tenants the caller can see (its own and its descendants; all for a platform admin)."""
    rows = service.list_tenants(
        auth.db, auth.ctx.principal, kind=kind, parent_id=parent_id, limit=limit, offset=offset
    )
    return [TenantOut.model_validate(t) for t in rows]


@router.get("/tenants/{tenant_id}", response_model=TenantOut, responses=responses(*AUTH, 404))
async def get_tenant(auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:read"))]) -> TenantOut:
    """One tenant."""
    # async: the gate already loaded the tenant, so there is no I/O left (and no second threadpool hop).
    return TenantOut.model_validate(auth.tenant)


@router.put(
    "/tenants/{tenant_id}",
    response_model=ProvisionResult,
    status_code=200,
    responses={
        201: {"model": ProvisionResult, "description": "Created and provisioned"},
        **responses(*AUTH, 400, 404, 409, 503),
    },
)
def put_tenant(
    spec: TenantSpec,
    response: Response,
    auth: Annotated[Authorized, Depends(Authenticated("tenants:provision"))],
    tenant_id: Annotated[str, Path(pattern=TENANT_ID_PATTERN)],
) -> ProvisionResult:
    """Provision a tenant (idempotent). 201 when created; 200 when unchanged, updated or resumed."""
    tenant, outcome = flows.provision(auth.db, auth.ctx, auth.state.provisioner, tenant_id, spec.model_dump())
    if outcome == "created":
        response.status_code = 201
    return ProvisionResult.model_validate(
        {**TenantOut.model_validate(tenant).model_dump(), "outcome": outcome}
    )


@router.get(
    "/tenants/{tenant_id}/provisioning", response_model=list[StepOut], responses=responses(*AUTH, 404)
)
def get_provisioning(auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:read"))]) -> list[StepOut]:
    """The recorded provisioning steps (a failed step says why; repeating the PUT resumes there)."""
    assert auth.tenant is not None  # the tenant gate always sets it
    return [StepOut.model_validate(s) for s in service.steps(auth.db, auth.tenant.id)]


@router.get("/tenants/{tenant_id}/quotas", response_model=list[QuotaOut], responses=responses(*AUTH, 404))
def get_quotas(auth: Annotated[Authorized, Depends(AuthorizeTenant("quotas:read"))]) -> list[QuotaOut]:
    """The tenant's quota limits."""
    assert auth.tenant is not None  # the tenant gate always sets it
    rows = auth.db.execute(
        select(Quota).where(Quota.tenant_id == auth.tenant.id).order_by(Quota.resource)
    ).scalars()
    return [QuotaOut.model_validate(q) for q in rows]


@router.get("/plans", response_model=list[PlanOut], responses=responses(401, 403))
def list_plans(auth: Annotated[Authorized, Depends(AuthorizeGlobal("plans:read", "plan"))]) -> list[PlanOut]:
    """Every plan."""
    return [PlanOut.model_validate(p) for p in auth.db.execute(select(Plan).order_by(Plan.id)).scalars()]


@router.get("/plans/{plan_id}", response_model=PlanOut, responses=responses(*AUTH, 404))
def get_plan(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("plans:read", "plan"))],
    plan_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")],
) -> PlanOut:
    """One plan."""
    plan = auth.db.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id!r} not found")
    return PlanOut.model_validate(plan)


@router.put(
    "/plans/{plan_id}",
    response_model=PlanOut,
    responses={201: {"model": PlanOut, "description": "Created"}, **responses(*AUTH, 400)},
)
def put_plan(
    spec: PlanSpec,
    response: Response,
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("plans:write", "plan"))],
    plan_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")],
) -> PlanOut:
    """Create or replace a plan (platform admins; reason required). Existing tenants keep their quotas until re-provisioned."""
    plan, created = flows.put_plan(auth.db, auth.ctx, plan_id, spec.model_dump())
    if created:
        response.status_code = 201
    return PlanOut.model_validate(plan)
