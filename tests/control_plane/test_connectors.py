"""Connectors: a tenant links a role in its AWS account; the platform issues the ExternalId and verifies the
role with sts:AssumeRole against the Partner Central emulator's STS (which enforces the trust policy)."""

from __future__ import annotations

import re

import psycopg
import pytest

from control_plane.connectors import flows
from control_plane.connectors.views import get_verifier
from control_plane.db import APP_ROLE
from sandboxes.partner_central import PLATFORM_ACCESS_KEY, PLATFORM_SECRET
from tests.connectors.conftest import sandbox  # noqa: F401 (fixture)
from tests.control_plane.conftest import create_key, make_tree, reasoned

EXTERNAL_ID = re.compile(r"^lh-[0-9a-f]{40}$")


@pytest.fixture
def sts(app, sandbox, monkeypatch):  # noqa: F811
    """The API verifies roles against the sandbox's STS, as the platform principal."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", PLATFORM_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLATFORM_SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    app.dependency_overrides[get_verifier] = lambda: flows.StsVerifier(endpoint_url=sandbox.url)
    yield sandbox
    app.dependency_overrides.pop(get_verifier, None)


def _spec(account, **extra):
    return {
        "service": "partner-central-selling",
        "aws_account_id": account.account_id,
        "role_arn": account.role_arn,
        **extra,
    }


def _actions(client, admin, tenant):
    return [e["action"] for e in client.get(f"/tenants/{tenant}/audit", headers=admin).json()]


def test_register_shows_the_issued_external_id_once_and_verifies_once_the_trust_policy_has_it(
    client, admin, tree, sts
):
    account = sts.state.tenants["globex"]
    headers = reasoned(tree.h("workspace"), "link our Partner Central account")
    created = client.post(f"/tenants/{tree.workspace}/connectors", json=_spec(account), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    external_id = body["external_id"]
    assert EXTERNAL_ID.match(external_id)
    assert body["trust_policy_condition"] == {"StringEquals": {"sts:ExternalId": external_id}}
    # The role's trust policy does not carry the new ExternalId yet: STS refuses, and the reason is kept.
    assert body["status"] == "failed" and "AccessDenied" in body["last_error"]
    assert body["last_verified_at"] is None
    listed = client.get(f"/tenants/{tree.workspace}/connectors", headers=tree.h("workspace")).json()
    assert [c["id"] for c in listed] == [body["id"]]
    assert "external_id" not in listed[0] and external_id not in str(listed)

    sts.state.set_external_id("globex", external_id)  # the tenant applies tenant_linked_account
    verified = client.post(
        f"/tenants/{tree.workspace}/connectors/{body['id']}/verify", headers=tree.h("workspace")
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    assert verified.json()["last_error"] is None and verified.json()["last_verified_at"]
    assert "external_id" not in verified.json()
    assert sts.calls("sts:AssumeRole", kind="succeeded") == 1
    assert _actions(client, admin, tree.workspace)[-3:] == [
        "connector.create",
        "connector.verify",
        "connector.verify",
    ]


def test_the_external_id_is_random_and_never_chosen_by_the_tenant(client, admin, tree, sts):
    account = sts.state.tenants["acme"]
    chosen = client.post(
        f"/tenants/{tree.workspace}/connectors",
        json=_spec(account, verify=False, external_id="lh-" + "0" * 40),
        headers=tree.h("workspace"),
    )
    assert chosen.status_code == 422
    first = client.post(
        f"/tenants/{tree.workspace}/connectors",
        json=_spec(account, verify=False),
        headers=tree.h("workspace"),
    ).json()
    assert first["status"] == "pending"
    client.delete(f"/tenants/{tree.workspace}/connectors/{first['id']}", headers=tree.h("workspace"))
    second = client.post(
        f"/tenants/{tree.workspace}/connectors",
        json=_spec(account, verify=False),
        headers=tree.h("workspace"),
    ).json()
    assert second["external_id"] != first["external_id"]
    assert sts.calls("sts:AssumeRole") == 0  # verify=false: STS is not called


def test_role_must_be_in_the_linked_account_and_one_active_connector_per_service(client, tree, sts):
    account = sts.state.tenants["acme"]
    url = f"/tenants/{tree.workspace}/connectors"
    h = tree.h("workspace")
    elsewhere = client.post(url, json=_spec(account, aws_account_id="999999999999", verify=False), headers=h)
    assert elsewhere.status_code == 422 and "999999999999" in elsewhere.json()["detail"]
    bad_arn = client.post(url, json=_spec(account, role_arn="arn:aws:s3:::bucket", verify=False), headers=h)
    assert bad_arn.status_code == 422
    first = client.post(url, json=_spec(account, verify=False), headers=h)
    assert first.status_code == 201
    again = client.post(url, json=_spec(account, verify=False), headers=h)
    assert again.status_code == 409 and first.json()["id"] in again.json()["detail"]
    other_service = client.post(
        url, json=_spec(account, service="marketplace-catalog", verify=False), headers=h
    )
    assert other_service.status_code == 201
    deleted = client.delete(f"{url}/{first.json()['id']}", headers=reasoned(h, "account closed"))
    assert deleted.status_code == 200 and deleted.json()["status"] == "disabled"
    refused = client.post(f"{url}/{first.json()['id']}/verify", headers=h)
    assert refused.status_code == 409
    assert {c["id"] for c in client.get(url, headers=h).json()} == {other_service.json()["id"]}
    everything = client.get(f"{url}?include_disabled=true", headers=h).json()
    assert {c["status"] for c in everything} == {"disabled", "pending"}
    assert client.post(url, json=_spec(account, verify=False), headers=h).status_code == 201


def test_another_tenants_connector_is_invisible_and_untouchable(client, admin, sts):
    account = sts.state.tenants["acme"]
    a = make_tree(client, admin, levels=("workspace",))
    b = make_tree(client, admin, levels=("workspace",))
    b_con = client.post(
        f"/tenants/{b.workspace}/connectors", json=_spec(account, verify=False), headers=b.h("workspace")
    ).json()["id"]
    a_h = a.h("workspace")
    for tenant in (b.workspace, a.workspace):  # B's path, and B's connector id under A's own path
        for method, suffix in (("POST", "/verify"), ("DELETE", "")):
            resp = client.request(method, f"/tenants/{tenant}/connectors/{b_con}{suffix}", headers=a_h)
            assert resp.status_code in (403, 404), (method, tenant, resp.status_code)
    assert client.get(f"/tenants/{b.workspace}/connectors", headers=a_h).status_code in (403, 404)
    assert client.get(f"/tenants/{a.workspace}/connectors", headers=a_h).json() == []
    still = client.get(f"/tenants/{b.workspace}/connectors", headers=b.h("workspace")).json()
    assert [(c["id"], c["status"]) for c in still] == [(b_con, "pending")]
    assert sts.calls("sts:AssumeRole") == 0


def test_a_viewer_lists_but_cannot_link_or_verify(client, admin, tree, sts):
    account = sts.state.tenants["acme"]
    viewer = create_key(client, admin, tree.workspace, "viewer")
    url = f"/tenants/{tree.workspace}/connectors"
    assert client.post(url, json=_spec(account, verify=False), headers=viewer).status_code == 403
    con = client.post(url, json=_spec(account, verify=False), headers=tree.h("workspace")).json()["id"]
    assert [c["id"] for c in client.get(url, headers=viewer).json()] == [con]
    assert client.post(f"{url}/{con}/verify", headers=viewer).status_code == 403
    assert client.delete(f"{url}/{con}", headers=viewer).status_code == 403


class _OtherAccount:
    """An STS that answers a session in another account than the one the tenant linked."""

    def assume(self, *, role_arn: str, external_id: str, session_name: str) -> str:
        return f"arn:aws:sts::111122223333:assumed-role/Other/{session_name}"


def test_a_session_in_another_account_than_the_linked_one_fails_verification():
    role = flows.LinkedRole(
        "acme", "partner-central-selling", "123456789012", "arn:aws:iam::123456789012:role/R", "lh-x"
    )
    outcome = flows.verify(_OtherAccount(), role)
    assert outcome.error is not None and "111122223333" in outcome.error and "123456789012" in outcome.error


@pytest.mark.postgres
def test_rls_hides_other_tenants_connectors_and_the_link_itself_is_immutable(pg_stack):
    client, admin = pg_stack.client, pg_stack.admin
    a = make_tree(client, admin, levels=("workspace",))
    b = make_tree(client, admin, levels=("workspace",))
    spec = {
        "service": "partner-central-selling",
        "aws_account_id": "123456789012",
        "role_arn": "arn:aws:iam::123456789012:role/Linked",
        "verify": False,
    }
    for tree in (a, b):
        assert (
            client.post(f"/tenants/{tree.workspace}/connectors", json=spec, headers=admin).status_code == 201
        )
    with psycopg.connect(pg_stack.backend.app_url) as conn:
        with conn.transaction():
            conn.execute(
                "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)",
                (APP_ROLE, a.workspace),
            )
            seen = conn.execute("SELECT tenant_id FROM connectors").fetchall()
            assert {r[0] for r in seen} == {a.workspace}
            moved = conn.execute(
                "UPDATE connectors SET status = 'verified' WHERE tenant_id = %s", (b.workspace,)
            )
            assert moved.rowcount == 0
        for statement in (
            "UPDATE connectors SET role_arn = 'arn:aws:iam::999999999999:role/X'",
            "UPDATE connectors SET external_id = 'lh-chosen'",
            "DELETE FROM connectors",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(
                    "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)",
                    (APP_ROLE, a.workspace),
                )
                conn.execute(statement)
