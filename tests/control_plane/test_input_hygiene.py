"""Input hygiene on both backends: NUL and control characters are a 422, tenant ids match whole, and database
errors never log their parameters."""

from __future__ import annotations

import logging

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from control_plane.auth.models import ApiKey
from control_plane.db import Database, DbScope, describe_database_error, utcnow
from control_plane.request_model import RequestModel, SafeJson
from tests.control_plane.conftest import reasoned, uid

UPDATE = {
    "catalog": "Sandbox",
    "opportunity_id": "O3000000001",
    "last_modified_date": "2026-01-02T03:04:05.678Z",
    "changes": {"LifeCycle": {"NextSteps": "Call the CFO"}},
}


def _cases(tenant: str) -> list[tuple[str, str, object]]:
    """(method, url, body) with a NUL or control character in one string field of each request schema."""
    approval = {"tenant_id": tenant, "action": "partner_central.update_opportunity", "reason": "r"}
    return [
        ("PUT", f"/tenants/t-{uid()}", {"kind": "enterprise", "name": "Ac\x00me"}),
        (
            "PUT",
            f"/tenants/{tenant}/users/u1",
            {"email": "a\x00@x.io", "display_name": "A", "role": "viewer"},
        ),
        (
            "PUT",
            f"/tenants/{tenant}/users/u1",
            {"email": "a@x.io", "display_name": "A\x1b[31m", "role": "viewer"},
        ),
        ("POST", f"/tenants/{tenant}/api-keys", {"name": "ci\x00", "role": "viewer"}),
        ("POST", "/approvals", {**approval, "payload": UPDATE, "reason": "why\x00"}),
        ("POST", "/approvals", {**approval, "payload": {**UPDATE, "changes": {"x": ["ok", "b\x00d"]}}}),
        ("POST", "/approvals", {**approval, "payload": {**UPDATE, "k\x00ey": 1}}),
        ("PUT", "/plans/p-hygiene", {"name": "P\x7f", "quotas": {}, "allowed_module_types": []}),
        ("PUT", f"/tenants/{tenant}/quotas", {"limits": {"a\x00": 1}}),
        (
            "POST",
            "/authz/decide",
            {"input": {"subject": {"role": "viewer"}, "action": "data:read", "resource": {"type": "t\x00"}}},
        ),
        ("POST", "/registry/modules", {"name": "m", "version": "1.0.0", "description": "d\x00"}),
    ]


def test_nul_and_control_characters_are_refused_with_422_on_every_schema(client, admin):
    tenant = f"ent-{uid()}"
    assert (
        client.put(f"/tenants/{tenant}", json={"kind": "enterprise", "name": "E"}, headers=admin).status_code
        == 201
    )
    for method, url, body in _cases(tenant):
        resp = client.request(method, url, json=body, headers=reasoned(admin))
        assert resp.status_code == 422, (method, url, resp.status_code, resp.text)
        assert "control character" in resp.text, (url, resp.text)
    # Tabs and line breaks stay allowed in free text.
    ok = client.put(
        f"/tenants/{tenant}", json={"kind": "enterprise", "name": "Line one\nline\ttwo"}, headers=admin
    )
    assert ok.status_code == 200, ok.text


def _api_routes(routes):
    """Every APIRoute, including those of included routers (FastAPI nests them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _api_routes(route.routes)


def test_every_request_body_is_checked_for_control_characters(app):
    unchecked = []
    with_body = [r for r in _api_routes(app.routes) if r.body_field is not None]
    assert len(with_body) >= 10  # the walk found the domain routers
    for route in with_body:
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            checked = (isinstance(annotation, type) and issubclass(annotation, RequestModel)) or any(
                m in getattr(SafeJson, "__metadata__", ()) for m in param.field_info.metadata
            )
            if not checked:
                unchecked.append(f"{route.methods} {route.path}: {param.name}")
    assert unchecked == []


def test_tenant_ids_with_a_trailing_newline_are_refused_by_the_api(client, admin):
    ent = f"ent-{uid()}"
    assert (
        client.put(f"/tenants/{ent}", json={"kind": "enterprise", "name": "E"}, headers=admin).status_code
        == 201
    )
    assert (
        client.put("/tenants/ta%0A", json={"kind": "enterprise", "name": "E"}, headers=admin).status_code
        == 422
    )
    body = {"kind": "org", "name": "O", "parent_id": f"{ent}\n"}
    assert client.put(f"/tenants/org-{uid()}", json=body, headers=admin).status_code == 422
    approval = {"tenant_id": f"{ent}\n", "action": "partner_central.update_opportunity", "payload": UPDATE}
    assert client.post("/approvals", json={**approval, "reason": "r"}, headers=admin).status_code == 422
    assert client.get("/tenants/ta%0A", headers=admin).status_code == 422


def test_database_errors_do_not_carry_or_log_their_parameters(backend, caplog):
    secret_hash = "f" * 24 + uid() + "c0ffee"
    db = Database(backend.app_url, pool_size=1)
    key_id = f"hyg{uid()}"
    row = {
        "id": key_id,
        "tenant_id": None,
        "name": "x",
        "role": "platform_admin",
        "secret_hash": secret_hash,
        "created_at": utcnow(),
        "created_by": "test",
    }
    try:
        with caplog.at_level(logging.DEBUG):
            with db.session(DbScope.for_platform(), write=True) as session:
                session.add(ApiKey(**row))
                session.commit()
            with pytest.raises(IntegrityError) as raised:
                with db.session(DbScope.for_platform(), write=True) as session:
                    session.add(ApiKey(**row))
                    session.commit()
        assert secret_hash not in str(raised.value)
        assert secret_hash not in caplog.text
        assert describe_database_error(raised.value) in (
            "IntegrityError during INSERT",
            "UniqueViolation during INSERT",
        )
    finally:
        db.dispose()
        owner = Database(backend.admin_url, pool_size=1)  # the app role may not delete keys
        with owner.engine.begin() as conn:  # unscoped: the owner, not the platform role
            conn.execute(delete(ApiKey).where(ApiKey.id == key_id))
        owner.dispose()


def test_the_database_error_handler_logs_class_verb_and_request_id_only(caplog):
    import asyncio

    from starlette.requests import Request

    from control_plane.db import database_error_handler

    exc = IntegrityError("INSERT INTO api_keys (secret_hash) VALUES (?)", ("s3cr3t-hash",), Exception("dup"))
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "state": {}})
    request.state.request_id = "req-123"
    with caplog.at_level(logging.ERROR, logger="control_plane.db"):
        resp = asyncio.run(database_error_handler(request, exc))
    assert resp.status_code == 500
    assert "s3cr3t-hash" not in caplog.text and "s3cr3t-hash" not in resp.body.decode()
    assert "Exception during INSERT (request req-123)" in caplog.text
