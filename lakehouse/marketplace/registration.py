"""Buyer registration and entitlement checks: library functions the control plane exposes as routes.

``register_buyer`` backs ``POST /marketplace/register`` (the ``x-amzn-marketplace-token`` from the fulfillment
URL) and ``check_entitlement`` backs ``GET /entitlements/check`` (plan features and module installs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.marketplace.connector import MarketplaceError, MarketplaceReader
from lakehouse.marketplace.interfaces import Buyer, BuyerDirectory, utc
from lakehouse.tenancy import validate_tenant_id


def rate_card_of(terms: list[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """(currency, dimension -> price) from an agreement's accepted usage-based pricing terms."""
    currency, card = "USD", {}
    for term in terms:
        usage = term.get("usageBasedPricingTerm")
        if not usage:
            continue
        currency = usage.get("currencyCode", currency)
        for rate_card in usage.get("rateCards", []):
            for item in rate_card.get("rateCard", []):
                card[item["dimensionKey"]] = item["price"]
    return currency, card


def register_buyer(
    token: str, *, tenant_id: str, reader: MarketplaceReader, directory: BuyerDirectory
) -> Buyer:
    """Resolve a registration token (ResolveCustomer) and link the buyer to ``tenant_id``, idempotently.

    The link keeps CustomerAWSAccountId and LicenseArn (and CustomerIdentifier only when the product is legacy,
    i.e. when ResolveCustomer returns one), the agreement id and the agreement's usage prices. Registering the same
    buyer again for the same tenant returns the existing link; for another tenant it raises ``BuyerAlreadyLinked``.
    """
    validate_tenant_id(tenant_id)
    resolved = reader.resolve_customer(token)
    agreement_id = (resolved.get("Metadata") or {}).get("AgreementId")
    currency: str = "USD"
    card: dict[str, str] = {}
    if agreement_id:
        try:
            currency, card = rate_card_of(reader.agreement_terms(agreement_id))
        except MarketplaceError:  # prices only feed revenue estimates; the link must not depend on them
            pass
    buyer = Buyer(
        tenant_id=tenant_id,
        product_code=resolved["ProductCode"],
        customer_aws_account_id=resolved.get("CustomerAWSAccountId"),
        license_arn=resolved.get("LicenseArn"),
        customer_identifier=resolved.get("CustomerIdentifier"),
        agreement_id=agreement_id,
        currency_code=currency,
        rate_card=card,
    )
    return directory.link(buyer)


@dataclass(frozen=True)
class EntitlementDecision:
    """The answer of an entitlement check."""

    tenant_id: str
    dimension: str
    allowed: bool
    reason: str
    value: Any = None
    expires_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "dimension": self.dimension,
            "allowed": self.allowed,
            "reason": self.reason,
            "value": self.value,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def _truthy(value: dict[str, Any]) -> tuple[bool, Any]:
    if "BooleanValue" in value:
        return bool(value["BooleanValue"]), value["BooleanValue"]
    if "IntegerValue" in value:
        return value["IntegerValue"] > 0, value["IntegerValue"]
    if "DoubleValue" in value:
        return value["DoubleValue"] > 0, value["DoubleValue"]
    if "StringValue" in value:
        return bool(value["StringValue"]), value["StringValue"]
    return False, None


class EntitlementCache:
    """A small TTL cache for entitlement decisions (GetEntitlements is throttled; decisions change rarely)."""

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._items: dict[tuple[str, str], tuple[float, EntitlementDecision]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> EntitlementDecision | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or self.clock() - item[0] > self.ttl_s:
                return None
            return item[1]

    def put(self, key: tuple[str, str], decision: EntitlementDecision) -> None:
        with self._lock:
            self._items[key] = (self.clock(), decision)


def check_entitlement(
    tenant_id: str,
    dimension: str,
    *,
    directory: BuyerDirectory,
    reader: MarketplaceReader,
    now: datetime | None = None,
    cache: EntitlementCache | None = None,
) -> EntitlementDecision:
    """Whether ``tenant_id``'s Marketplace buyer is entitled to ``dimension`` right now (GetEntitlements)."""
    key = (tenant_id, dimension)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    now = utc(now or datetime.now(UTC))
    buyer = directory.buyer_for(tenant_id)
    if buyer is None:
        decision = EntitlementDecision(
            tenant_id, dimension, False, "no Marketplace buyer is linked to the tenant"
        )
    else:
        rows = reader.entitlements(
            buyer.product_code,
            license_arn=buyer.license_arn,
            customer_aws_account_id=buyer.customer_aws_account_id if not buyer.license_arn else None,
            dimension=dimension,
        )
        live = [r for r in rows if r.get("ExpirationDate") is None or utc(r["ExpirationDate"]) > now]
        decision = EntitlementDecision(
            tenant_id,
            dimension,
            False,
            f"no current entitlement to {dimension}"
            if not rows
            else f"the entitlement to {dimension} has expired",
        )
        for row in live:
            allowed, value = _truthy(row.get("Value") or {})
            expires = utc(row["ExpirationDate"]) if row.get("ExpirationDate") else None
            decision = EntitlementDecision(
                tenant_id,
                dimension,
                allowed,
                "entitled" if allowed else f"entitlement value {value!r} grants nothing",
                value,
                expires,
            )
            if allowed:
                break
    if cache is not None:
        cache.put(key, decision)
    return decision
