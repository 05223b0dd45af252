"""Routes of the approvals domain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from control_plane.approvals import service
from control_plane.approvals.models import ApprovalRequest
from control_plane.approvals.schemas import (
    APPROVAL_ID_PATTERN,
    ApprovalOut,
    ApprovalSpec,
    PolicyOut,
    PolicySpec,
)
from control_plane.authz.service import require, tenant_resource
from control_plane.context import RequestContext
from control_plane.costs.settings import GuardrailSettings
from control_plane.deps import Authenticated, Authorized, AuthorizeTenant
from control_plane.errors import Conflict, Forbidden, Invalid, NotFound, responses
from control_plane.tenants.models import Tenant
from control_plane.tenants.service import get_tenant, scoped
from lakehouse.errors import BadInput
from lakehouse.marketplace.interfaces import ApprovalRefused

router = APIRouter(tags=["approvals"])
AUTH = (401, 403, 422)
ApprovalId = Annotated[str, Path(pattern=APPROVAL_ID_PATTERN, description="Approval id")]


def out(row: ApprovalRequest) -> ApprovalOut:
    """The response body of one approval (effective status)."""
    data: dict[str, Any] = {k: getattr(row, k) for k in ApprovalOut.model_fields if k != "status"}
    return ApprovalOut(**data, status=service.effective_status(row))


def require_any(ctx: RequestContext, actions: tuple[str, ...], tenant: Tenant) -> None:
    """Allowed when the PDP allows any of ``actions`` on the tenant; otherwise the first refusal (403)."""
    first: Forbidden | None = None
    for action in actions:
        try:
            require(
                ctx.principal,
                action,
                tenant_resource(tenant.id, tenant.path),
                environment=ctx.environment,
                reason=ctx.reason,
                request_id=ctx.request_id,
            )
            return
        except Forbidden as exc:
            first = first or exc
    assert first is not None
    raise first


def _visible(auth: Authorized, approval_id: str) -> tuple[ApprovalRequest, Tenant]:
    """The approval and its tenant if the caller can see them (404 otherwise)."""
    principal = auth.ctx.principal
    row = auth.db.execute(
        scoped(
            select(ApprovalRequest).where(ApprovalRequest.id == approval_id),
            ApprovalRequest.tenant_id,
            principal,
        )
    ).scalar_one_or_none()
    tenant = get_tenant(auth.db, principal, row.tenant_id) if row is not None else None
    if row is None or tenant is None:
        raise NotFound(f"approval {approval_id!r} not found")
    return row, tenant


@router.post("/approvals", response_model=ApprovalOut, status_code=201, responses=responses(*AUTH, 400, 404))
def request_approval(
    spec: ApprovalSpec, auth: Annotated[Authorized, Depends(Authenticated("approvals:request"))]
) -> ApprovalOut:
    """Request an action (``pending``; approved by the system in ``auto_sandbox`` mode on the Sandbox catalog)."""
    tenant = get_tenant(auth.db, auth.ctx.principal, spec.tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {spec.tenant_id!r} not found")
    require_any(auth.ctx, ("approvals:request", "data:write"), tenant)
    try:
        row = service.request(
            auth.db,
            tenant=tenant,
            action=spec.action,
            payload=spec.payload,
            target=spec.target,
            reason=spec.reason,
            requester=auth.ctx.principal.actor,
            request_id=auth.ctx.request_id,
            settings=GuardrailSettings(),
        )
    except BadInput as exc:
        auth.db.rollback()
        raise Invalid(str(exc), problems=[{"loc": ["body"], "msg": str(exc)}]) from None
    auth.db.commit()
    return out(row)


@router.get(
    "/tenants/{tenant_id}/approvals", response_model=list[ApprovalOut], responses=responses(*AUTH, 404)
)
def list_approvals(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("audit:read"))],
    status: Annotated[
        str | None, Query(pattern="^(pending|approved|rejected|executing|executed|failed|expired)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApprovalOut]:
    """The tenant's approval requests, newest first."""
    assert auth.tenant is not None
    return [out(r) for r in service.list_requests(auth.db, auth.tenant.id, status=status, limit=limit)]


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, responses=responses(*AUTH, 404))
def get_approval(
    approval_id: ApprovalId, auth: Annotated[Authorized, Depends(Authenticated("approvals:read"))]
) -> ApprovalOut:
    """One approval request."""
    row, tenant = _visible(auth, approval_id)
    require_any(auth.ctx, ("approvals:read", "audit:read"), tenant)
    return out(row)


