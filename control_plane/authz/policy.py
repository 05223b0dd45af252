"""The policy decision point: ``decide(input) -> {"result": {"allow": bool, "reasons": [...]}}``.

Every rule is data (``POLICY``), so the same document can be loaded into an OPA sidecar (``export_data``)
next to ``policy.rego``. Input (OPA's ``input``)::

    {"subject":  {"id", "role", "tenant_id", "tenant_path"},
     "action":   "keys:create",
     "resource": {"type", "id", "tenant_id", "tenant_path", "role", "classification", "environment"},
     "context":  {"environment", "reason", "request_id"}}

``tenant_path`` is ``/enterprise/org/workspace/``; a subject covers every tenant whose path contains its own
tenant id as a segment (a tenant_admin of an org covers its workspaces).

Separation of duties: an approval (resource type ``approval``) is decided by someone other than its
requester, through a credential the requester did not mint (``separation_of_duties_actions``). Plan changes
of any tenant are platform-only (``platform_only_actions``). ``policy.rego`` states the same rules and is
evaluated against this module on the whole authorization test matrix.
"""

from __future__ import annotations

import copy
from typing import Any

ROLES = ("platform_admin", "tenant_admin", "approver", "analyst", "viewer", "service")
CLASSIFICATIONS = ("public", "internal", "confidential", "pii")

POLICY: dict[str, Any] = {
    "version": 1,
    "classifications": list(CLASSIFICATIONS),
    "roles": {
        "platform_admin": {
            "actions": ["*"],
            "cross_tenant": True,
            "clearance": "pii",
            "grantable_roles": list(ROLES),
        },
        "tenant_admin": {
            "actions": [
                "tenants:*",
                "users:*",
                "keys:*",
                "quotas:read",
                "audit:*",
                "plans:read",
                "registry:read",
                "authz:*",
                "auth:*",
                "data:read",
                "data:write",
            ],
            "cross_tenant": False,
            "clearance": "confidential",
            "grantable_roles": ["tenant_admin", "approver", "analyst", "viewer", "service"],
        },
        "approver": {
            "actions": [
                "tenants:read",
                "users:read",
                "keys:read",
                "quotas:read",
                "audit:*",
                "plans:read",
                "registry:read",
                "authz:decide",
                "auth:*",
                "data:read",
                "approvals:*",
            ],
            "cross_tenant": False,
            "clearance": "confidential",
            "grantable_roles": [],
        },
        "analyst": {
            "actions": [
                "tenants:read",
                "quotas:read",
                "plans:read",
                "registry:read",
                "authz:decide",
                "auth:*",
                "data:read",
            ],
            "cross_tenant": False,
            "clearance": "confidential",
            "grantable_roles": [],
        },
        "viewer": {
            "actions": ["tenants:read", "plans:read", "registry:read", "authz:decide", "auth:*", "data:read"],
            "cross_tenant": False,
            "clearance": "internal",
            "grantable_roles": [],
        },
        "service": {
            "actions": [
                "tenants:read",
                "quotas:read",
                "registry:read",
                "authz:decide",
                "auth:*",
                "data:read",
                "data:write",
            ],
            "cross_tenant": False,
            "clearance": "pii",
            "grantable_roles": [],
        },
    },
    # Only a strict ancestor may provision a tenant: nobody but the platform creates an enterprise, and a
    # tenant_admin cannot change its own tenant's plan.
    "strict_ancestor_actions": ["tenants:provision"],
    # Only the platform (a cross-tenant role) may do these, whatever a tenant role's action list says: a plan
    # sets a tenant's quotas and budget, so moving any tenant (a child org included) to another plan is
    # platform-only.
    "platform_only_actions": ["plans:assign"],
    # Separation of duties on approvals (resource type "approval", attributes "requested_by" and
    # "credential_minted_by"): the decider must not be the requester, and the decider's credential must not
    # have been minted by the requester (whoever mints a key has seen its secret, so a key minted by the
    # requester is the requester). The rule holds for the whole lifetime of the approval.
    "separation_of_duties_actions": ["approvals:approve"],
    # Actions on platform-wide resources (no tenant): allowed by the role's action list alone.
    "global_resource_types": ["plan", "module", "policy", "platform"],
    # A reason (X-Audit-Reason) is required; it is written to the audit entry.
    "reason_required_actions": ["keys:create", "keys:rotate", "keys:revoke", "plans:write", "users:disable"],
    "environments": {
        "production": {
            "reason_required_classifications": ["pii"],
            "denied_actions": {
                "analyst": ["data:write"],
                "viewer": ["data:write"],
                "approver": ["data:write"],
            },
        },
        "development": {"reason_required_classifications": [], "denied_actions": {}},
        "test": {"reason_required_classifications": [], "denied_actions": {}},
    },
}


