"""``control_plane.client``: typed answers from the real API, typed errors with the API's detail and reasons,
and no control-plane internals loaded by importing it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from control_plane.client import (
    AuthenticationFailed,
    ControlPlaneClient,
    ControlPlaneUnavailable,
    NotFound,
    PermissionDenied,
    RequestRejected,
    credential_headers,
)
from tests.control_plane.conftest import make_tree, reasoned

REPO = Path(__file__).resolve().parents[2]


def _over(client, credential: str | None = None) -> ControlPlaneClient:
    """The typed client over the test app's in-process transport (``TestClient`` is an ``httpx.Client``)."""
    return ControlPlaneClient(str(client.base_url), credential=credential, http=client)


def test_importing_the_client_loads_no_other_control_plane_module():
    code = "import sys, control_plane.client; print(sorted(m for m in sys.modules if m.startswith('control_plane')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['control_plane', 'control_plane.client']"


def test_a_key_goes_in_x_api_key_and_anything_else_is_a_bearer_token():
    assert credential_headers("lh.acme.k1.s") == {"X-API-Key": "lh.acme.k1.s"}
    assert credential_headers(" eyJ.a.b ") == {"Authorization": "Bearer eyJ.a.b"}
    assert credential_headers(None) == {}
    with pytest.raises(ValueError, match="empty"):
        credential_headers("  ")


def test_urls_must_be_absolute_http(client):
    assert ControlPlaneClient("http://127.0.0.1:8000/", http=client).base_url == "http://127.0.0.1:8000"
    for bad in ("127.0.0.1:8000", "ftp://host", "/relative"):
        with pytest.raises(ValueError, match="not an absolute http"):
            ControlPlaneClient(bad, http=client)


def test_from_env_names_the_missing_setting():
    with pytest.raises(ValueError, match="LAKEHOUSE_CONTROL_PLANE_URL is not set"):
        ControlPlaneClient.from_env({})
    c = ControlPlaneClient.from_env(
        {
            "LAKEHOUSE_CONTROL_PLANE_URL": "http://127.0.0.1:1",
            "LAKEHOUSE_CONTROL_PLANE_CREDENTIAL": "lh.x.y.z",
        }
    )
    try:
        assert c.base_url == "http://127.0.0.1:1" and c._headers == {"X-API-Key": "lh.x.y.z"}
    finally:
        c.close()


def test_typed_answers_from_the_api(client, admin):
    tree = make_tree(client, admin, roles=("analyst",), levels=("org",))
    key = tree.h("org", "analyst")["X-API-Key"]
    api = _over(client, key)
    who = api.whoami()
    assert (who.role, who.tenant_id, who.via) == ("analyst", tree.org, "api_key")
    assert [t.id for t in api.list_tenants()] == [tree.org, tree.workspace]
    access = api.data_access()
    assert [(t.id, t.clearance) for t in access.tenants] == [
        (tree.org, "confidential"),
        (tree.workspace, "confidential"),
    ]
    assert api.health().status == "ok"
    token = api.issue_token(ttl_seconds=60)
    assert token.token_type == "Bearer" and token.expires_in == 60
    # the token is a credential too, and the API says the same about its bearer
    assert api.as_caller(token.access_token).whoami().tenant_id == tree.org
    decision = api.decide(
        {
            "subject": {
                "id": who.subject,
                "role": "analyst",
                "tenant_id": tree.org,
                "tenant_path": f"/{tree.enterprise}/{tree.org}/",
            },
            "action": "data:read",
            "resource": {
                "type": "dataset",
                "tenant_id": tree.enterprise,
                "tenant_path": f"/{tree.enterprise}/",
            },
        }
    )
    assert decision.allow is False and any("outside" in r for r in decision.reasons)


def test_a_dashboard_view_is_recorded_as_the_caller(client, admin):
    tree = make_tree(client, admin, levels=("org",))
    api = _over(client, tree.h("org")["X-API-Key"])
    assert api.record_dashboard_view(tree.workspace, reason="review").recorded is True
    assert api.record_dashboard_view(tree.org).recorded is False
    with pytest.raises(NotFound, match=r"HTTP 404.*not found"):
        api.record_dashboard_view(tree.enterprise)
    with pytest.raises(ValueError, match="not a valid tenant id"):
        api.record_dashboard_view("../audit/verify")


def test_errors_are_typed_and_carry_the_apis_detail_and_reasons(client, admin):
    with pytest.raises(AuthenticationFailed) as refused:
        _over(client, "lh.nobody.k0.secret").whoami()
    assert refused.value.status == 401 and "GET /auth/whoami" in str(refused.value)
    tree = make_tree(client, admin, roles=("viewer",), levels=("workspace",))
    viewer = _over(client, tree.h("workspace", "viewer")["X-API-Key"])
    with pytest.raises(
        PermissionDenied
    ) as denied:  # no public method is refused to a viewer: use the transport
        viewer._call("GET", f"/tenants/{tree.workspace}/api-keys", list)
    assert denied.value.status == 403 and denied.value.reasons == ["role viewer may not keys:read"]
    resp = client.post(
        f"/tenants/{tree.workspace}/api-keys", json={"name": "k", "role": "viewer"}, headers=admin
    )
    assert resp.status_code == 400  # no reason: the raw API says so; the client maps it to RequestRejected
    with pytest.raises(RequestRejected, match="X-Audit-Reason"):
        _over(client, admin["X-API-Key"]).call(
            "POST", f"/tenants/{tree.workspace}/api-keys", json={"name": "k", "role": "viewer"}
        )
    assert (
        client.post(
            f"/tenants/{tree.workspace}/api-keys",
            json={"name": "k", "role": "viewer"},
            headers=reasoned(admin),
        ).status_code
        == 201
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_api_is_reported_with_its_url():
    url = f"http://127.0.0.1:{_free_port()}"
    with (
        ControlPlaneClient(url, timeout=2.0) as api,
        pytest.raises(ControlPlaneUnavailable, match="unreachable") as exc,
    ):
        api.health()
    assert url in str(exc.value) and exc.value.status is None


def test_something_that_is_not_the_api_is_reported_as_such():
    def handler(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(200, text="<html>hello</html>")
            if request.url.path == "/health"
            else httpx.Response(502, text="bad gateway")
        )

    http = httpx.Client(transport=httpx.MockTransport(handler))
    api = ControlPlaneClient("http://proxy.example", credential="lh.a.b.c", http=http)
    with pytest.raises(ControlPlaneUnavailable, match="not JSON"):
        api.health()
    with pytest.raises(ControlPlaneUnavailable, match="HTTP 502") as exc:
        api.whoami()
    assert exc.value.status == 502
