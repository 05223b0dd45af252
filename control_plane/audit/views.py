"""Routes of the audit domain."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from control_plane.audit import service
from control_plane.audit.anchor import AnchorError, anchor_heads, latest_anchor
from control_plane.audit.keys import current_key
from control_plane.audit.models import PLATFORM_CHAIN, AuditEntry
from control_plane.audit.schemas import (
    AnchorOut,
    AnchorStatusOut,
    AuditEntryOut,
    ChainReportOut,
    DashboardViewOut,
    DashboardViewSpec,
    VerifyOut,
)
from control_plane.authz.service import require, tenant_resource
from control_plane.deps import (
    TENANT_ID_PATTERN,
    Authorized,
    AuthorizeGlobal,
    AuthorizePlatform,
    AuthorizeTenant,
)
from control_plane.errors import Conflict, NotFound, responses
from control_plane.tenants.models import Tenant
from control_plane.tenants.service import get_tenant, scoped

router = APIRouter(tags=["audit"])


@router.get(
    "/tenants/{tenant_id}/audit", response_model=list[AuditEntryOut], responses=responses(401, 403, 404, 422)
)
def list_entries(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("audit:read"))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[AuditEntryOut]:
    """The tenant's audit chain, oldest first (page with ``after_seq``)."""
    rows = auth.db.execute(
        select(AuditEntry)
        .where(AuditEntry.chain == auth.target.id, AuditEntry.seq > after_seq)
        .order_by(AuditEntry.seq)
        .limit(limit)
    ).scalars()
    return [AuditEntryOut.model_validate(r) for r in rows]


@router.get("/audit/verify", response_model=VerifyOut, responses=responses(401, 403, 404, 422))
def verify(
    request: Request,
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("audit:verify"))],
    tenant_id: Annotated[
        str | None, Query(pattern=TENANT_ID_PATTERN, description="Only this tenant's chain")
    ] = None,
) -> VerifyOut:
    """Recompute the audit chains the caller can see (one tenant's with ``tenant_id``; the platform's for admins)."""
    principal = auth.ctx.principal
    if tenant_id is not None:
        tenant = get_tenant(auth.db, principal, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id!r} not found")
        require(
            principal,
            "audit:verify",
            tenant_resource(tenant.id, tenant.path),
            environment=auth.ctx.environment,
            reason=auth.ctx.reason,
            request_id=auth.ctx.request_id,
        )
        chains = [tenant.id]
    elif principal.is_platform:
        chains = service.visible_chains(auth.db, None)
        if PLATFORM_CHAIN not in chains:
            chains.append(PLATFORM_CHAIN)
    else:
        ids = list(auth.db.execute(scoped(select(Tenant.id), Tenant.id, principal)).scalars())
        chains = service.visible_chains(auth.db, ids)
    key = current_key()
    store = getattr(request.app.state, "audit_anchor_store", None)
    anchored: dict[str, list[int | str]] = {}
    status: AnchorStatusOut | None = None
    if store is not None:
        try:
            document = latest_anchor(store, key)
        except AnchorError as exc:
            status = AnchorStatusOut(anchored_at=None, ok=False, problem=str(exc))
        else:
            anchored = document["heads"] if document else {}
            status = AnchorStatusOut(anchored_at=document["anchored_at"] if document else None, ok=True)
    reports = []
    for chain in chains:
        at = anchored.get(chain)
        reports.append(
            service.verify_chain(auth.db, chain, key=key, anchored=(int(at[0]), str(at[1])) if at else None)
        )
    ok = all(r.ok for r in reports) and (status is None or status.ok)
    return VerifyOut(ok=ok, chains=[ChainReportOut(**asdict(r)) for r in reports], anchor=status)


@router.post("/audit/anchor", response_model=AnchorOut, responses=responses(401, 403, 409))
async def anchor(
    request: Request, auth: Annotated[Authorized, Depends(AuthorizePlatform("audit:anchor"))]
) -> AnchorOut:
    """Anchor every chain head outside the database now (platform admins; also done periodically)."""
    store = getattr(request.app.state, "audit_anchor_store", None)
    if store is None:
        raise Conflict("no anchor store is configured: set LAKEHOUSE_AUDIT_ANCHOR_URI")
    document = await run_in_threadpool(anchor_heads, auth.state.db, store, current_key())
    return AnchorOut(anchored_at=document["anchored_at"], chains=len(document["heads"]))


@router.post(
    "/tenants/{tenant_id}/audit/dashboard-views",
    response_model=DashboardViewOut,
    responses=responses(400, 401, 403, 404, 422),
)
def record_dashboard_view(
    body: DashboardViewSpec, auth: Annotated[Authorized, Depends(AuthorizeTenant("data:read"))]
) -> DashboardViewOut:
    """Record that the caller looks at this tenant's data on the dashboards (audited when it is not the
    caller's own tenant); the caller must be allowed to read the tenant's data."""
    tenant = auth.tenant
    if tenant is None:  # the tenant gate always sets it
        raise NotFound("tenant not found")
    entry = service.record_dashboard_view(auth.db, auth.ctx, tenant.id, reason=body.reason)
    return DashboardViewOut(
        tenant_id=tenant.id,
        recorded=entry is not None,
        action=service.DASHBOARD_VIEW,
        seq=entry.seq if entry is not None else None,
    )