def export_data() -> dict[str, Any]:
    """The policy as an OPA data document (mount at ``data.lakehouse.authz``)."""
    return {"lakehouse": {"authz": copy.deepcopy(POLICY)}}


def action_allowed(patterns: list[str], action: str) -> bool:
    """Whether ``action`` matches one of ``patterns`` (``*``, ``domain:*`` or exact)."""
    domain = action.split(":", 1)[0]
    return any(p == "*" or p == action or p == f"{domain}:*" for p in patterns)


def requires_reason(action: str) -> bool:
    """Whether ``action`` must carry a reason."""
    return action in POLICY["reason_required_actions"]


def covers(subject_tenant: str | None, resource_path: str | None) -> bool:
    """Whether a subject of ``subject_tenant`` covers the tenant at ``resource_path`` (self or descendant)."""
    if not subject_tenant or not resource_path:
        return False
    return f"/{subject_tenant}/" in resource_path


def decide(inp: dict[str, Any], policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate one input; the answer is OPA's ``{"result": {"allow": ..., "reasons": [...]}}``."""
    policy = policy or POLICY
    subject = inp.get("subject") or {}
    resource = inp.get("resource") or {}
    context = inp.get("context") or {}
    action = str(inp.get("action") or "")
    role = subject.get("role")
    deny: list[str] = []
    allow: list[str] = []

    role_def = policy["roles"].get(role) if isinstance(role, str) else None
    if role_def is None:
        return _result(False, [f"unknown role {role!r}"])
    if not action_allowed(role_def["actions"], action):
        deny.append(f"role {role} may not {action}")
    else:
        allow.append(f"role {role} grants {action}")

    # Tenant hierarchy.
    resource_path = resource.get("tenant_path")
    if role_def["cross_tenant"]:
        allow.append(f"role {role} spans all tenants")
    elif resource.get("type") in policy["global_resource_types"] and not resource.get("tenant_id"):
        allow.append(f"{resource.get('type')} is a platform-wide resource")
    elif not covers(subject.get("tenant_id"), resource_path):
        deny.append(
            f"tenant {resource.get('tenant_id')!r} is outside the subject's tenant {subject.get('tenant_id')!r}"
        )
    elif action in policy["strict_ancestor_actions"] and str(resource_path).rstrip("/").endswith(
        f"/{subject.get('tenant_id')}"
    ):
        deny.append(f"{action} needs an ancestor tenant's admin, not the tenant's own")
    else:
        allow.append(f"tenant {resource.get('tenant_id')} is within {subject.get('tenant_id')}")

    # Platform-only actions.
    if action in policy["platform_only_actions"] and not role_def["cross_tenant"]:
        deny.append(f"{action} is reserved to the platform; role {role} is tenant-scoped")

    # Separation of duties.
    if action in policy["separation_of_duties_actions"] and resource.get("type") == "approval":
        requested_by = resource.get("requested_by")
        if not isinstance(requested_by, str) or not requested_by:
            deny.append(f"{action} needs the approval's requester (resource.requested_by)")
        else:
            if subject.get("id") == requested_by:
                deny.append(f"{requested_by} requested approval {resource.get('id')} and cannot decide it")
            if resource.get("credential_minted_by") == requested_by:
                deny.append(
                    f"the credential of {subject.get('id')} was minted by the requester {requested_by}"
                )

    # Roles granted to keys and users.
    wanted_role = resource.get("role")
    if wanted_role is not None:
        if wanted_role not in policy["roles"]:
            deny.append(f"unknown role {wanted_role!r} requested")
        elif wanted_role not in role_def["grantable_roles"]:
            deny.append(f"role {role} may not grant role {wanted_role}")

    # Data classification.
    levels = policy["classifications"]
    classification = resource.get("classification")
    if classification is not None:
        if classification not in levels:
            deny.append(f"unknown classification {classification!r}")
        elif levels.index(classification) > levels.index(role_def["clearance"]):
            deny.append(f"role {role} is cleared up to {role_def['clearance']}, not {classification}")

    # Environment.
    environment = resource.get("environment") or context.get("environment") or "development"
    env_rules = policy["environments"].get(environment, {})
    if action in env_rules.get("denied_actions", {}).get(role, []):
        deny.append(f"{action} is not allowed for {role} in {environment}")
    reason = context.get("reason")
    has_reason = isinstance(reason, str) and bool(reason.strip())
    if action in policy["reason_required_actions"] and not has_reason:
        deny.append(f"{action} requires a reason")
    if classification in env_rules.get("reason_required_classifications", []) and not has_reason:
        deny.append(f"{classification} data in {environment} requires a reason")

    return _result(not deny, deny or allow)


def _result(allow: bool, reasons: list[str]) -> dict[str, Any]:
    return {"result": {"allow": allow, "reasons": reasons}}
