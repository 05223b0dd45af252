"""Separation of duties on both backends: no approving through a key the requester minted; plans are platform-only."""

from __future__ import annotations

from tests.control_plane.conftest import create_key, make_tree, reasoned

UPDATE = {
    "catalog": "Sandbox",
    "opportunity_id": "O3000000001",
    "last_modified_date": "2026-01-02T03:04:05.678Z",
    "changes": {"LifeCycle": {"NextSteps": "Call the CFO"}},
}


def _request(client, headers, tenant):
    body = {
        "tenant_id": tenant,
        "action": "partner_central.update_opportunity",
        "payload": UPDATE,
        "reason": "customer asked",
    }
    resp = client.post("/approvals", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_a_tenant_admin_cannot_approve_its_own_request_through_an_approver_key_it_minted(client, admin):
    tree = make_tree(client, admin, levels=("org",))
    org_admin = tree.h("org")
    approval = _request(client, org_admin, tree.org)
    minted = create_key(client, org_admin, tree.org, "approver")

    refused = client.post(f"/approvals/{approval}/approve", headers=reasoned(minted, "lgtm"))
    assert refused.status_code == 403, refused.text
    assert "was minted by the requester" in refused.json()["detail"]
    assert client.get(f"/approvals/{approval}", headers=org_admin).json()["status"] == "pending"
    # Rejecting through that key is deciding too.
    assert client.post(f"/approvals/{approval}/reject", headers=minted).status_code == 403

    independent = create_key(client, admin, tree.org, "approver")
    approved = client.post(f"/approvals/{approval}/approve", headers=reasoned(independent, "lgtm"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


def test_an_approver_key_minted_by_someone_else_than_the_requester_may_approve(client, admin):
    tree = make_tree(client, admin, levels=("org", "workspace"))
    # The org admin mints an approver key for the workspace; the workspace admin requests.
    approver = create_key(client, tree.h("org"), tree.workspace, "approver")
    approval = _request(client, tree.h("workspace"), tree.workspace)
    resp = client.post(f"/approvals/{approval}/approve", headers=reasoned(approver, "ok"))
    assert resp.status_code == 200, resp.text


def test_only_the_platform_changes_a_tenants_plan(client, admin):
    tree = make_tree(client, admin, levels=("enterprise",))
    ent_admin = tree.h("enterprise")
    spec = {"kind": "org", "name": "Org", "parent_id": tree.enterprise, "plan_id": "enterprise"}
    moved = client.put(f"/tenants/{tree.org}", json=spec, headers=ent_admin)
    assert moved.status_code == 403, moved.text
    assert any("plans:assign" in r for r in moved.json()["reasons"])
    assert client.get(f"/tenants/{tree.org}", headers=admin).json()["plan_id"] == "free"
    budget = {
        q["resource"]: q["limit"] for q in client.get(f"/tenants/{tree.org}/quotas", headers=admin).json()
    }
    assert budget["monthly_compute_usd"] == 100

    # Creating a child on a plan other than the inherited one is a plan choice as well.
    new_org = f"{tree.org}-b"
    created = client.put(f"/tenants/{new_org}", json={**spec, "name": "B"}, headers=ent_admin)
    assert created.status_code == 403, created.text
    # Inheriting the parent's plan needs no plan change and stays allowed.
    inherited = client.put(
        f"/tenants/{new_org}",
        json={"kind": "org", "name": "B", "parent_id": tree.enterprise},
        headers=ent_admin,
    )
    assert inherited.status_code == 201, inherited.text

    by_platform = client.put(f"/tenants/{tree.org}", json=spec, headers=admin)
    assert by_platform.status_code == 200, by_platform.text
    assert by_platform.json()["plan_id"] == "enterprise"
