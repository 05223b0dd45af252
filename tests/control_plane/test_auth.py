"""Authentication: API keys (hash only, scoped, rotatable, revocable) and JWT bearer tokens."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select

from tests.control_plane.conftest import JWT_SECRET, create_key, make_tree, reasoned, uid

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def _routes(app):
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            yield method.upper(), path


def _fill(path: str) -> str:
    return (
        path.replace("{tenant_id}", "t1")
        .replace("{user_id}", "u1")
        .replace("{key_id}", "k1")
        .replace("{plan_id}", "free")
        .replace("{name}", "partner-central-connector")
        .replace("{version}", "1.0.0")
    )


def test_only_health_and_openapi_answer_without_credentials(client, app):
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    checked = 0
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        resp = client.request(method, _fill(path), json={})
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert resp.headers["content-type"] == "application/json"
        checked += 1
    assert checked >= 20


def test_openapi_documents_both_credential_schemes(client):
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"].lower() == "bearer"


def test_only_the_hash_of_an_api_key_is_stored(client, admin, app):
    from control_plane.auth.keys import hash_key
    from control_plane.auth.models import ApiKey
    from control_plane.db import DbScope

    tree = make_tree(client, admin, levels=())
    resp = client.post(
        f"/tenants/{tree.org}/api-keys", json={"name": "ci", "role": "viewer"}, headers=reasoned(admin)
    )
    assert resp.status_code == 201
    body = resp.json()
    plaintext = body["key"]
    assert plaintext.startswith(f"lh.{tree.org}.{body['id']}.")
    with app.state.cp.db.session(DbScope.for_platform()) as s:
        row = s.execute(select(ApiKey).where(ApiKey.id == body["id"])).scalar_one()
        stored = [str(v) for v in (row.secret_hash, row.name, row.role, row.created_by)]
    assert row.secret_hash == hash_key(plaintext)
    assert not any(plaintext.split(".")[-1] in v for v in stored)
    listed = client.get(f"/tenants/{tree.org}/api-keys", headers=admin).json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]


def test_a_key_is_scoped_to_its_tenant_and_role(client, admin):
    tree = make_tree(client, admin, roles=("viewer",), levels=("org",))
    viewer = tree.h("org", "viewer")
    who = client.get("/auth/whoami", headers=viewer).json()
    assert (who["role"], who["tenant_id"], who["via"]) == ("viewer", tree.org, "api_key")
    assert client.get(f"/tenants/{tree.workspace}", headers=viewer).status_code == 200
    assert client.get(f"/tenants/{tree.enterprise}", headers=viewer).status_code == 404
    assert client.get(f"/tenants/{tree.org}/api-keys", headers=viewer).status_code == 403


def test_a_tampered_or_forged_key_is_refused(client, admin, tree):
    key = tree.h("org")["X-API-Key"]
    prefix, tenant, key_id, secret = key.split(".")
    forged = [
        f"{prefix}.{tenant}.{key_id}.{secret[:-2]}xx",  # wrong secret
        f"{prefix}.{tree.enterprise}.{key_id}.{secret}",  # claims the parent tenant
        f"{prefix}._platform.{key_id}.{secret}",  # claims the platform
        "not-a-key",
        "",
    ]
    for candidate in forged:
        assert client.get("/auth/whoami", headers={"X-API-Key": candidate}).status_code == 401, candidate


def test_rotation_replaces_the_key_and_the_old_one_stops_working(client, admin, tree):
    org_admin = tree.h("org")
    old = create_key(client, org_admin, tree.workspace, "analyst")
    old_id = old["X-API-Key"].split(".")[2]
    assert (
        client.post(f"/tenants/{tree.workspace}/api-keys/{old_id}/rotate", headers=org_admin).status_code
        == 400
    )
    rotated = client.post(
        f"/tenants/{tree.workspace}/api-keys/{old_id}/rotate", headers=reasoned(org_admin, "leak")
    )
    assert rotated.status_code == 201
    new = {"X-API-Key": rotated.json()["key"]}
    assert rotated.json()["role"] == "analyst" and rotated.json()["name"] == "analyst key"
    assert client.get("/auth/whoami", headers=old).status_code == 401
    assert client.get("/auth/whoami", headers=new).json()["role"] == "analyst"
    keys = {k["id"]: k for k in client.get(f"/tenants/{tree.workspace}/api-keys", headers=org_admin).json()}
    assert keys[old_id]["replaced_by"] == rotated.json()["id"] and keys[old_id]["revoked_at"] is not None
    again = client.post(f"/tenants/{tree.workspace}/api-keys/{old_id}/rotate", headers=reasoned(org_admin))
    assert again.status_code == 409


def test_revocation_needs_a_reason_and_is_idempotent(client, admin, tree):
    key = create_key(client, admin, tree.workspace, "service")
    key_id = key["X-API-Key"].split(".")[2]
    assert client.delete(f"/tenants/{tree.workspace}/api-keys/{key_id}", headers=admin).status_code == 400
    first = client.delete(
        f"/tenants/{tree.workspace}/api-keys/{key_id}", headers=reasoned(admin, "offboarding")
    )
    assert first.status_code == 200 and first.json()["revoked_at"] is not None
    assert client.get("/auth/whoami", headers=key).status_code == 401
    second = client.delete(f"/tenants/{tree.workspace}/api-keys/{key_id}", headers=reasoned(admin, "again"))
    assert second.status_code == 200 and second.json()["revoked_at"] == first.json()["revoked_at"]
    assert (
        client.delete(f"/tenants/{tree.workspace}/api-keys/kmissing", headers=reasoned(admin)).status_code
        == 404
    )


def test_expired_keys_are_refused(client, admin, tree, app):
    from datetime import timedelta

    from control_plane.db import utcnow

    key = create_key(client, admin, tree.workspace, "viewer")
    key_id = key["X-API-Key"].split(".")[2]
    assert client.get("/auth/whoami", headers=key).status_code == 200
    _set_expiry(app, key_id, utcnow() - timedelta(seconds=1))
    assert client.get("/auth/whoami", headers=key).status_code == 401


def _set_expiry(app, key_id, when) -> None:
    """Directly, as the database owner: expiry is immutable through the API role."""
    from sqlalchemy import create_engine, text

    from control_plane.db import normalize_url

    engine = create_engine(normalize_url(app.state.cp.settings.resolved_migration_url()))
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_keys SET expires_at = :w WHERE id = :i"), {"w": when, "i": key_id})
    engine.dispose()


def test_tenant_admin_cannot_grant_platform_admin_or_reach_outside(client, admin, tree):
    org_admin = tree.h("org")
    escalate = client.post(
        f"/tenants/{tree.org}/api-keys",
        json={"name": "x", "role": "platform_admin"},
        headers=reasoned(org_admin),
    )
    assert escalate.status_code == 403
    assert "may not grant role platform_admin" in " ".join(escalate.json()["reasons"])
    up = client.post(
        f"/tenants/{tree.enterprise}/api-keys",
        json={"name": "x", "role": "viewer"},
        headers=reasoned(org_admin),
    )
    assert up.status_code == 404


def _token(claims: dict, secret: str = JWT_SECRET, **headers) -> dict[str, str]:
    now = int(time.time())
    base = {"iss": "lakehouse", "aud": "lakehouse-api", "iat": now, "exp": now + 60}
    return {
        "Authorization": "Bearer "
        + jwt.encode({**base, **claims}, secret, algorithm="HS256", headers=headers)
    }


def test_hs256_platform_tokens_are_accepted_and_checked(client, admin, tree):
    ok = _token({"sub": "alice", "role": "analyst", "tenant_id": tree.workspace})
    who = client.get("/auth/whoami", headers=ok).json()
    assert who == {
        "subject": "user:alice",
        "role": "analyst",
        "tenant_id": tree.workspace,
        "tenant_path": f"/{tree.enterprise}/{tree.org}/{tree.workspace}/",
        "via": "jwt",
    }
    platform = _token({"sub": "root", "role": "platform_admin"})
    assert client.get("/auth/whoami", headers=platform).json()["tenant_id"] is None
    bad = [
        _token({"sub": "a", "role": "analyst", "tenant_id": tree.workspace}, secret="wrong" * 10),
        _token({"sub": "a", "role": "analyst", "tenant_id": tree.workspace, "exp": int(time.time()) - 10}),
        _token({"sub": "a", "role": "analyst", "tenant_id": tree.workspace, "iss": "someone-else"}),
        _token({"sub": "a", "role": "analyst", "tenant_id": tree.workspace, "aud": "other"}),
        _token({"sub": "a", "role": "wizard", "tenant_id": tree.workspace}),
        _token({"sub": "a", "role": "analyst"}),  # no tenant
        _token({"sub": "a", "role": "platform_admin", "tenant_id": tree.workspace}),
        _token({"sub": "a", "role": "analyst", "tenant_id": "no-such-tenant"}),
        {"Authorization": "Bearer not.a.jwt"},
    ]
    for headers in bad:
        assert client.get("/auth/whoami", headers=headers).status_code == 401, headers


def test_token_exchange_signs_with_the_tenant_key(client, admin, tree):
    resp = client.post("/auth/token", json={"ttl_seconds": 120}, headers=tree.h("org"))
    assert resp.status_code == 200
    token = resp.json()["access_token"]
    assert resp.json()["expires_in"] == 120
    header = jwt.get_unverified_header(token)
    assert header["kid"].startswith(f"t.{tree.org}.")
    bearer = {"Authorization": f"Bearer {token}"}
    who = client.get("/auth/whoami", headers=bearer).json()
    assert (who["role"], who["tenant_id"], who["via"]) == ("tenant_admin", tree.org, "jwt")
    # The tenant key cannot vouch for another tenant.
    claims = jwt.decode(token, options={"verify_signature": False})
    other = make_tree(client, admin, levels=())
    forged = jwt.encode(
        {**claims, "tenant_id": other.org}, "x" * 40, algorithm="HS256", headers={"kid": header["kid"]}
    )
    assert client.get("/auth/whoami", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_retired_signing_key_invalidates_its_tokens(client, admin, tree, app):
    from sqlalchemy import create_engine, text

    from control_plane.db import normalize_url

    token = client.post("/auth/token", json={}, headers=tree.h("workspace")).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/auth/whoami", headers=bearer).status_code == 200
    engine = create_engine(normalize_url(app.state.cp.settings.resolved_migration_url()))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE signing_keys SET status = 'retired' WHERE tenant_id = :t"), {"t": tree.workspace}
        )
    engine.dispose()
    assert client.get("/auth/whoami", headers=bearer).status_code == 401


def test_disabled_users_tokens_are_refused(client, admin, tree):
    user = f"bob-{uid()}"
    put = client.put(
        f"/tenants/{tree.workspace}/users/{user}",
        json={"email": "bob@example.com", "display_name": "Bob", "role": "analyst"},
        headers=tree.h("org"),
    )
    assert put.status_code == 201
    bearer = _token({"sub": user, "role": "analyst", "tenant_id": tree.workspace})
    assert client.get("/auth/whoami", headers=bearer).status_code == 200
    disable = {"email": "bob@example.com", "display_name": "Bob", "role": "analyst", "status": "disabled"}
    assert (
        client.put(f"/tenants/{tree.workspace}/users/{user}", json=disable, headers=tree.h("org")).status_code
        == 400
    )
    resp = client.put(
        f"/tenants/{tree.workspace}/users/{user}", json=disable, headers=reasoned(tree.h("org"), "left")
    )
    assert resp.status_code == 200 and resp.json()["status"] == "disabled"
    assert client.get("/auth/whoami", headers=bearer).status_code == 401


def test_users_crud(client, admin, tree):
    org_admin = tree.h("org")
    user = f"carol-{uid()}"
    spec = {"email": "carol@example.com", "display_name": "Carol", "role": "approver"}
    assert (
        client.put(f"/tenants/{tree.workspace}/users/{user}", json=spec, headers=org_admin).status_code == 201
    )
    same = client.put(f"/tenants/{tree.workspace}/users/{user}", json=spec, headers=org_admin)
    assert same.status_code == 200
    got = client.get(f"/tenants/{tree.workspace}/users/{user}", headers=org_admin).json()
    assert {k: got[k] for k in ("id", "email", "role", "status")} == {
        "id": user,
        "email": "carol@example.com",
        "role": "approver",
        "status": "active",
    }
    assert [u["id"] for u in client.get(f"/tenants/{tree.workspace}/users", headers=org_admin).json()] == [
        user
    ]
    assert client.get(f"/tenants/{tree.workspace}/users/nobody", headers=org_admin).status_code == 404
    escalate = dict(spec, role="platform_admin")
    assert (
        client.put(f"/tenants/{tree.workspace}/users/{user}", json=escalate, headers=org_admin).status_code
        == 403
    )


def test_bootstrap_key_from_settings(backend):
    from fastapi.testclient import TestClient

    from control_plane.app import create_app
    from control_plane.auth import keys
    from tests.control_plane.conftest import make_settings

    _, plaintext, _ = keys.generate(None)
    app2 = create_app(
        make_settings(backend, auto_migrate=False, seed_registry=False, bootstrap_admin_key=plaintext)
    )
    try:
        who = TestClient(app2).get("/auth/whoami", headers={"X-API-Key": plaintext}).json()
        assert who["role"] == "platform_admin" and who["tenant_id"] is None
    finally:
        app2.state.cp.db.dispose()
    with pytest.raises(ValueError, match=r"lh\._platform"):
        create_app(
            make_settings(
                backend, auto_migrate=False, seed_registry=False, bootstrap_admin_key="lh.acme.k1.s"
            )
        )


def test_production_refuses_a_placeholder_jwt_secret():
    from control_plane.settings import ControlPlaneSettings

    with pytest.raises(ValueError, match="LAKEHOUSE_JWT_SECRET"):
        ControlPlaneSettings(environment="production", database_url="sqlite://", lake_root="/tmp/x")
    with pytest.raises(ValueError, match="placeholder"):
        ControlPlaneSettings(
            environment="production", database_url="sqlite://", lake_root="/tmp/x", jwt_secret="changeme"
        )
