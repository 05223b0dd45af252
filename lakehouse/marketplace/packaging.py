"""Packaging the platform as a SaaS listing: control-plane plans -> one Marketplace Catalog change set.

The change set creates the product (CreateProduct, UpdateInformation, AddDimensions, AddDeliveryOptions,
UpdateTargeting) and its public offer (CreateOffer, UpdateInformation, UpdatePricingTerms, UpdateLegalTerms,
UpdateSupportTerms, ReleaseOffer); the offer points at the product through ``$CreateProductChange.Entity.Identifier``.
Dimensions: every plan's metered dimensions (one price each across plans) plus one ``Entitled`` dimension per plan
(``plan_<id>``), which is what ``check_entitlement`` gates plan features and module installs on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lakehouse.errors import BadInput


@dataclass(frozen=True)
class PlanDimension:
    """A metered dimension of a plan and its usage price (USD per unit)."""

    key: str
    name: str
    unit: str
    price: str
    description: str = ""


@dataclass(frozen=True)
class Plan:
    """A control-plane plan as exported for packaging (id, name, metered dimensions with prices)."""

    plan_id: str
    name: str
    dimensions: tuple[PlanDimension, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Listing:
    """Product page, fulfillment and terms of the SaaS listing."""

    title: str = "Partner Central Lakehouse"
    short_description: str = "Governed, multi-tenant lakehouse for AWS Partner Central and Marketplace data."
    long_description: str = (
        "Ingests Partner Central opportunities and Marketplace agreements into a governed "
        "Delta lake with quality gates, lineage, dashboards and approvals."
    )
    categories: tuple[str, ...] = ("Data Analytics",)
    highlights: tuple[str, ...] = ("Exactly-once Marketplace metering", "Tenant-isolated Delta lake")
    fulfillment_url: str = "https://app.example.com/marketplace/register"
    allowlist: tuple[str, ...] = ()  # AWS accounts that see the Limited listing before release
    offer_name: str = "Partner Central Lakehouse - pay as you go"
    offer_description: str = "Usage-based pricing per plan dimension"
    refund_policy: str = "Metered usage is not refundable; contact support for billing errors."
    eula_version: str = "2022-07-14"


DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan(
        "standard",
        "Standard",
        (
            PlanDimension(
                "pipeline_hours", "Pipeline compute hours", "Hrs", "0.35", "Compute hours of pipeline runs"
            ),
            PlanDimension(
                "api_calls", "Partner Central API calls", "Requests", "0.002", "Connector API calls"
            ),
        ),
    ),
    Plan(
        "pro",
        "Pro",
        (
            PlanDimension(
                "pipeline_hours", "Pipeline compute hours", "Hrs", "0.35", "Compute hours of pipeline runs"
            ),
            PlanDimension(
                "api_calls", "Partner Central API calls", "Requests", "0.002", "Connector API calls"
            ),
            PlanDimension(
                "rows_ingested", "Rows ingested (millions)", "Units", "0.5", "Rows landed in bronze"
            ),
        ),
    ),
)


def plans_from_json(data: Any) -> list[Plan]:
    """Plans from the control plane's export: ``[{"id", "name", "metered_dimensions": [{key, name, unit,
    price_usd, description}]}]``."""
    if not isinstance(data, list):
        raise BadInput("plans must be a JSON list of plan objects")
    plans = []
    for n, raw in enumerate(data):
        try:
            dims = tuple(
                PlanDimension(
                    d["key"],
                    d.get("name") or d["key"],
                    d.get("unit", "Units"),
                    str(d["price_usd"]),
                    d.get("description", ""),
                )
                for d in raw.get("metered_dimensions", [])
            )
            plans.append(Plan(raw["id"], raw.get("name") or raw["id"], dims, raw.get("description", "")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadInput(f"plan #{n}: missing or malformed field {exc}") from None
    return plans


def load_plans(path: str | Path) -> list[Plan]:
    """Plans from a JSON file (the control plane's plan export)."""
    try:
        return plans_from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read plans from {path}: {exc}") from None


def listing_from_json(data: Mapping[str, Any]) -> Listing:
    known = set(Listing.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadInput(f"unknown listing field(s) {unknown}; known: {sorted(known)}")
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Listing(**fields)


def metered_dimensions(plans: Iterable[Plan]) -> list[PlanDimension]:
    """The union of the plans' metered dimensions; one key must mean one unit and one price everywhere."""
    seen: dict[str, PlanDimension] = {}
    for plan in plans:
        for dim in plan.dimensions:
            other = seen.get(dim.key)
            if other is not None and (other.price, other.unit) != (dim.price, dim.unit):
                raise BadInput(
                    f"dimension {dim.key!r} has price/unit {other.price}/{other.unit} in one plan and "
                    f"{dim.price}/{dim.unit} in plan {plan.plan_id!r}; a public offer has one price per "
                    "dimension"
                )
            seen.setdefault(dim.key, dim)
    return list(seen.values())


def _check(plans: Sequence[Plan]) -> None:
    if not plans:
        raise BadInput("no plans to package")
    for plan in plans:
        for dim in plan.dimensions:
            try:
                if Decimal(dim.price) < 0:
                    raise InvalidOperation
            except InvalidOperation:
                raise BadInput(
                    f"plan {plan.plan_id}: price {dim.price!r} of {dim.key} is not a non-negative decimal"
                ) from None


def package_change_set(plans: Sequence[Plan], listing: Listing = Listing()) -> list[dict[str, Any]]:
    """The product + public offer change set for ``plans`` (StartChangeSet's ``ChangeSet``)."""
    _check(plans)
    metered = metered_dimensions(plans)
    product = {"Type": "SaaSProduct@1.0", "Identifier": "$CreateProductChange.Entity.Identifier"}
    offer = {"Type": "Offer@1.0", "Identifier": "$CreateOfferChange.Entity.Identifier"}
    dimensions = [
        {
            "Key": d.key,
            "Name": d.name,
            "Description": d.description or d.name,
            "Unit": d.unit,
            "Types": ["Metered"],
        }
        for d in metered
    ]
    dimensions += [
        {
            "Key": f"plan_{p.plan_id}",
            "Name": f"{p.name} plan",
            "Description": p.description or f"Access to the {p.name} plan",
            "Unit": "Units",
            "Types": ["Entitled"],
        }
        for p in plans
    ]
    changes: list[dict[str, Any]] = [
        {
            "ChangeType": "CreateProduct",
            "ChangeName": "CreateProductChange",
            "Entity": {"Type": "SaaSProduct@1.0"},
            "DetailsDocument": {"ProductTitle": listing.title},
        },
        {
            "ChangeType": "UpdateInformation",
            "Entity": product,
            "DetailsDocument": {
                "ProductTitle": listing.title,
                "ShortDescription": listing.short_description,
                "LongDescription": listing.long_description,
                "Categories": list(listing.categories),
                "Highlights": list(listing.highlights),
            },
        },
        {"ChangeType": "AddDimensions", "Entity": product, "DetailsDocument": {"Dimensions": dimensions}},
        {
            "ChangeType": "AddDeliveryOptions",
            "Entity": product,
            "DetailsDocument": {
                "DeliveryOptions": [
                    {"Details": {"SaaSUrlDeliveryOptionDetails": {"FulfillmentUrl": listing.fulfillment_url}}}
                ]
            },
        },
    ]
    if listing.allowlist:
        changes.append(
            {
                "ChangeType": "UpdateTargeting",
                "Entity": product,
                "DetailsDocument": {"PositiveTargeting": {"BuyerAccounts": list(listing.allowlist)}},
            }
        )
    changes += [
        {
            "ChangeType": "CreateOffer",
            "ChangeName": "CreateOfferChange",
            "Entity": {"Type": "Offer@1.0"},
            "DetailsDocument": {"ProductId": "$CreateProductChange.Entity.Identifier"},
        },
        {
            "ChangeType": "UpdateInformation",
            "Entity": offer,
            "DetailsDocument": {"Name": listing.offer_name, "Description": listing.offer_description},
        },
        {
            "ChangeType": "UpdatePricingTerms",
            "Entity": offer,
            "DetailsDocument": {
                "PricingModel": "Usage",
                "Terms": [
                    {
                        "Type": "UsageBasedPricingTerm",
                        "CurrencyCode": "USD",
                        "RateCards": [
                            {"RateCard": [{"DimensionKey": d.key, "Price": d.price} for d in metered]}
                        ],
                    }
                ],
            },
        },
        {
            "ChangeType": "UpdateLegalTerms",
            "Entity": offer,
            "DetailsDocument": {
                "Terms": [
                    {
                        "Type": "LegalTerm",
                        "Documents": [{"Type": "StandardEula", "Version": listing.eula_version}],
                    }
                ]
            },
        },
        {
            "ChangeType": "UpdateSupportTerms",
            "Entity": offer,
            "DetailsDocument": {"Terms": [{"Type": "SupportTerm", "RefundPolicy": listing.refund_policy}]},
        },
        {"ChangeType": "ReleaseOffer", "Entity": offer, "DetailsDocument": {}},
    ]
    return changes


@dataclass(frozen=True)
class PackagedListing:
    """A packaged change set plus what an approval for its APPLY must cover."""

    changes: list[dict[str, Any]]
    name: str
    payload_sha256: str
    action: str
    metered_keys: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(
            {
                "change_set_name": self.name,
                "action": self.action,
                "payload_sha256": self.payload_sha256,
                "changes": self.changes,
            },
            indent=2,
        )


def package(
    plans: Sequence[Plan], listing: Listing = Listing(), *, name: str = "lakehouse-listing"
) -> PackagedListing:
    """Package plans and compute the digest an APPLY approval must be requested for."""
    from lakehouse.marketplace.connector import APPLY_ACTION, change_set_payload
    from lakehouse.marketplace.interfaces import payload_digest

    changes = package_change_set(plans, listing)
    digest = payload_digest(change_set_payload(changes, name=name))
    return PackagedListing(changes, name, digest, APPLY_ACTION, [d.key for d in metered_dimensions(plans)])
