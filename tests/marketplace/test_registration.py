"""Buyer registration (ResolveCustomer) and entitlement checks, as the control plane will call them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lakehouse.marketplace.connector import MarketplaceError
from lakehouse.marketplace.interfaces import BuyerAlreadyLinked, JsonFileBuyerDirectory, MemoryBuyerDirectory
from lakehouse.marketplace.registration import EntitlementCache, check_entitlement, register_buyer
from tests.marketplace.conftest import NOW


def test_register_links_the_buyer_with_account_license_agreement_and_prices(mp):
    directory = MemoryBuyerDirectory()
    buyer = register_buyer(
        mp.buyer("acme")["registration_token"], tenant_id="acme", reader=mp.reader(), directory=directory
    )
    assert (
        buyer.tenant_id,
        buyer.product_code,
        buyer.customer_aws_account_id,
        buyer.license_arn,
        buyer.agreement_id,
    ) == (
        "acme",
        mp.world.platform_product_code,
        "210000000001",
        mp.buyer("acme")["license_arn"],
        mp.buyer("acme")["agreement_id"],
    )
    assert buyer.customer_identifier is None  # only legacy products get one
    assert dict(buyer.rate_card) == {"api_calls": "0.002", "pipeline_hours": "0.35", "rows_ingested": "0.5"}
    assert directory.buyer_for("acme") == buyer


def test_registration_is_idempotent_and_a_buyer_belongs_to_one_tenant(mp, tmp_path):
    directory = JsonFileBuyerDirectory(tmp_path / "buyers.json")
    token = mp.buyer("globex")["registration_token"]
    first = register_buyer(token, tenant_id="globex", reader=mp.reader(), directory=directory)
    again = register_buyer(token, tenant_id="globex", reader=mp.reader(), directory=directory)
    assert again == first and len(directory.buyers) == 1
    with pytest.raises(BuyerAlreadyLinked, match="already linked to tenant 'globex'"):
        register_buyer(token, tenant_id="initech", reader=mp.reader(), directory=directory)
    reloaded = JsonFileBuyerDirectory(tmp_path / "buyers.json")
    assert reloaded.buyer_for("globex") == first


def test_a_legacy_product_registration_keeps_the_customer_identifier(mp):
    seller = mp.state.seller_by_name("platform")
    product_id, code, _ = mp.state.seed_saas_product(
        seller,
        title="Legacy",
        legacy_metering=True,
        prices={"api_calls": "1"},
        dimensions=[{"Key": "api_calls", "Name": "Calls", "Unit": "Requests", "Types": ["Metered"]}],
    )
    agreement, token = mp.state.commerce.subscribe(product_id, "210000000011")
    buyer = register_buyer(token, tenant_id="legacyco", reader=mp.reader(), directory=MemoryBuyerDirectory())
    assert (buyer.product_code, buyer.customer_identifier) == (code, agreement.customer_identifier)


def test_an_expired_token_is_an_error_that_names_it(mp):
    mp.clock.advance(timedelta(hours=30))
    with pytest.raises(MarketplaceError, match="ExpiredTokenException"):
        register_buyer(
            mp.buyer("acme")["registration_token"],
            tenant_id="acme",
            reader=mp.reader(),
            directory=MemoryBuyerDirectory(),
        )


def test_check_entitlement_answers_from_get_entitlements(mp):
    directory = MemoryBuyerDirectory()
    for tenant in ("acme", "globex"):
        register_buyer(
            mp.buyer(tenant)["registration_token"], tenant_id=tenant, reader=mp.reader(), directory=directory
        )
    reader = mp.reader()
    yes = check_entitlement("acme", "plan_pro", directory=directory, reader=reader, now=NOW)
    assert (yes.allowed, yes.value, yes.reason) == (True, 1, "entitled")
    assert yes.expires_at == NOW.replace(minute=0) - timedelta(days=2) + timedelta(days=365)
    no = check_entitlement("globex", "plan_pro", directory=directory, reader=reader, now=NOW)
    assert (no.allowed, no.reason) == (False, "no current entitlement to plan_pro")
    unlinked = check_entitlement("initech", "plan_pro", directory=directory, reader=reader, now=NOW)
    assert (unlinked.allowed, unlinked.reason) == (False, "no Marketplace buyer is linked to the tenant")
    mp.state.commerce.update(mp.buyer("acme")["agreement_id"], status="CANCELLED")
    assert not check_entitlement("acme", "plan_pro", directory=directory, reader=reader, now=NOW).allowed


def test_entitlement_decisions_are_cached(mp):
    directory = MemoryBuyerDirectory()
    register_buyer(
        mp.buyer("acme")["registration_token"], tenant_id="acme", reader=mp.reader(), directory=directory
    )
    ticks = [0.0]
    cache = EntitlementCache(ttl_s=60, clock=lambda: ticks[0])
    reader = mp.reader()
    for _ in range(3):
        assert check_entitlement("acme", "plan_pro", directory=directory, reader=reader, cache=cache).allowed
    assert mp.sandbox.count("GetEntitlements") == 1
    ticks[0] = 61.0
    check_entitlement("acme", "plan_pro", directory=directory, reader=reader, cache=cache)
    assert mp.sandbox.count("GetEntitlements") == 2
