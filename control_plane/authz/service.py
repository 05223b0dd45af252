"""How the API asks the policy decision point: build the input, decide, refuse with the reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from control_plane.auth.principal import Principal
from control_plane.authz.policy import CLASSIFICATIONS, decide, requires_reason
from control_plane.errors import BadRequest, Forbidden
from control_plane.tenants.models import Tenant
from control_plane.tenants.service import list_tenants

MAX_TENANTS = 10_000  # tenants considered by readable_tenants (a platform admin sees every tenant)


def policy_input(
    principal: Principal,
    action: str,
    resource: dict[str, Any],
    *,
    environment: str,
    reason: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The OPA input document for one question."""
    return {
        "subject": principal.as_input(),
        "action": action,
        "resource": resource,
        "context": {"environment": environment, "reason": reason, "request_id": request_id},
    }


def require(
    principal: Principal,
    action: str,
    resource: dict[str, Any],
    *,
    environment: str,
    reason: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The PDP's decision for this call; raises Forbidden (403, with the reasons) on deny.

    A sensitive action without a reason is a bad request (400), not a refusal: the caller can fix it.
    """
    if requires_reason(action) and not (reason and reason.strip()):
        raise BadRequest(f"{action} requires a reason: send an X-Audit-Reason header")
    decision = decide(
        policy_input(
            principal, action, resource, environment=environment, reason=reason, request_id=request_id
        )
    )
    if not decision["result"]["allow"]:
        raise Forbidden(f"{action} refused", reasons=decision["result"]["reasons"])
    return decision


def tenant_resource(
    tenant_id: str, tenant_path: str, *, type_: str = "tenant", id_: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A policy ``resource`` for something owned by a tenant."""
    resource = {"type": type_, "id": id_ or tenant_id, "tenant_id": tenant_id, "tenant_path": tenant_path}
    resource.update({k: v for k, v in extra.items() if v is not None})
    return resource


def global_resource(type_: str, id_: str | None = None) -> dict[str, Any]:
    """A policy ``resource`` for a platform-wide object (plan, module, policy)."""
    return {"type": type_, "id": id_, "tenant_id": None, "tenant_path": None}


def readable_tenants(
    db: Session, principal: Principal, *, action: str, environment: str
) -> list[tuple[Tenant, str]]:
    """The visible tenants on which the PDP allows ``action`` on datasets, each with the highest classification
    it allows there (no reason given, so classifications that need one in this environment are not counted)."""
    allowed: list[tuple[Tenant, str]] = []
    for tenant in list_tenants(db, principal, kind=None, parent_id=None, limit=MAX_TENANTS, offset=0):
        if not _allows(principal, action, tenant, None, environment):
            continue
        levels = [c for c in CLASSIFICATIONS if _allows(principal, action, tenant, c, environment)]
        if levels:
            allowed.append((tenant, levels[-1]))
    return allowed


def _allows(
    principal: Principal, action: str, tenant: Tenant, classification: str | None, environment: str
) -> bool:
    resource = tenant_resource(tenant.id, tenant.path, type_="dataset", classification=classification)
    return bool(decide(policy_input(principal, action, resource, environment=environment))["result"]["allow"])
