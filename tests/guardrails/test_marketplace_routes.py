"""``POST /marketplace/register`` and ``GET /entitlements/check`` over the control plane's buyer links, against the
Marketplace sandbox (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from control_plane.costs.buyers import DbBuyerDirectory
from control_plane.db import DbScope
from lakehouse.marketplace.interfaces import Buyer, BuyerAlreadyLinked
from tests.control_plane.conftest import create_key, uid


@pytest.fixture(scope="module")
def marketplace() -> Iterator[Any]:
    from sandboxes.marketplace import start_demo_sandbox

    sandbox = start_demo_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def wired(app, marketplace) -> Iterator[Any]:
    """The app's Marketplace reader pointed at the sandbox as the platform seller (restored afterwards)."""
    from lakehouse.marketplace.connector import MarketplaceConfig, MarketplaceReader
    from sandboxes.marketplace import PLATFORM_SELLER

    creds = marketplace.credentials(PLATFORM_SELLER)
    app.state.marketplace_reader = MarketplaceReader.from_config(
        MarketplaceConfig(
            endpoint_url=creds["endpoint_url"],
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
        ),
        backoff_base_s=0.001,
        backoff_cap_s=0.005,
    )
    app.state.entitlement_cache = None
    yield marketplace
    app.state.marketplace_reader = None
    app.state.entitlement_cache = None


def _tenant(client, admin) -> str:
    tenant = f"ent-{uid()}"
    assert (
        client.put(f"/tenants/{tenant}", json={"kind": "enterprise", "name": "T"}, headers=admin).status_code
        == 201
    )
    return tenant


def test_register_links_the_buyer_once_and_entitlements_follow_the_link(client, admin, wired):
    buyer = wired.world.buyers["initech"]  # subscribed with plan_pro
    tenant, other = _tenant(client, admin), _tenant(client, admin)
    owner = create_key(client, admin, tenant, "tenant_admin")
    before = client.get(f"/entitlements/check?tenant_id={tenant}&dimension=plan_pro", headers=owner)
    assert before.status_code == 200, before.text
    assert (before.json()["allowed"], before.json()["reason"]) == (
        False,
        "no Marketplace buyer is linked to the tenant",
    )

    first = client.post(
        "/marketplace/register",
        json={"tenant_id": tenant, "token": buyer["registration_token"]},
        headers=owner,
    )
    assert first.status_code == 201, first.text
    assert (first.json()["customer_aws_account_id"], first.json()["license_arn"]) == (
        buyer["customer_aws_account_id"],
        buyer["license_arn"],
    )
    again = client.post(
        "/marketplace/register",
        json={"tenant_id": tenant, "token": buyer["registration_token"]},
        headers=owner,
    )
    assert again.status_code == 200 and again.json() == first.json()
    taken = client.post(
        "/marketplace/register",
        json={"tenant_id": other, "token": buyer["registration_token"]},
        headers=admin,
    )
    assert taken.status_code == 409 and "already linked to another tenant" in taken.json()["detail"]

    after = client.get(f"/entitlements/check?tenant_id={tenant}&dimension=plan_pro", headers=owner).json()
    assert (after["allowed"], after["value"], after["reason"]) == (True, 1, "entitled")
    missing = client.get(
        f"/entitlements/check?tenant_id={tenant}&dimension=plan_enterprise", headers=owner
    ).json()
    assert (missing["allowed"], missing["reason"]) == (False, "no current entitlement to plan_enterprise")
    stranger = create_key(client, admin, other, "tenant_admin")
    assert (
        client.get(f"/entitlements/check?tenant_id={tenant}&dimension=plan_pro", headers=stranger).status_code
        == 404
    )
    bad = client.post(
        "/marketplace/register", json={"tenant_id": other, "token": "not-a-token"}, headers=admin
    )
    assert bad.status_code == 422 and "registration token was refused" in bad.json()["detail"]


def test_a_buyer_linked_to_a_tenant_cannot_be_linked_to_another_even_when_that_row_is_invisible(
    stack, client, admin
):
    """Under PostgreSQL row-level security tenant B cannot see A's link; the unique identity still refuses it."""
    a, b = _tenant(client, admin), _tenant(client, admin)
    db = stack.app.state.cp.db
    buyer = Buyer(
        tenant_id=a,
        product_code="prod-x",
        customer_aws_account_id="210000000999",
        license_arn="arn:aws:license-manager::210000000999:license:l-1",
        rate_card={"api_calls": "0.002"},
    )
    linked = DbBuyerDirectory(db, DbScope.for_tenant(a)).link(buyer)
    assert DbBuyerDirectory(db, DbScope.for_tenant(a)).link(buyer) == linked
    with pytest.raises(BuyerAlreadyLinked, match="already linked to another tenant"):
        DbBuyerDirectory(db, DbScope.for_tenant(b)).link(Buyer(**{**buyer.__dict__, "tenant_id": b}))
    assert DbBuyerDirectory(db).buyer_for(b) is None
    assert DbBuyerDirectory(db).find(*buyer.identity).tenant_id == a


def test_without_marketplace_enabled_registration_is_404_and_nothing_is_entitled(
    client, admin, app, monkeypatch
):
    monkeypatch.delenv("LAKEHOUSE_MARKETPLACE_ENABLED", raising=False)
    monkeypatch.delenv("LAKEHOUSE_MARKETPLACE_ENDPOINT_URL", raising=False)
    assert getattr(app.state, "marketplace_reader", None) is None
    tenant = _tenant(client, admin)
    resp = client.post("/marketplace/register", json={"tenant_id": tenant, "token": "x"}, headers=admin)
    assert resp.status_code == 404 and "not enabled on this deployment" in resp.json()["detail"]
    check = client.get(f"/entitlements/check?tenant_id={tenant}&dimension=plan_pro", headers=admin).json()
    reason = "AWS Marketplace is not enabled on this deployment (set LAKEHOUSE_MARKETPLACE_ENABLED=true)"
    assert (check["allowed"], check["reason"]) == (False, reason)
