"""Tenants: hierarchy, idempotent provisioning, resumable steps, plans and quotas."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.control_plane.conftest import make_tree, reasoned, uid

STEPS = ["lake_prefixes", "warehouse_isolation", "default_quotas", "signing_key"]


def _snapshot(app) -> dict[str, list]:
    """Every row of every control-plane table (platform scope), for before/after comparisons."""
    from control_plane.db import DbScope
    from control_plane.models import Base

    out = {}
    with app.state.cp.db.session(DbScope.for_platform()) as s:
        for table in Base.metadata.sorted_tables:
            out[table.name] = sorted(map(repr, s.execute(text(f"SELECT * FROM {table.name}")).all()))
    return out


def test_put_same_tenant_twice_changes_nothing_the_second_time(client, admin, app):
    tid = f"ent-{uid()}"
    spec = {"kind": "enterprise", "name": "Acme", "plan_id": "team", "isolation_mode": "siloed"}
    first = client.put(f"/tenants/{tid}", json=spec, headers=admin)
    assert first.status_code == 201
    assert first.json()["outcome"] == "created"
    assert first.json()["status"] == "active"
    assert first.json()["path"] == f"/{tid}/"
    before = _snapshot(app)
    second = client.put(f"/tenants/{tid}", json=spec, headers=admin)
    assert second.status_code == 200
    assert second.json()["outcome"] == "unchanged"
    assert {k: v for k, v in second.json().items() if k != "outcome"} == {
        k: v for k, v in first.json().items() if k != "outcome"
    }
    assert _snapshot(app) == before


def test_provisioning_creates_prefixes_warehouse_quotas_and_signing_key(client, admin, backend):
    tid = f"ent-{uid()}"
    assert (
        client.put(
            f"/tenants/{tid}",
            json={"kind": "enterprise", "name": "S", "isolation_mode": "siloed"},
            headers=admin,
        ).status_code
        == 201
    )
    steps = client.get(f"/tenants/{tid}/provisioning", headers=admin).json()
    assert [s["step"] for s in steps] == STEPS
    assert all(s["status"] == "done" and s["attempts"] == 1 for s in steps)
    by_step = {s["step"]: s["detail"] for s in steps}
    for prefix in by_step["lake_prefixes"]["prefixes"]:
        assert Path(prefix).is_dir()
        assert f"tenant_id={tid}" in prefix
    assert by_step["warehouse_isolation"]["mode"] == "siloed"
    assert by_step["warehouse_isolation"]["schema"] == "t_" + tid
    assert by_step["signing_key"]["algorithm"] == "HS256"
    quotas = {q["resource"]: q["limit"] for q in client.get(f"/tenants/{tid}/quotas", headers=admin).json()}
    free = {q: float(v) for q, v in client.get("/plans/free", headers=admin).json()["quotas"].items()}
    assert quotas == free


def test_pooled_workspace_gets_a_row_policy_in_the_pooled_schema(client, admin):
    tree = make_tree(client, admin, levels=())
    steps = client.get(f"/tenants/{tree.workspace}/provisioning", headers=admin).json()
    detail = {s["step"]: s["detail"] for s in steps}["warehouse_isolation"]
    assert detail == {
        **detail,
        "mode": "pooled",
        "schema": "pooled",
        "predicate": f"tenant_id = '{tree.workspace}'",
    }


def test_hierarchy_rules_are_enforced(client, admin):
    ent = f"ent-{uid()}"
    assert (
        client.put(f"/tenants/{ent}", json={"kind": "enterprise", "name": "E"}, headers=admin).status_code
        == 201
    )
    # A workspace cannot hang directly under an enterprise, an org needs a parent, an enterprise has none.
    bad = client.put(
        f"/tenants/ws-{uid()}", json={"kind": "workspace", "name": "W", "parent_id": ent}, headers=admin
    )
    assert bad.status_code == 422 and "must be an org" in bad.json()["detail"]
    assert (
        client.put(f"/tenants/org-{uid()}", json={"kind": "org", "name": "O"}, headers=admin).status_code
        == 422
    )
    assert (
        client.put(
            f"/tenants/e-{uid()}", json={"kind": "enterprise", "name": "E", "parent_id": ent}, headers=admin
        ).status_code
        == 422
    )
    missing = client.put(
        f"/tenants/org-{uid()}", json={"kind": "org", "name": "O", "parent_id": "nope-nope"}, headers=admin
    )
    assert missing.status_code == 404


def test_kind_and_parent_are_immutable_and_isolation_is_inherited(client, admin):
    tree = make_tree(client, admin, levels=())
    resp = client.put(
        f"/tenants/{tree.org}",
        json={"kind": "workspace", "name": "Org", "parent_id": tree.enterprise},
        headers=admin,
    )
    assert resp.status_code == 409 and "kind" in resp.json()["detail"]
    siloed_ws = client.put(
        f"/tenants/ws-{uid()}",
        json={"kind": "workspace", "name": "W", "parent_id": tree.org, "isolation_mode": "siloed"},
        headers=admin,
    )
    assert siloed_ws.status_code == 422
    assert client.get(f"/tenants/{tree.workspace}", headers=admin).json()["isolation_mode"] == "pooled"


def test_plan_is_inherited_and_a_changed_plan_updates_quotas(client, admin):
    ent = f"ent-{uid()}"
    org = f"org-{uid()}"
    assert (
        client.put(
            f"/tenants/{ent}",
            json={"kind": "enterprise", "name": "E", "plan_id": "enterprise"},
            headers=admin,
        ).status_code
        == 201
    )
    assert (
        client.put(
            f"/tenants/{org}", json={"kind": "org", "name": "O", "parent_id": ent}, headers=admin
        ).json()["plan_id"]
        == "enterprise"
    )
    resp = client.put(
        f"/tenants/{org}",
        json={"kind": "org", "name": "O2", "parent_id": ent, "plan_id": "team"},
        headers=admin,
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "updated"
    assert resp.json()["name"] == "O2" and resp.json()["plan_id"] == "team"
    quotas = {
        q["resource"]: (q["limit"], q["source"])
        for q in client.get(f"/tenants/{org}/quotas", headers=admin).json()
    }
    team = client.get("/plans/team", headers=admin).json()["quotas"]
    assert quotas == {k: (float(v), "plan:team") for k, v in team.items()}
    bad_plan = client.put(
        f"/tenants/ws-{uid()}",
        json={"kind": "workspace", "name": "W", "parent_id": org, "plan_id": "team"},
        headers=admin,
    )
    assert bad_plan.status_code == 422
    unknown = client.put(
        f"/tenants/org-{uid()}",
        json={"kind": "org", "name": "O", "parent_id": ent, "plan_id": "platinum"},
        headers=admin,
    )
    assert unknown.status_code == 422


class FlakyWarehouse:
    """Fails the first ``failures`` calls, then works; counts calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def ensure_isolation(self, tenant):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("warehouse unreachable")
        return {"mode": tenant.isolation_mode, "schema": "pooled"}


