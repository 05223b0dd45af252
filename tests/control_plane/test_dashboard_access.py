"""The routes a reader such as the dashboards signs users in with: which tenants' data the caller may read,
with what clearance (``GET /authz/data-access``), and the audited dashboard view (``POST .../dashboard-views``)."""

from __future__ import annotations

from tests.control_plane.conftest import make_tree


def _access(client, headers, action: str = "data:read"):
    resp = client.get("/authz/data-access", params={"action": action}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _tenants(body) -> dict[str, str]:
    return {t["id"]: t["clearance"] for t in body["tenants"]}


def test_an_analyst_reads_its_own_tenant_up_to_confidential(client, admin):
    tree = make_tree(client, admin, roles=("analyst",), levels=("workspace",))
    body = _access(client, tree.h("workspace", "analyst"))
    assert _tenants(body) == {tree.workspace: "confidential"}
    assert (body["role"], body["tenant_id"], body["is_platform"], body["via"]) == (
        "analyst",
        tree.workspace,
        False,
        "api_key",
    )
    assert body["tenants"][0]["path"] == f"/{tree.enterprise}/{tree.org}/{tree.workspace}/"


def test_a_viewer_is_cleared_for_internal_only(client, admin):
    tree = make_tree(client, admin, roles=("viewer",), levels=("org",))
    assert _tenants(_access(client, tree.h("org", "viewer"))) == {
        tree.org: "internal",
        tree.workspace: "internal",
    }


def test_a_parent_admin_covers_its_subtree_and_nothing_else(client, admin):
    tree = make_tree(client, admin, levels=("org",))
    other = make_tree(client, admin, levels=())
    readable = _tenants(_access(client, tree.h("org")))
    assert readable == {tree.org: "confidential", tree.workspace: "confidential"}
    assert other.enterprise not in readable and tree.enterprise not in readable


def test_the_platform_admin_reads_every_tenant_with_pii_clearance(client, admin):
    tree = make_tree(client, admin, levels=())
    body = _access(client, admin)
    readable = _tenants(body)
    assert body["is_platform"] is True and body["tenant_id"] is None
    assert {readable[t] for t in (tree.enterprise, tree.org, tree.workspace)} == {"pii"}


def test_a_role_without_the_action_gets_no_tenant(client, admin):
    tree = make_tree(client, admin, roles=("viewer", "tenant_admin"), levels=("workspace",))
    assert _access(client, tree.h("workspace", "viewer"), "data:write")["tenants"] == []
    assert _tenants(_access(client, tree.h("workspace"), "data:write")) == {tree.workspace: "confidential"}


def test_data_access_needs_valid_credentials_and_a_data_action(client, admin):
    assert client.get("/authz/data-access").status_code == 401
    assert client.get("/authz/data-access", headers={"X-API-Key": "lh.acme.k0.nope"}).status_code == 401
    assert (
        client.get("/authz/data-access", params={"action": "keys:create"}, headers=admin).status_code == 422
    )


def _views(client, admin, tenant):
    entries = client.get(f"/tenants/{tenant}/audit", params={"limit": 1000}, headers=admin).json()
    return [e for e in entries if e["action"] == "dashboard.view"]


def test_a_look_at_another_tenant_is_audited_as_the_caller(client, admin):
    tree = make_tree(client, admin, levels=("org",))
    org_admin = tree.h("org")
    resp = client.post(
        f"/tenants/{tree.workspace}/audit/dashboard-views",
        json={"reason": "quarterly review"},
        headers=org_admin,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    views = _views(client, admin, tree.workspace)
    assert body == {
        "tenant_id": tree.workspace,
        "recorded": True,
        "action": "dashboard.view",
        "seq": views[-1]["seq"],
    }
    key_id = org_admin["X-API-Key"].split(".")[2]
    assert [(v["actor"], v["actor_role"], v["resource"], v["reason"]) for v in views] == [
        (f"key:{key_id}", "tenant_admin", f"tenant/{tree.workspace}/dashboards", "quarterly review")
    ]


def test_the_platform_admin_is_audited_even_without_a_reason(client, admin):
    tree = make_tree(client, admin, levels=())
    resp = client.post(f"/tenants/{tree.enterprise}/audit/dashboard-views", json={}, headers=admin)
    assert resp.status_code == 200 and resp.json()["recorded"] is True
    assert [(v["actor_role"], v["reason"]) for v in _views(client, admin, tree.enterprise)] == [
        ("platform_admin", "dashboard tenant switch")
    ]


def test_a_look_at_ones_own_tenant_is_not_recorded(client, admin):
    tree = make_tree(client, admin, roles=("analyst",), levels=("workspace",))
    resp = client.post(
        f"/tenants/{tree.workspace}/audit/dashboard-views", json={}, headers=tree.h("workspace", "analyst")
    )
    assert resp.status_code == 200
    assert resp.json() == {
        "tenant_id": tree.workspace,
        "recorded": False,
        "action": "dashboard.view",
        "seq": None,
    }
    assert _views(client, admin, tree.workspace) == []


def test_a_tenant_outside_the_callers_reach_is_not_found_and_not_recorded(client, admin):
    tree = make_tree(client, admin, roles=("analyst",), levels=("workspace",))
    resp = client.post(
        f"/tenants/{tree.enterprise}/audit/dashboard-views", json={}, headers=tree.h("workspace", "analyst")
    )
    assert resp.status_code == 404
    assert _views(client, admin, tree.enterprise) == []


def test_a_view_without_credentials_or_with_unknown_fields_is_refused(client, admin):
    tree = make_tree(client, admin, levels=())
    assert client.post(f"/tenants/{tree.org}/audit/dashboard-views", json={}).status_code == 401
    resp = client.post(f"/tenants/{tree.org}/audit/dashboard-views", json={"actor": "someone"}, headers=admin)
    assert resp.status_code == 422
    assert _views(client, admin, tree.org) == []
