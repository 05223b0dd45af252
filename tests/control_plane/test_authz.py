"""Authorization: the one PDP (RBAC + ABAC) in OPA's decision format, its HTTP endpoint and data export."""

from __future__ import annotations

import pytest

from control_plane.authz.policy import POLICY, ROLES, export_data
from control_plane.authz.policy import decide as python_decide
from tests.control_plane.conftest import make_tree
from tests.control_plane.rego_parity import assert_same_decision


def decide(inp):
    """policy.py's decision, after checking that policy.rego (evaluated by regopy) reaches the same one."""
    return assert_same_decision(inp, python_decide(inp))


def _input(
    subject_role,
    action,
    *,
    subject_tenant="acme",
    subject_path="/acme/",
    resource_tenant="ws1",
    resource_path="/acme/emea/ws1/",
    **extra,
):
    resource = {
        "type": "tenant",
        "id": resource_tenant,
        "tenant_id": resource_tenant,
        "tenant_path": resource_path,
    }
    resource.update(
        {k: v for k, v in extra.items() if k in ("role", "classification", "environment", "type")}
    )
    return {
        "subject": {
            "id": "key:1",
            "role": subject_role,
            "tenant_id": subject_tenant,
            "tenant_path": subject_path,
        },
        "action": action,
        "resource": resource,
        "context": {"environment": extra.get("env", "development"), "reason": extra.get("reason")},
    }


def test_decision_has_the_opa_shape():
    out = decide(_input("tenant_admin", "users:write"))
    assert set(out) == {"result"} and set(out["result"]) == {"allow", "reasons"}
    assert out["result"]["allow"] is True
    assert out["result"]["reasons"] == ["role tenant_admin grants users:write", "tenant ws1 is within acme"]


def test_tenant_admin_of_an_ancestor_covers_descendants_but_not_ancestors_or_siblings():
    assert decide(_input("tenant_admin", "users:write"))["result"]["allow"]
    up = decide(
        _input(
            "tenant_admin",
            "users:write",
            subject_tenant="emea",
            subject_path="/acme/emea/",
            resource_tenant="acme",
            resource_path="/acme/",
        )
    )
    assert up["result"] == {
        "allow": False,
        "reasons": ["tenant 'acme' is outside the subject's tenant 'emea'"],
    }
    sibling = decide(
        _input(
            "tenant_admin",
            "users:write",
            subject_tenant="emea",
            resource_tenant="apac-ws",
            resource_path="/acme/apac/apac-ws/",
        )
    )
    assert not sibling["result"]["allow"]
    # A prefix is not an ancestor: "acme" does not cover "acme2".
    prefix = decide(_input("tenant_admin", "users:write", resource_tenant="acme2", resource_path="/acme2/"))
    assert not prefix["result"]["allow"]


def test_provisioning_needs_a_strict_ancestor():
    own = decide(_input("tenant_admin", "tenants:provision", subject_tenant="ws1", resource_tenant="ws1"))
    reason = "tenants:provision needs an ancestor tenant's admin, not the tenant's own"
    assert own["result"] == {"allow": False, "reasons": [reason]}
    assert decide(_input("tenant_admin", "tenants:provision"))["result"]["allow"]


@pytest.mark.parametrize(
    "role,classification,allowed",
    [
        ("viewer", "internal", True),
        ("viewer", "confidential", False),
        ("analyst", "confidential", True),
        ("analyst", "pii", False),
        ("service", "pii", True),
        ("platform_admin", "pii", True),
    ],
)
def test_classification_clearance(role, classification, allowed):
    assert decide(_input(role, "data:read", classification=classification))["result"]["allow"] is allowed


def test_environment_conditions():
    assert decide(_input("service", "data:read", classification="pii", env="development"))["result"]["allow"]
    prod = decide(_input("service", "data:read", classification="pii", env="production"))
    assert prod["result"] == {"allow": False, "reasons": ["pii data in production requires a reason"]}
    assert decide(
        _input("service", "data:read", classification="pii", env="production", reason="incident 42")
    )["result"]["allow"]