def _decide(auth: Authorized, approval_id: str, approve: bool) -> ApprovalOut:
    row, tenant = _visible(auth, approval_id)
    principal = auth.ctx.principal
    minted_by = service.credential_minter(auth.db, principal.subject)
    try:
        service.check_separation_of_duties(
            row, decider_subject=principal.subject, credential_minted_by=minted_by, approve=approve
        )
    except service.SelfApproval as exc:
        raise Forbidden(str(exc), reasons=["separation of duties: the requester cannot decide"]) from None
    require(
        principal,
        "approvals:approve",
        tenant_resource(
            tenant.id,
            tenant.path,
            type_="approval",
            id_=row.id,
            requested_by=row.requested_by,
            credential_minted_by=minted_by,
        ),
        environment=auth.ctx.environment,
        reason=auth.ctx.reason,
        request_id=auth.ctx.request_id,
    )
    if principal.role != "approver":
        raise Forbidden(
            f"only a user with the approver role may {'approve' if approve else 'reject'} requests",
            reasons=[f"role {principal.role} is not approver"],
        )
    try:
        row = service.decide(
            auth.db,
            approval_id=row.id,
            approve=approve,
            decider=principal.actor,
            reason=auth.ctx.reason,
            request_id=auth.ctx.request_id,
            credential_minted_by=minted_by,
        )
    except service.SelfApproval as exc:
        auth.db.rollback()
        raise Forbidden(str(exc), reasons=["a requester cannot decide their own request"]) from None
    except ApprovalRefused as exc:
        auth.db.rollback()
        raise Conflict(str(exc)) from None
    auth.db.commit()
    return out(row)


@router.post(
    "/approvals/{approval_id}/approve", response_model=ApprovalOut, responses=responses(*AUTH, 404, 409)
)
def approve(
    approval_id: ApprovalId, auth: Annotated[Authorized, Depends(Authenticated("approvals:approve"))]
) -> ApprovalOut:
    """Approve a pending, unexpired request (approver role; never your own request). Reason: X-Audit-Reason."""
    return _decide(auth, approval_id, True)


@router.post(
    "/approvals/{approval_id}/reject", response_model=ApprovalOut, responses=responses(*AUTH, 404, 409)
)
def reject(
    approval_id: ApprovalId, auth: Annotated[Authorized, Depends(Authenticated("approvals:approve"))]
) -> ApprovalOut:
    """Reject a pending request (approver role; never your own request). Reason: X-Audit-Reason."""
    return _decide(auth, approval_id, False)


@router.get("/tenants/{tenant_id}/approval-policy", response_model=PolicyOut, responses=responses(*AUTH, 404))
def get_policy(auth: Annotated[Authorized, Depends(AuthorizeTenant("audit:read"))]) -> PolicyOut:
    """The tenant's approval mode and TTL."""
    assert auth.tenant is not None
    mode, ttl = service.policy_of(auth.db, auth.tenant.id, GuardrailSettings())
    return PolicyOut(tenant_id=auth.tenant.id, mode=mode, ttl_hours=ttl / 3600)


@router.put(
    "/tenants/{tenant_id}/approval-policy", response_model=PolicyOut, responses=responses(*AUTH, 400, 404)
)
def put_policy(
    spec: PolicySpec, auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:write"))]
) -> PolicyOut:
    """Set the tenant's approval mode (manual, dry_run, auto_sandbox) and TTL (audited)."""
    assert auth.tenant is not None
    row = service.set_policy(
        auth.db,
        tenant=auth.tenant,
        mode=spec.mode,
        ttl_hours=spec.ttl_hours,
        actor=auth.ctx.principal.actor,
        reason=auth.ctx.reason,
        request_id=auth.ctx.request_id,
    )
    auth.db.commit()
    return PolicyOut(tenant_id=auth.tenant.id, mode=row.mode, ttl_hours=row.ttl_seconds / 3600)
