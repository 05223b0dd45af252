"""How the API asks the policy decision point: build the input, decide, refuse with the reasons."""

from __future__ import annotations

from typing import Any

from control_plane.auth.principal import Principal
from control_plane.authz.policy import decide, requires_reason
from control_plane.errors import BadRequest, Forbidden


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
