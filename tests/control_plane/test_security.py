"""Security hardening: tokens end with their key, refusals are audited, the audit chain is keyed and anchored,
bodies and lists are bounded, and rate limits answer 429 (both backends where the database matters)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.control_plane.conftest import create_key, make_settings, reasoned, uid


def _token(client, headers: dict[str, str]) -> dict[str, str]:
    resp = client.post("/auth/token", json={}, headers=headers)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _key_id(headers: dict[str, str]) -> str:
    return headers["X-API-Key"].split(".")[2]


def _whoami(client, headers: dict[str, str]) -> int:
    return int(client.get("/auth/whoami", headers=headers).status_code)


def _owner_engine(app):
    from control_plane.db import normalize_url

    return create_engine(normalize_url(app.state.cp.settings.resolved_migration_url()))


def _chain(client, admin, tenant: str) -> list[dict[str, Any]]:
    resp = client.get(f"/tenants/{tenant}/audit?limit=1000", headers=admin)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


# --- finding 1: a token outlives its key -------------------------------------------------------------------


def test_a_token_dies_with_its_revoked_key(client, admin, tree):
    key = create_key(client, tree.h("org"), tree.workspace, "tenant_admin")
    bearer = _token(client, key)
    assert _whoami(client, bearer) == 200
    resp = client.delete(
        f"/tenants/{tree.workspace}/api-keys/{_key_id(key)}", headers=reasoned(tree.h("org"), "left")
    )
    assert resp.status_code == 200, resp.text
    assert _whoami(client, bearer) == 401
    # the revoked admin's token cannot mint a new admin key
    resp = client.post(
        f"/tenants/{tree.workspace}/api-keys",
        json={"name": "backdoor", "role": "tenant_admin"},
        headers=reasoned(bearer),
    )
    assert resp.status_code == 401, resp.text
    # nor can a token exchanged from that token before the revocation
    assert client.post("/auth/token", json={}, headers=bearer).status_code == 401


def test_a_token_dies_when_its_key_is_rotated(client, tree):
    key = create_key(client, tree.h("org"), tree.workspace, "analyst")
    bearer = _token(client, key)
    resp = client.post(
        f"/tenants/{tree.workspace}/api-keys/{_key_id(key)}/rotate", headers=reasoned(tree.h("org"), "rotate")
    )
    assert resp.status_code == 201, resp.text
    assert _whoami(client, bearer) == 401
    assert _whoami(client, {"X-API-Key": resp.json()["key"]}) == 200


def test_revoking_a_keys_tokens_keeps_the_key(client, tree):
    key = create_key(client, tree.h("org"), tree.workspace, "analyst")
    bearer = _token(client, key)
    nested = _token(client, bearer)  # a token exchanged from a token carries the same key and generation
    resp = client.delete(
        f"/tenants/{tree.workspace}/api-keys/{_key_id(key)}/tokens", headers=reasoned(tree.h("org"), "leak")
    )
    assert resp.status_code == 200 and resp.json()["token_generation"] == 1, resp.text
    assert (_whoami(client, bearer), _whoami(client, nested), _whoami(client, key)) == (401, 401, 200)
    assert _whoami(client, _token(client, key)) == 200  # tokens issued afterwards work


def test_sign_out_everywhere_ends_the_callers_tokens(client, tree):
    key = create_key(client, tree.h("org"), tree.workspace, "viewer")
    bearer = _token(client, key)
    resp = client.post("/auth/tokens/revoke", headers=bearer)
    assert resp.status_code == 200, resp.text
    assert _whoami(client, bearer) == 401


def test_platform_keys_and_their_tokens_can_be_revoked(client, admin, backend, tree):
    from control_plane.bootstrap import create_admin_key

    platform_key = {
        "X-API-Key": create_admin_key("second admin", database_url=backend.app_url, run_migrations=False)
    }
    kid = _key_id(platform_key)
    bearer = _token(client, platform_key)
    listed = client.get("/platform/api-keys?limit=1000", headers=admin)
    assert kid in [k["id"] for k in listed.json()]
    # tenant admins cannot see or touch platform keys
    assert client.get("/platform/api-keys", headers=tree.h("enterprise")).status_code == 403
    denied = client.delete(f"/platform/api-keys/{kid}", headers=reasoned(tree.h("enterprise")))
    assert denied.status_code == 403
    assert (
        client.delete(f"/tenants/{tree.enterprise}/api-keys/{kid}", headers=reasoned(admin)).status_code
        == 404
    )

    assert client.post("/audit/anchor", headers=tree.h("enterprise")).status_code == 403
    assert client.delete(f"/platform/api-keys/{kid}/tokens", headers=reasoned(admin, "t")).status_code == 200
    assert (_whoami(client, bearer), _whoami(client, platform_key)) == (401, 200)
    bearer = _token(client, platform_key)
    assert client.delete(f"/platform/api-keys/{kid}", headers=reasoned(admin, "retired")).status_code == 200
    assert (_whoami(client, bearer), _whoami(client, platform_key)) == (401, 401)


def test_tokens_issued_before_the_key_claim_are_checked_against_their_key(client, tree, app):
    from control_plane.auth import tokens

    key = create_key(client, tree.h("org"), tree.workspace, "analyst")
    kid = _key_id(key)
    legacy, _ = tokens.issue(
        app.state.cp.settings,
        subject=f"key:{kid}",
        tenant_id=tree.workspace,
        role="analyst",
        signing_key_id=None,
    )
    bearer = {"Authorization": f"Bearer {legacy}"}
    assert _whoami(client, bearer) == 200
    client.delete(f"/tenants/{tree.workspace}/api-keys/{kid}", headers=reasoned(tree.h("org"), "x"))
    assert _whoami(client, bearer) == 401


# --- finding 2: refusals leave no trace -------------------------------------------------------------------


def test_refusals_of_a_caller_are_audited_in_its_own_chain(client, admin, tree):
    viewer = create_key(client, tree.h("org"), tree.workspace, "viewer")
    resp = client.post(
        f"/tenants/{tree.workspace}/api-keys",
        json={"name": "x", "role": "viewer"},
        headers={**reasoned(viewer, "try"), "X-Request-ID": "deny-1"},
    )
    assert resp.status_code == 403
    other = f"ent-{uid()}"
    assert (
        client.put(f"/tenants/{other}", json={"kind": "enterprise", "name": "O"}, headers=admin).status_code
        == 201
    )
    resp = client.post(
        f"/tenants/{other}/api-keys",
        json={"name": "x", "role": "viewer"},
        headers={**reasoned(tree.h("org"), "cross"), "X-Request-ID": "deny-2"},
    )
    assert resp.status_code == 404

    denied = {
        e["request_id"]: e
        for e in _chain(client, admin, tree.workspace)
        if e["action"].startswith("request.")
    }
    entry = denied["deny-1"]
    assert (entry["action"], entry["actor"], entry["actor_role"], entry["resource"]) == (
        "request.denied.403",
        f"key:{_key_id(viewer)}",
        "viewer",
        f"POST /tenants/{tree.workspace}/api-keys",
    )
    assert entry["reason"].startswith("403: ")
    cross = {
        e["request_id"]: e for e in _chain(client, admin, tree.org) if e["action"].startswith("request.")
    }
    assert cross["deny-2"]["action"] == "request.denied.404" and other in cross["deny-2"]["resource"]
    assert not [e for e in _chain(client, admin, other) if e["action"].startswith("request.")]


def test_anonymous_refusals_are_aggregated_per_source(app, caplog):
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from control_plane.audit.models import AuditEntry
    from control_plane.db import DbScope

    source = f"10.9.{int(uid()[:2], 16)}.{int(uid()[:2], 16)}"  # the window is 60 s: all 30 fall in one
    marker = f"/tenants/anon-{uid()}/users"
    client = TestClient(app, client=(source, 40000))
    with caplog.at_level("WARNING", logger="control_plane.audit.denied"):
        for i in range(30):
            assert client.get(marker, headers={"X-Request-ID": f"anon-{i}"}).status_code == 401
    logged = [r for r in caplog.records if marker in r.getMessage()]
    with app.state.cp.db.session(DbScope.for_platform()) as session:
        rows = list(
            session.execute(select(AuditEntry).where(AuditEntry.resource == f"GET {marker}")).scalars()
        )
    # the first refusal from the address is written and logged; the other 29 are counted, not written
    assert len(logged) == 1 and len(rows) == 1
    assert (rows[0].actor, rows[0].action, rows[0].request_id) == (
        "anonymous",
        "request.denied.401",
        "anon-0",
    )


def test_the_aggregator_carries_the_suppressed_count_into_the_next_window():
    from control_plane.audit.denied import Aggregator

    now = [0.0]
    agg = Aggregator(window=60.0, clock=lambda: now[0])
    assert [agg.admit("ip:a") for _ in range(3)] == [(True, 0), (False, 1), (False, 2)]
    assert agg.admit("ip:b") == (True, 0)
    now[0] = 61.0
    assert agg.admit("ip:a") == (True, 2)


# --- finding 3: the chain has no key; buyer links are audited as system ------------------------------------


def _rewrite_with_plain_hashes(app, tenant: str, seq: int) -> None:
    """What a database owner can do without the key: edit an entry and recompute every later hash and the head."""
    from control_plane.audit.service import _HASHED_FIELDS, canonical

    engine = _owner_engine(app)
    try:
        with engine.begin() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    text("SELECT * FROM audit_log WHERE chain = :c ORDER BY seq"), {"c": tenant}
                )
            ]
            prev = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
            for row in rows[seq - 1 :]:
                if row["seq"] == seq:
                    row["reason"] = "nothing to see here"
                row["prev_hash"] = prev
                row["hash"] = hashlib.sha256(
                    canonical({k: row.get(k) for k in _HASHED_FIELDS}).encode()
                ).hexdigest()
                conn.execute(
                    text(
                        "UPDATE audit_log SET reason = :r, prev_hash = :p, hash = :h, alg = 'sha256' WHERE id = :i"
                    ),
                    {"r": row["reason"], "p": row["prev_hash"], "h": row["hash"], "i": row["id"]},
                )
                prev = row["hash"]
            conn.execute(text("UPDATE audit_heads SET hash = :h WHERE chain = :c"), {"h": prev, "c": tenant})
    finally:
        engine.dispose()


def test_a_database_owner_cannot_rewrite_the_chain(client, admin, tree, app):
    assert client.get(f"/audit/verify?tenant_id={tree.org}", headers=admin).json()["ok"] is True
    _rewrite_with_plain_hashes(app, tree.org, 2)
    report = client.get(f"/audit/verify?tenant_id={tree.org}", headers=admin).json()
    assert report["ok"] is False
    assert any("altered" in p or "unkeyed" in p for p in report["chains"][0]["problems"]), report


def test_a_chain_cut_back_to_a_genuine_entry_is_caught_by_the_anchor(client, admin, tree, app):
    create_key(client, admin, tree.org, "viewer")
    entries = _chain(client, admin, tree.org)
    assert client.post("/audit/anchor", headers=admin).status_code == 200
    keep = entries[-2]
    engine = _owner_engine(app)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM audit_log WHERE chain = :c AND seq > :s"), {"c": tree.org, "s": keep["seq"]}
            )
            conn.execute(
                text("UPDATE audit_heads SET seq = :s, hash = :h WHERE chain = :c"),
                {"s": keep["seq"], "h": keep["hash"], "c": tree.org},
            )
    finally:
        engine.dispose()
    report = client.get(f"/audit/verify?tenant_id={tree.org}", headers=admin).json()
    assert report["ok"] is False and report["anchor"]["ok"] is True
    assert any("anchored head" in p for p in report["chains"][0]["problems"]), report


def test_a_forged_anchor_is_reported(client, admin, app, tmp_path):
    store = app.state.audit_anchor_store
    body = json.dumps({"anchored_at": "9999", "heads": {}, "mac": "0" * 64}).encode()
    store.put("99999999T999999999999Z-forged", body)
    try:
        report = client.get("/audit/verify", headers=admin).json()
        assert report["ok"] is False and report["anchor"]["ok"] is False
        assert "MAC" in report["anchor"]["problem"]
    finally:
        import os

        path = store.directory / "99999999T999999999999Z-forged.json"
        os.chmod(path, 0o644)
        path.unlink()


def test_legacy_unkeyed_chains_are_sealed(client, admin, tree, app):
    from control_plane.audit.service import seal_unkeyed_chains
    from control_plane.db import DbScope

    _rewrite_with_plain_hashes(app, tree.workspace, 1)  # the whole chain as it was before the key existed
    report = client.get(f"/audit/verify?tenant_id={tree.workspace}", headers=admin).json()
    assert report["ok"] is False and any("keyed" in p for p in report["chains"][0]["problems"])
    with app.state.cp.db.session(DbScope.for_platform(), write=True) as session:
        assert tree.workspace in seal_unkeyed_chains(session)
        session.commit()
    report = client.get(f"/audit/verify?tenant_id={tree.workspace}", headers=admin).json()
    assert report["ok"] is True, report
    assert _chain(client, admin, tree.workspace)[-1]["action"] == "audit.chain_keyed"


def test_anchors_go_to_s3_with_object_lock():
    import boto3
    from moto import mock_aws

    from control_plane.audit.anchor import S3AnchorStore, latest_anchor

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="audit-anchors", ObjectLockEnabledForBucket=True)
        store = S3AnchorStore("audit-anchors", "cp/anchors", retention_days=30, client=s3)
        key = b"k" * 32
        from control_plane.audit.anchor import _mac

        for i in (1, 2):
            doc = {"anchored_at": f"t{i}", "heads": {"acme": [i, "h"]}}
            store.put(f"2026120{i}T000000000000Z-x", json.dumps({**doc, "mac": _mac(key, doc)}).encode())
        assert latest_anchor(store, key) == {"anchored_at": "t2", "heads": {"acme": [2, "h"]}}
        head = s3.head_object(Bucket="audit-anchors", Key="cp/anchors/20261202T000000000000Z-x.json")
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"]
        versions = s3.list_object_versions(Bucket="audit-anchors")["Versions"]
        with pytest.raises(Exception, match=r"AccessDenied|locked|retention"):
            s3.delete_object(
                Bucket="audit-anchors", Key=versions[0]["Key"], VersionId=versions[0]["VersionId"]
            )


@pytest.fixture(scope="module")
def marketplace() -> Iterator[Any]:
    from sandboxes.marketplace import start_demo_sandbox

    sandbox = start_demo_sandbox()
    yield sandbox
    sandbox.stop()


def test_buyer_links_are_audited_with_the_caller_and_request_id(client, admin, app, marketplace):
    from lakehouse.marketplace.connector import MarketplaceConfig, MarketplaceReader
    from sandboxes.marketplace import PLATFORM_SELLER

    creds = marketplace.credentials(PLATFORM_SELLER)
    app.state.marketplace_reader = MarketplaceReader.from_config(
        MarketplaceConfig(
            endpoint_url=creds["endpoint_url"],
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
        )
    )
    try:
        tenant = f"ent-{uid()}"
        client.put(f"/tenants/{tenant}", json={"kind": "enterprise", "name": "T"}, headers=admin)
        owner = create_key(client, admin, tenant, "tenant_admin")
        buyer = next(iter(marketplace.world.buyers.values()))
        resp = client.post(
            "/marketplace/register",
            json={"tenant_id": tenant, "token": buyer["registration_token"]},
            headers={**owner, "X-Request-ID": "link-1"},
        )
        assert resp.status_code in (200, 201, 409), resp.text
        if resp.status_code == 409:
            pytest.skip("every sandbox buyer is already linked by another test in this session")
        link = [e for e in _chain(client, admin, tenant) if e["action"] == "marketplace.buyer_link"]
        assert [(e["actor"], e["request_id"]) for e in link] == [(f"key:{_key_id(owner)}", "link-1")]
    finally:
        app.state.marketplace_reader = None
        app.state.entitlement_cache = None


# --- finding 4: unbounded bodies and lists ---------------------------------------------------------------


def test_a_large_body_is_refused_with_413_before_it_is_read(client, admin, tree):
    big = {"name": "x" * (2 * 1024 * 1024), "role": "viewer"}
    resp = client.post(f"/tenants/{tree.org}/api-keys", json=big, headers=reasoned(admin))
    assert resp.status_code == 413, resp.text
    # without credentials, a 30 MB body announced by Content-Length is refused before a byte is read
    assert (
        client.post("/tenants/x/api-keys", content=b"{" + b" " * (30 * 1024 * 1024) + b"}").status_code == 413
    )

    # a body without a length is cut off once it passes the limit
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'", "role": "viewer"}'

    resp = client.post(f"/tenants/{tree.org}/api-keys", content=chunks(), headers=reasoned(admin))
    assert resp.status_code == 413, resp.text
    # approval payloads have a tighter bound (64 KiB by default)
    approval = {"tenant_id": tree.org, "action": "x", "payload": {"x": "y" * 100_000}, "reason": "r"}
    assert client.post("/approvals", json=approval, headers=admin).status_code == 413
    assert len(client.get(f"/tenants/{tree.org}/api-keys", headers=admin).json()) == 1


def test_the_body_limit_reads_nothing_when_content_length_is_over(app):
    from control_plane.middleware import BodyLimitMiddleware

    called: list[str] = []

    async def inner(scope, receive, send):
        called.append("app")

    async def receive():
        called.append("receive")
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message):
        sent.append(message)

    mw = BodyLimitMiddleware(inner, default=1024)
    scope = {"type": "http", "path": "/x", "headers": [(b"content-length", b"31457280")], "state": {}}
    asyncio.run(mw(scope, receive, send))
    assert called == [] and sent[0]["status"] == 413


def test_lists_are_paginated_with_a_cap(client, admin, tree):
    for role in ("viewer", "analyst"):
        create_key(client, admin, tree.org, role)
    assert len(client.get(f"/tenants/{tree.org}/api-keys?limit=2", headers=admin).json()) == 2
    assert len(client.get(f"/tenants/{tree.org}/api-keys?limit=2&offset=2", headers=admin).json()) == 1
    assert client.get(f"/tenants/{tree.org}/api-keys?limit=1001", headers=admin).status_code == 422
    assert client.get(f"/tenants/{tree.org}/users?limit=100000", headers=admin).status_code == 422
    assert client.get("/registry/modules?limit=1001", headers=admin).status_code == 422
    assert len(client.get("/registry/modules?limit=1", headers=admin).json()) == 1
    assert client.get(f"/tenants/{tree.org}/cost-alerts?limit=1001", headers=admin).status_code == 422


def test_every_list_route_is_bounded(app):
    """Every GET answering a JSON array takes a ``limit`` with a maximum (or lists a fixed, small set)."""
    fixed = {"/plans", "/tenants/{tenant_id}/provisioning", "/tenants/{tenant_id}/quotas"}
    unbounded = []
    for path, ops in app.openapi()["paths"].items():
        get = ops.get("get")
        schema = (
            (get or {}).get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        )
        if not get or schema.get("schema", {}).get("type") != "array" or path in fixed:
            continue
        limits = [p for p in get.get("parameters", []) if p["name"] == "limit"]
        if not limits or "maximum" not in limits[0]["schema"]:
            unbounded.append(path)
    assert unbounded == []


# --- finding 5: no rate limiting -------------------------------------------------------------------------


@pytest.fixture
def limited(backend) -> Iterator[Any]:
    """A second app on the same database with small limits."""
    from fastapi.testclient import TestClient

    from control_plane.app import create_app

    settings = make_settings(
        backend,
        auto_migrate=False,
        seed_registry=False,
        rate_limit_per_ip=1_000_000.0,
        rate_limit_per_plan={"free": 5.0, "team": 5.0, "enterprise": 5.0, "_platform": 1000.0},
        rate_limit_burst_seconds=2.0,
        auth_failure_threshold=5,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.cp.db.dispose()


def test_a_key_over_its_plans_rate_gets_429_with_retry_after(limited, admin):
    tenant = f"ent-{uid()}"
    assert (
        limited.put(f"/tenants/{tenant}", json={"kind": "enterprise", "name": "R"}, headers=admin).status_code
        == 201
    )
    key = create_key(limited, admin, tenant, "viewer")
    codes = [limited.get(f"/tenants/{tenant}", headers=key).status_code for _ in range(30)]
    assert codes[:10] == [200] * 10 and 429 in codes
    resp = limited.get(f"/tenants/{tenant}", headers=key)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    # another key of the tenant is not affected
    assert (
        limited.get(f"/tenants/{tenant}", headers=create_key(limited, admin, tenant, "viewer")).status_code
        == 200
    )


def test_repeated_wrong_secrets_for_one_key_id_back_off(limited, admin):
    tenant = f"ent-{uid()}"
    limited.put(f"/tenants/{tenant}", json={"kind": "enterprise", "name": "R"}, headers=admin)
    key = create_key(limited, admin, tenant, "viewer")
    wrong = {"X-API-Key": key["X-API-Key"].rsplit(".", 1)[0] + ".wrong-secret"}
    codes = [limited.get("/auth/whoami", headers=wrong).status_code for _ in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    resp = limited.get("/auth/whoami", headers=key)  # even the right secret waits out the back-off
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1


def test_one_address_over_its_rate_gets_429(backend):
    from fastapi.testclient import TestClient

    from control_plane.app import create_app

    app = create_app(make_settings(backend, auto_migrate=False, seed_registry=False, rate_limit_per_ip=2.0))
    try:
        with TestClient(app) as client:
            codes = [client.get("/auth/whoami").status_code for _ in range(10)]
            assert codes[:4] == [401] * 4 and codes[-1] == 429
            assert client.get("/health").status_code == 200  # probes are exempt
    finally:
        app.state.cp.db.dispose()


def test_limits_switched_off_for_a_measurement_answer_every_request_and_production_refuses_it(
    backend, tmp_path
):
    from fastapi.testclient import TestClient

    from control_plane.app import create_app
    from control_plane.settings import ControlPlaneSettings

    app = create_app(
        make_settings(
            backend, auto_migrate=False, seed_registry=False, rate_limit_per_ip=2.0, rate_limits_enabled=False
        )
    )
    try:
        with TestClient(app) as client:
            assert {client.get("/auth/whoami").status_code for _ in range(10)} == {401}
    finally:
        app.state.cp.db.dispose()
    with pytest.raises(ValueError, match="RATE_LIMITS_ENABLED=false is refused in production"):
        ControlPlaneSettings(
            environment="production",
            database_url="sqlite://",
            lake_root=str(tmp_path),
            jwt_secret="kX9vQ2mLr7TzB4wNc8YhJ3pFs6GdA1eU0oIqVbRt",
            rate_limits_enabled=False,
        )


def test_the_audit_key_is_required_in_production_and_read_from_secrets_manager(tmp_path, monkeypatch):
    import boto3
    from moto import mock_aws

    from control_plane.audit.keys import AuditKeyError, load_audit_hmac_key
    from control_plane.settings import ControlPlaneSettings

    base = {
        "environment": "production",
        "database_url": "sqlite://",
        "lake_root": str(tmp_path),
        "jwt_secret": "kX9vQ2mLr7TzB4wNc8YhJ3pFs6GdA1eU0oIqVbRt",
    }
    with pytest.raises(AuditKeyError, match="LAKEHOUSE_AUDIT_HMAC_KEY"):
        load_audit_hmac_key(ControlPlaneSettings(**base))
    with pytest.raises(AuditKeyError, match="at least 32 bytes"):
        load_audit_hmac_key(ControlPlaneSettings(**base, audit_hmac_key="short"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        arn = sm.create_secret(Name="audit-hmac", SecretString="s" * 48)["ARN"]
        key = load_audit_hmac_key(ControlPlaneSettings(**base, audit_hmac_key_secret_arn=arn))
    assert key == b"s" * 48
    assert not (tmp_path / ".audit_hmac_key").exists()  # production never falls back to a local file


def test_the_periodic_anchor_writes_the_heads(app, tmp_path):
    import time

    from control_plane.audit.anchor import FileAnchorStore, PeriodicAnchor, latest_anchor
    from control_plane.audit.keys import current_key

    store = FileAnchorStore(tmp_path / "anchors")
    anchorer = PeriodicAnchor(app.state.cp.db, store, current_key(), interval=0.05)
    anchorer.start()
    try:
        deadline = time.monotonic() + 30
        while store.latest() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        anchorer.stop()
    document = latest_anchor(store, current_key())
    assert document is not None and "_platform" in document["heads"]