class CountingLake:
    def __init__(self) -> None:
        self.calls = 0

    def ensure(self, tenant):
        self.calls += 1
        return {"prefixes": [f"mem://{tenant.id}/"]}


def test_failed_provisioning_is_recorded_and_resumed_by_repeating_the_put(backend, client, admin):
    from fastapi.testclient import TestClient

    from control_plane.app import create_app
    from control_plane.tenants.provisioning import Provisioner
    from tests.control_plane.conftest import make_settings

    lake, warehouse = CountingLake(), FlakyWarehouse(failures=1)
    app2 = create_app(
        make_settings(backend, auto_migrate=False, seed_registry=False),
        provisioner=Provisioner(lake, warehouse),
    )
    try:
        c2 = TestClient(app2)
        tid = f"ent-{uid()}"
        spec = {"kind": "enterprise", "name": "Flaky"}
        first = c2.put(f"/tenants/{tid}", json=spec, headers=admin)
        assert first.status_code == 503
        assert first.json()["problems"] == [
            {"step": "warehouse_isolation", "error": "ConnectionError: warehouse unreachable"}
        ]
        assert c2.get(f"/tenants/{tid}", headers=admin).json()["status"] == "failed"
        steps = {s["step"]: s for s in c2.get(f"/tenants/{tid}/provisioning", headers=admin).json()}
        assert steps["lake_prefixes"]["status"] == "done"
        assert steps["warehouse_isolation"]["status"] == "failed"
        assert "default_quotas" not in steps

        second = c2.put(f"/tenants/{tid}", json=spec, headers=admin)
        assert second.status_code == 200 and second.json()["outcome"] == "resumed"
        assert second.json()["status"] == "active"
        assert lake.calls == 1  # the done step was not repeated
        assert warehouse.calls == 2
        steps = {s["step"]: s for s in c2.get(f"/tenants/{tid}/provisioning", headers=admin).json()}
        assert [steps[s]["status"] for s in STEPS] == ["done"] * 4
        assert steps["warehouse_isolation"]["attempts"] == 2
        actions = [e["action"] for e in c2.get(f"/tenants/{tid}/audit", headers=admin).json()]
        assert actions == ["tenant.create", "tenant.provision_failed", "tenant.provisioned"]
    finally:
        app2.state.cp.db.dispose()


