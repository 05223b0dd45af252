"""A local, stateful AWS Marketplace (catalog, agreement, entitlement, metering) that boto3 reaches by endpoint_url.

It speaks each service's real wire protocol (REST-JSON, Smithy RPC v2 CBOR, awsJson 1.0/1.1), verifies SigV4
signatures per seller account, validates every request against botocore's service model and enforces the
documented rules (see ``catalog`` and ``metering``). It shares no code with ``lakehouse.marketplace.connector``,
which must never import it: it is the independent check.

    from lakehouse.connectors.marketplace_sandbox import start_demo_sandbox
    sandbox = start_demo_sandbox()              # seeded sellers, products, offers and buyers, in a thread
    kwargs = sandbox.credentials("platform")   # endpoint_url, region and keys for boto3.client(...)
    ...
    sandbox.stop()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.connectors.marketplace_sandbox.catalog import ResaleSeed, seed_resale_authorization
from lakehouse.connectors.marketplace_sandbox.server import Faults, MarketplaceSandbox, serve_in_thread
from lakehouse.connectors.marketplace_sandbox.state import Clock, SandboxState, SellerAccount

PLATFORM_SELLER = "platform"
PLATFORM_DIMENSIONS: list[dict[str, Any]] = [
    {
        "Key": "pipeline_hours",
        "Name": "Pipeline compute hours",
        "Description": "Compute hours of pipeline runs",
        "Unit": "Hrs",
        "Types": ["Metered"],
    },
    {
        "Key": "api_calls",
        "Name": "Partner Central API calls",
        "Description": "Connector API calls",
        "Unit": "Requests",
        "Types": ["Metered"],
    },
    {
        "Key": "rows_ingested",
        "Name": "Rows ingested (millions)",
        "Description": "Rows landed in bronze",
        "Unit": "Units",
        "Types": ["Metered"],
    },
    {
        "Key": "plan_pro",
        "Name": "Pro plan",
        "Description": "Pro plan features and modules",
        "Unit": "Units",
        "Types": ["Entitled"],
    },
]
PLATFORM_PRICES = {"pipeline_hours": "0.35", "api_calls": "0.002", "rows_ingested": "0.5"}
# buyer tenant -> (AWS account id, entitlements)
DEMO_BUYERS: dict[str, tuple[str, dict[str, Any]]] = {
    "acme": ("210000000001", {"plan_pro": 1}),
    "globex": ("210000000002", {}),
    "initech": ("210000000003", {"plan_pro": 1}),
}
# seller tenants reading their own Marketplace catalogs: tenant -> number of buyers of their product
DEMO_SELLERS: dict[str, int] = {"acme": 4, "globex": 2}


@dataclass
class DemoWorld:
    """What ``seed_demo`` created: the platform's product and its buyers, and the seller tenants' products."""

    platform_product_id: str
    platform_product_code: str
    platform_offer_id: str
    buyers: dict[str, dict[str, str]] = field(
        default_factory=dict
    )  # tenant -> account, token, license, agreement
    seller_products: dict[str, list[str]] = field(default_factory=dict)  # seller tenant -> product ids


def seed_demo(state: SandboxState) -> DemoWorld:
    """Seed the platform's SaaS product and buyers, plus a product, offer and agreements for each seller tenant."""
    platform = state.add_seller(PLATFORM_SELLER, "111122223333")
    product_id, code, offer_id = state.seed_saas_product(
        platform, title="Partner Central Lakehouse", dimensions=PLATFORM_DIMENSIONS, prices=PLATFORM_PRICES
    )
    world = DemoWorld(product_id, code, offer_id)
    for tenant, (account, entitlements) in DEMO_BUYERS.items():
        agreement, token = state.commerce.subscribe(product_id, account, entitlements=entitlements)
        world.buyers[tenant] = {
            "customer_aws_account_id": account,
            "registration_token": token,
            "license_arn": agreement.license_arn,
            "agreement_id": agreement.agreement_id,
            "product_code": code,
        }
    for i, (tenant, buyers) in enumerate(DEMO_SELLERS.items()):
        seller = state.add_seller(tenant)
        products = []
        for p in range(2):
            pid, _, _ = state.seed_saas_product(
                seller,
                title=f"{tenant.title()} Insights {p + 1}",
                dimensions=[
                    {"Key": "users", "Name": "Active users", "Unit": "Users", "Types": ["Metered"]},
                    {
                        "Key": "tier_enterprise",
                        "Name": "Enterprise tier",
                        "Unit": "Units",
                        "Types": ["Entitled"],
                    },
                ],
                prices={"users": f"{1 + p}.25"},
            )
            products.append(pid)
            for b in range(buyers if p == 0 else 1):
                agreement, _ = state.commerce.subscribe(
                    pid,
                    f"3{i}{p}0000000{b:02d}"[:12].ljust(12, "0"),
                    entitlements={"tier_enterprise": 1} if b % 2 == 0 else {},
                    auto_renew=b != 1,
                )
        seed_resale_authorization(
            state.catalog,
            seller.account_id,
            ResaleSeed(product_id=products[0], reseller_account_id="444455556666"),
        )
        world.seller_products[tenant] = products
    return world


def demo_state(*, seed: int = 11, clock: Clock | None = None) -> tuple[SandboxState, DemoWorld]:
    """A fresh sandbox state seeded with the demo world."""
    state = SandboxState(seed=seed, clock=clock)
    return state, seed_demo(state)


def start_demo_sandbox(
    *, port: int = 0, faults: Faults | None = None, clock: Clock | None = None
) -> MarketplaceSandbox:
    """Start a seeded sandbox on 127.0.0.1 in a background thread (``.world`` holds what was seeded)."""
    state, world = demo_state(clock=clock)
    sandbox = serve_in_thread(state, port=port, faults=faults)
    sandbox.world = world  # type: ignore[attr-defined]
    return sandbox


__all__ = [
    "DEMO_BUYERS",
    "DEMO_SELLERS",
    "PLATFORM_DIMENSIONS",
    "PLATFORM_PRICES",
    "PLATFORM_SELLER",
    "Clock",
    "DemoWorld",
    "Faults",
    "MarketplaceSandbox",
    "SandboxState",
    "SellerAccount",
    "demo_state",
    "seed_demo",
    "serve_in_thread",
    "start_demo_sandbox",
]
