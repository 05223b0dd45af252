"""Audit: every state change is recorded and hash-chained; edits and deletions are detected."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import create_engine, text

from tests.control_plane.conftest import create_key, reasoned, uid


def _owner_engine(app):
    from control_plane.db import normalize_url

    return create_engine(normalize_url(app.state.cp.settings.resolved_migration_url()))


def _chain(client, admin, tenant):
    return client.get(f"/tenants/{tenant}/audit", headers=admin).json()


def _verify(client, admin, tenant):
    resp = client.get(f"/audit/verify?tenant_id={tenant}", headers=admin)
    assert resp.status_code == 200
    report = resp.json()
    assert [c["chain"] for c in report["chains"]] == [tenant]
    return report


def test_state_changes_are_audited_with_who_what_why_and_request_id(client, admin, tree):
    org_admin = tree.h("org")
    key = create_key(client, org_admin, tree.workspace, "viewer")
    key_id = key["X-API-Key"].split(".")[2]
    resp = client.delete(
        f"/tenants/{tree.workspace}/api-keys/{key_id}",
        headers={**reasoned(org_admin, "contractor left"), "X-Request-ID": "req-123"},
    )
    assert resp.status_code == 200 and resp.headers["x-request-id"] == "req-123"
    entries = _chain(client, admin, tree.workspace)
    assert [e["action"] for e in entries] == [
        "tenant.create",
        "tenant.provisioned",
        "api_key.create",
        "api_key.create",
        "api_key.revoke",
    ]
    last = entries[-1]
    org_key_id = org_admin["X-API-Key"].split(".")[2]
    assert (last["actor"], last["actor_role"], last["reason"], last["request_id"], last["tenant_id"]) == (
        f"key:{org_key_id}",
        "tenant_admin",
        "contractor left",
        "req-123",
        tree.workspace,
    )
    assert last["resource"] == f"tenant/{tree.workspace}/api-key/{key_id}"
    assert last["before_digest"] and last["after_digest"] and last["before_digest"] != last["after_digest"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(entries))


def test_reads_and_no_op_writes_are_not_audited(client, admin, tree):
    before = len(_chain(client, admin, tree.org))
    client.get(f"/tenants/{tree.org}", headers=admin)
    client.put(
        f"/tenants/{tree.org}",
        json={"kind": "org", "name": "Org", "parent_id": tree.enterprise},
        headers=admin,
    )
    assert len(_chain(client, admin, tree.org)) == before


def test_verify_passes_on_an_untouched_chain(client, admin, tree):
    report = _verify(client, admin, tree.workspace)
    assert report["ok"] is True and report["chains"][0]["entries"] == 3  # create, provisioned, key


@pytest.mark.parametrize(
    "column,value",
    [("reason", "'nothing to see'"), ("actor", "'key:someone-else'"), ("action", "'tenant.update'")],
)
def test_an_edited_entry_is_detected(client, admin, tree, app, column, value):
    engine = _owner_engine(app)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE audit_log SET {column} = {value} WHERE chain = :c AND seq = 2"),
            {"c": tree.workspace},
        )
    engine.dispose()
    report = _verify(client, admin, tree.workspace)
    assert report["ok"] is False
    assert report["chains"][0]["problems"] == ["entry seq 2 was altered (hash mismatch)"]
    # The platform view reports the same broken chain.
    everything = client.get("/audit/verify", headers=admin).json()
    broken = [c for c in everything["chains"] if not c["ok"]]
    assert everything["ok"] is False and tree.workspace in [c["chain"] for c in broken]


def test_a_deleted_middle_entry_is_detected(client, admin, tree, app):
    engine = _owner_engine(app)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE chain = :c AND seq = 2"), {"c": tree.workspace})
    engine.dispose()
    problems = _verify(client, admin, tree.workspace)["chains"][0]["problems"]
    assert problems == [
        "entry seq 2 is missing (next found: 3)",
        "entry seq 3 does not link to the previous entry",
    ]


def test_a_deleted_last_entry_is_detected(client, admin, tree, app):
    engine = _owner_engine(app)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE chain = :c AND seq = 3"), {"c": tree.workspace})
    engine.dispose()
    problems = _verify(client, admin, tree.workspace)["chains"][0]["problems"]
    assert problems == ["chain ends at seq 2 but its head records seq 3: entries were removed"]


def test_tenant_admin_verifies_its_subtree_only(client, admin, tree):
    report = client.get("/audit/verify", headers=tree.h("org")).json()
    assert [c["chain"] for c in report["chains"]] == sorted([tree.org, tree.workspace])
    assert client.get(f"/audit/verify?tenant_id={tree.enterprise}", headers=tree.h("org")).status_code == 404


def test_chain_is_consistent_under_concurrent_writes(client, admin, tree):
    from concurrent.futures import ThreadPoolExecutor

    def put_user(i: int) -> int:
        spec = {"email": f"u{i}@example.com", "display_name": f"U{i}", "role": "viewer"}
        return client.put(
            f"/tenants/{tree.workspace}/users/u{i}-{uid()}", json=spec, headers=admin
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(put_user, range(24)))
    assert codes == [201] * 24
    report = _verify(client, admin, tree.workspace)
    assert report["ok"] is True and report["chains"][0]["entries"] == 3 + 24


@pytest.mark.postgres
def test_the_application_role_cannot_update_or_delete_audit_rows(pg_stack, pg_tree):
    import psycopg

    backend, tree = pg_stack.backend, pg_tree

    from control_plane.db import APP_ROLE, PLATFORM_ROLE

    with psycopg.connect(backend.app_url) as conn:
        for role in (APP_ROLE, PLATFORM_ROLE):
            for statement in (
                "UPDATE audit_log SET reason = 'x'",
                "DELETE FROM audit_log",
                "UPDATE audit_log SET hash = 'x' WHERE chain = %s",
            ):
                with conn.transaction():
                    conn.execute(
                        "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)",
                        (role, tree.workspace),
                    )
                    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                        conn.execute(statement, (tree.workspace,) if "%s" in statement else None)
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)",
                    (role, tree.workspace),
                )
                count = conn.execute(
                    "SELECT count(*) FROM audit_log WHERE chain = %s", (tree.workspace,)
                ).fetchone()
                assert count[0] == 3