def test_tenant_admin_provisions_children_but_not_itself_or_siblings(client, admin):
    tree = make_tree(client, admin, levels=("org",))
    org_admin = tree.h("org")
    child = f"ws-{uid()}"
    resp = client.put(
        f"/tenants/{child}", json={"kind": "workspace", "name": "W", "parent_id": tree.org}, headers=org_admin
    )
    assert resp.status_code == 201
    own = client.put(
        f"/tenants/{tree.org}",
        json={"kind": "org", "name": "Renamed", "parent_id": tree.enterprise},
        headers=org_admin,
    )
    assert own.status_code in (403, 404)
    sibling = client.put(
        f"/tenants/org-{uid()}",
        json={"kind": "org", "name": "S", "parent_id": tree.enterprise},
        headers=org_admin,
    )
    assert sibling.status_code == 404  # the enterprise is not visible from the org
    enterprise = client.put(
        f"/tenants/ent-{uid()}", json={"kind": "enterprise", "name": "X"}, headers=org_admin
    )
    assert enterprise.status_code == 403


def test_list_tenants_shows_the_subtree_only(client, admin):
    tree = make_tree(client, admin, levels=("org",))
    other = make_tree(client, admin, levels=())
    ids = {t["id"] for t in client.get("/tenants", headers=tree.h("org")).json()}
    assert ids == {tree.org, tree.workspace}
    ids_admin = {t["id"] for t in client.get("/tenants?limit=500", headers=admin).json()}
    assert {tree.enterprise, tree.org, tree.workspace, other.enterprise} <= ids_admin
    only_ws = client.get(f"/tenants?kind=workspace&parent_id={tree.org}", headers=admin).json()
    assert [t["id"] for t in only_ws] == [tree.workspace]


def test_plans_are_platform_managed_with_a_reason(client, admin, tree):
    spec = {"name": "Gold", "quotas": {"users": 5}, "allowed_module_types": ["connector"]}
    pid = f"p-{uid()}"
    assert client.put(f"/plans/{pid}", json=spec, headers=admin).status_code == 400  # no reason
    assert client.put(f"/plans/{pid}", json=spec, headers=reasoned(tree.h("enterprise"))).status_code == 403
    created = client.put(f"/plans/{pid}", json=spec, headers=reasoned(admin))
    assert created.status_code == 201 and created.json() == {"id": pid, **spec, "quotas": {"users": 5.0}}
    again = client.put(f"/plans/{pid}", json=spec, headers=reasoned(admin))
    assert again.status_code == 200
    assert client.get(f"/plans/{pid}", headers=tree.h("enterprise")).json()["name"] == "Gold"
    assert client.get("/plans/does-not-exist", headers=admin).status_code == 404


@pytest.mark.parametrize("tenant_id", ["UPPER", "-lead", "a" * 64, "a.b"])
def test_invalid_tenant_ids_are_refused(client, admin, tenant_id):
    resp = client.put(f"/tenants/{tenant_id}", json={"kind": "enterprise", "name": "E"}, headers=admin)
    assert resp.status_code == 422


def test_concurrent_puts_of_one_tenant_never_fail_and_end_active(client, admin):
    from concurrent.futures import ThreadPoolExecutor

    tid = f"ent-{uid()}"
    spec = {"kind": "enterprise", "name": "Race"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(
            pool.map(lambda _: client.put(f"/tenants/{tid}", json=spec, headers=admin).status_code, range(6))
        )
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}, codes
    final = client.put(f"/tenants/{tid}", json=spec, headers=admin)
    assert final.status_code == 200 and final.json()["status"] == "active"
    steps = client.get(f"/tenants/{tid}/provisioning", headers=admin).json()
    assert [s["status"] for s in steps] == ["done"] * 4