def test_sensitive_actions_need_a_reason_and_roles_grant_only_what_they_may():
    assert decide(_input("tenant_admin", "keys:create", role="viewer"))["result"]["reasons"] == [
        "keys:create requires a reason"
    ]
    assert decide(_input("tenant_admin", "keys:create", role="viewer", reason="ci"))["result"]["allow"]
    escalate = decide(_input("tenant_admin", "keys:create", role="platform_admin", reason="x"))
    assert escalate["result"]["reasons"] == ["role tenant_admin may not grant role platform_admin"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_is_decidable_and_unknown_roles_are_denied(role):
    assert decide(_input(role, "tenants:read"))["result"]["allow"] is True
    assert decide(_input("root", "tenants:read"))["result"] == {
        "allow": False,
        "reasons": ["unknown role 'root'"],
    }


def _approval_input(subject_id, requested_by, minted_by=None, role="approver"):
    inp = _input(role, "approvals:approve", subject_tenant="ws1", subject_path="/acme/emea/ws1/")
    inp["subject"]["id"] = subject_id
    inp["resource"].update({"type": "approval", "id": "apr-1", "requested_by": requested_by})
    if minted_by is not None:
        inp["resource"]["credential_minted_by"] = minted_by
    return inp


def test_separation_of_duties_on_approvals():
    assert decide(_approval_input("key:ben", "key:ann", minted_by="key:platform"))["result"]["allow"]
    assert decide(_approval_input("user:ben", "key:ann"))["result"]["allow"]
    own = decide(_approval_input("key:ann", "key:ann"))
    assert own["result"] == {
        "allow": False,
        "reasons": ["key:ann requested approval apr-1 and cannot decide it"],
    }
    minted = decide(_approval_input("key:ben", "key:ann", minted_by="key:ann"))
    assert minted["result"] == {
        "allow": False,
        "reasons": ["the credential of key:ben was minted by the requester key:ann"],
    }
    # Even a platform admin cannot approve its own request or through a key it minted for that purpose.
    assert not decide(_approval_input("key:root", "key:root", role="platform_admin"))["result"]["allow"]
    nobody = _approval_input("key:ben", None)
    assert decide(nobody)["result"]["reasons"] == [
        "approvals:approve needs the approval's requester (resource.requested_by)"
    ]


@pytest.mark.parametrize("role", ROLES)
def test_plan_assignment_is_platform_only(role):
    out = decide(_input(role, "plans:assign", resource_tenant="emea", resource_path="/acme/emea/"))
    assert out["result"]["allow"] is (role == "platform_admin")
    if role != "platform_admin":
        assert (
            f"plans:assign is reserved to the platform; role {role} is tenant-scoped"
            in out["result"]["reasons"]
        )


def test_viewer_cannot_write_anything():
    writes = [
        "tenants:provision",
        "users:write",
        "keys:create",
        "plans:write",
        "registry:publish",
        "data:write",
    ]
    for action in writes:
        assert decide(_input("viewer", action, reason="r"))["result"]["allow"] is False, action


def test_decide_endpoint_matches_the_function(client, admin, tree):
    inp = _input("analyst", "data:read", classification="pii")
    resp = client.post("/authz/decide", json={"input": inp}, headers=tree.h("workspace"))
    assert resp.status_code == 200
    assert resp.json() == {
        "result": {"allow": False, "reasons": ["role analyst is cleared up to confidential, not pii"]}
    }
    assert resp.json() == decide({**inp, "context": {**inp["context"], "environment": "test"}})
    assert client.post("/authz/decide", json={"input": {"subject": {}}}, headers=admin).status_code == 422


def test_policy_exports_as_an_opa_data_document(client, admin, tree):
    resp = client.get("/authz/policy", headers=admin)
    assert resp.status_code == 200
    assert resp.json() == export_data() == {"lakehouse": {"authz": POLICY}}
    assert set(resp.json()["lakehouse"]["authz"]["roles"]) == set(ROLES)
    assert (
        client.get(
            "/authz/policy",
            headers=make_tree(client, admin, roles=("viewer",), levels=("org",)).h("org", "viewer"),
        ).status_code
        == 403
    )


def test_routes_refuse_roles_the_policy_does_not_grant(client, admin):
    tree = make_tree(client, admin, roles=("viewer", "analyst", "approver", "service"), levels=("org",))
    ws = tree.workspace
    cases = [
        ("viewer", "GET", f"/tenants/{ws}/users", 403),
        ("viewer", "GET", f"/tenants/{ws}/quotas", 403),
        ("analyst", "GET", f"/tenants/{ws}/quotas", 200),
        ("analyst", "GET", f"/tenants/{ws}/audit", 403),
        ("approver", "GET", f"/tenants/{ws}/audit", 200),
        ("approver", "GET", f"/tenants/{ws}/api-keys", 200),
        ("service", "GET", f"/tenants/{ws}/api-keys", 403),
        ("service", "POST", "/registry/modules", 403),
        ("viewer", "GET", "/registry/modules", 200),
        ("viewer", "GET", "/authz/policy", 403),
    ]
    for role, method, url, expected in cases:
        resp = client.request(
            method,
            url,
            headers={**tree.h("org", role), "X-Audit-Reason": "r"},
            json={} if method == "POST" else None,
        )
        assert resp.status_code == expected, (role, method, url, resp.status_code)
        if expected == 403:
            assert resp.json()["reasons"], (role, url)
