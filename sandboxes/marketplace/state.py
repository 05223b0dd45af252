"""The sandbox's world: seller accounts, a controllable clock, and the three service states it composes.

``SandboxState`` owns one lock; every API call runs under it, so each call is atomic as seen by concurrent
clients. Catalog entities and change sets live in ``catalog.Catalog``; agreements, licenses, entitlements and
registration tokens in ``Commerce``; accepted usage records in ``metering.Metering``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes._http import ApiError
from sandboxes._sigv4 import SigningAccount

REGION = "us-east-1"
MARKETPLACE_CATALOG = "AWSMarketplace"


class Clock:
    """The sandbox's notion of "now" (UTC). Real time by default; tests can pin or shift it."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed = fixed
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self._fixed or datetime.now(UTC)
        return base + self._offset

    def set(self, moment: datetime | None) -> None:
        """Pin the clock at ``moment`` (None: back to real time)."""
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self._fixed, self._offset = moment, timedelta(0)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


@dataclass
class SellerAccount(SigningAccount):
    """An AWS account that sells on the sandbox Marketplace (its own access key signs its calls)."""

    name: str = ""

    def credentials(self) -> dict[str, str]:
        """The account's keys and its seller name."""
        return {**super().credentials(), "name": self.name}


class Ids:
    """Deterministic-per-seed identifiers in the shapes AWS uses."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._serial = itertools.count(1)

    def token(self, n: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def product_id(self) -> str:
        return f"prod-{self.token(13)}"

    def offer_id(self) -> str:
        return f"offer-{self.token(13)}"

    def resale_id(self) -> str:
        return f"resaleauthz-{self.token(13)}"

    def product_code(self) -> str:
        return self.token(25)

    def change_set_id(self) -> str:
        return self.token(25, string.ascii_lowercase + string.digits)

    def agreement_id(self) -> str:
        return f"agmt-{self.token(25)}"

    def license_arn(self, seller: str) -> str:
        return f"arn:aws:license-manager::{seller}:license:l-{self.token(32, '0123456789abcdef')}"

    def customer_identifier(self) -> str:
        return self.token(11, string.ascii_letters + string.digits)

    def metering_record_id(self) -> str:
        hexes = self.token(32, "0123456789abcdef")
        return f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"

    def registration_token(self) -> str:
        raw = bytes(self._rng.getrandbits(8) for _ in range(48))
        return base64.b64encode(raw).decode()

    def term_id(self, kind: str) -> str:
        return f"{kind}-{self.token(20)}"

    def serial(self) -> int:
        return next(self._serial)


def iso_z(moment: datetime) -> str:
    """``2024-05-01T10:00:00Z`` (the catalog's DateTimeISO8601 shape: seconds, no fraction)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def page_token(offset: int, salt: str) -> str:
    """An opaque pagination token for ``offset`` bound to the request's ``salt``."""
    digest = hashlib.sha256(f"{salt}|{offset}".encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def read_page_token(token: str | None, salt: str, error: Callable[[str], ApiError]) -> int:
    """The offset in a token made by ``page_token`` for the same request, or the error ``error`` builds."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset_text, digest = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        raise error("The nextToken is not valid") from None
    if page_token(offset, salt) != token or digest == "":
        raise error("The nextToken does not belong to this request")
    return offset


@dataclass
class Agreement:
    """A purchase agreement (a buyer's subscription to one product through one offer)."""

    agreement_id: str
    seller: str
    product_id: str
    product_code: str
    offer_id: str
    customer_account_id: str
    customer_identifier: str | None  # only for legacy products
    license_arn: str
    status: str
    start_time: datetime
    end_time: datetime
    acceptance_time: datetime
    last_update_time: datetime
    end_behavior_type: str = "RENEW"
    end_behavior_reason: str | None = None
    entitlements: dict[str, Any] = field(default_factory=dict)
    rate_card: dict[str, str] = field(default_factory=dict)
    currency_code: str = "USD"
    legal_documents: list[dict[str, str]] = field(default_factory=list)
    refund_policy: str | None = None
    term_ids: dict[str, str] = field(default_factory=dict)

    def active_at(self, moment: datetime) -> bool:
        return self.status == "ACTIVE" and self.start_time <= moment < self.end_time


@dataclass
class RegistrationToken:
    token: str
    agreement_id: str
    issued_at: datetime


class Commerce:
    """Agreements, licenses, entitlements and registration tokens."""

    TOKEN_TTL = timedelta(hours=24)

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.agreements: dict[str, Agreement] = {}
        self.tokens: dict[str, RegistrationToken] = {}

    def by_license(self, license_arn: str) -> Agreement | None:
        for agreement in self.agreements.values():
            if agreement.license_arn == license_arn:
                return agreement
        return None

    def for_customer(
        self, product_code: str, *, account_id: str | None = None, identifier: str | None = None
    ) -> list[Agreement]:
        return [
            a
            for a in self.agreements.values()
            if a.product_code == product_code
            and (account_id is None or a.customer_account_id == account_id)
            and (identifier is None or a.customer_identifier == identifier)
        ]

    def subscribe(
        self,
        product_id: str,
        customer_account_id: str,
        *,
        offer_id: str | None = None,
        entitlements: dict[str, Any] | None = None,
        start: datetime | None = None,
        duration: timedelta = timedelta(days=365),
        auto_renew: bool = True,
    ) -> tuple[Agreement, str]:
        """A buyer accepts the product's (first released) offer: returns the agreement and a registration token."""
        state = self.state
        product = state.catalog.entity(product_id)
        if product is None or product.entity_type != "SaaSProduct":
            raise ApiError("ResourceNotFoundException", f"product {product_id} does not exist", 404)
        offers = [
            e
            for e in state.catalog.entities.values()
            if e.entity_type == "Offer"
            and e.details.get("ProductId") == product_id
            and (offer_id is None or e.entity_id == offer_id)
        ]
        if not offers:
            raise ApiError(
                "ResourceNotFoundException",
                f"product {product_id} has no offer {offer_id or ''}".strip(),
                404,
            )
        offer = offers[0]
        now = state.clock.now()
        begin = start or now.replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        rate_card: dict[str, str] = {}
        currency = "USD"
        legal: list[dict[str, str]] = []
        refund = None
        for term in offer.details.get("Terms", []):
            if term.get("Type") == "UsageBasedPricingTerm":
                currency = term.get("CurrencyCode", currency)
                for card in term.get("RateCards", []):
                    for item in card.get("RateCard", []):
                        rate_card[item["DimensionKey"]] = item["Price"]
            elif term.get("Type") == "LegalTerm":
                legal = [{k[:1].lower() + k[1:]: v for k, v in d.items()} for d in term.get("Documents", [])]
            elif term.get("Type") == "SupportTerm":
                refund = term.get("RefundPolicy")
        ids = state.ids
        agreement = Agreement(
            agreement_id=ids.agreement_id(),
            seller=product.owner,
            product_id=product_id,
            product_code=product.product_code or "",
            offer_id=offer.entity_id,
            customer_account_id=customer_account_id,
            customer_identifier=ids.customer_identifier() if product.legacy_metering else None,
            license_arn=ids.license_arn(product.owner),
            status="ACTIVE",
            start_time=begin,
            end_time=begin + duration,
            acceptance_time=begin,
            last_update_time=now,
            end_behavior_type="RENEW" if auto_renew else "EXPIRE",
            end_behavior_reason=None if auto_renew else "ACCEPTOR_RENEW_OPTED_OUT",
            entitlements=dict(entitlements or {}),
            rate_card=rate_card,
            currency_code=currency,
            legal_documents=legal,
            refund_policy=refund,
            term_ids={
                k: ids.term_id(k) for k in ("pricing", "legal", "support", "validity", "renewal", "upfront")
            },
        )
        self.agreements[agreement.agreement_id] = agreement
        token = ids.registration_token()
        self.tokens[token] = RegistrationToken(token, agreement.agreement_id, now)
        return agreement, token

    def update(self, agreement_id: str, **changes: Any) -> Agreement:
        """Change an agreement (status, end behaviour, end time) as a buyer or AWS would; bumps lastUpdateTime."""
        agreement = self.agreements.get(agreement_id)
        if agreement is None:
            raise ApiError("ResourceNotFoundException", f"agreement {agreement_id} does not exist", 404)
        for key, value in changes.items():
            if not hasattr(agreement, key):
                raise ValueError(f"unknown agreement attribute {key!r}")
            setattr(agreement, key, value)
        agreement.last_update_time = max(
            self.state.clock.now(), agreement.last_update_time + timedelta(seconds=1)
        )
        return agreement


_PROPOSER_FILTERS = {
    "ResourceIdentifier",
    "ResourceType",
    "PartyType",
    "AcceptorAccountId",
    "OfferId",
    "Status",
    "BeforeEndTime",
    "AfterEndTime",
    "BeforeStartTime",
    "AfterStartTime",
    "BeforeLastUpdateTime",
    "AfterLastUpdateTime",
    "AgreementType",
    "OfferSetId",
    "EndTimeBehaviorType",
    "EndTimeBehaviorReasonCode",
    "InitialAgreementId",
    "LicenseArn",
    "IncludesContactOfType",
}
_SORTS = {"EndTime": "end_time", "StartTime": "start_time", "LastUpdateTime": "last_update_time"}


def _agreement_error(message: str, reason: str, field_name: str | None = None) -> ApiError:
    fields = [{"name": field_name, "message": message}] if field_name else []
    return ApiError(
        "ValidationException", message, 400, reason=reason, **({"fields": fields} if fields else {})
    )


def _filter_time(value: str, name: str) -> datetime:
    from sandboxes.marketplace.validation import to_datetime

    parsed = to_datetime(value)
    if parsed is None:
        raise _agreement_error(
            f"Filter {name} value {value!r} is not a timestamp", "INVALID_FILTER_VALUES", "filters"
        )
    return parsed


class CommerceApi:
    """The agreement and entitlement operations over ``Commerce`` (seller's point of view)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _visible(self, caller: str) -> list[Agreement]:
        return [a for a in self.state.commerce.agreements.values() if a.seller == caller]

    def search_agreements(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("catalog", MARKETPLACE_CATALOG) != MARKETPLACE_CATALOG:
            raise _agreement_error(
                f"catalog {params.get('catalog')!r} is not supported", "INVALID_CATALOG", "catalog"
            )
        filters: dict[str, str] = {}
        for item in params.get("filters") or []:
            name = item.get("name")
            if not name:
                raise _agreement_error("A filter has no name", "MISSING_FILTER_NAME", "filters")
            if name not in _PROPOSER_FILTERS:
                raise _agreement_error(f"Filter {name} is not supported", "INVALID_FILTER_NAME", "filters")
            if name in filters:
                raise _agreement_error(f"Filter {name} is given twice", "INVALID_FILTERS", "filters")
            values = item.get("values") or []
            if not values:
                raise _agreement_error(f"Filter {name} has no value", "MISSING_FILTER_VALUES", "filters")
            filters[name] = values[0]
        party = filters.get("PartyType")
        if party is None:
            raise _agreement_error("Filter PartyType is required", "MISSING_PARTY_TYPE", "filters")
        if party != "Proposer":
            raise _agreement_error(
                "The sandbox answers SearchAgreements for PartyType=Proposer (sellers) only",
                "INVALID_PARTY_TYPE",
                "filters",
            )
        if filters.get("AgreementType") != "PurchaseAgreement":
            raise _agreement_error(
                "Filter AgreementType=PurchaseAgreement is required", "INVALID_AGREEMENT_TYPE", "filters"
            )
        rows = self._visible(caller)
        checks = {
            "ResourceIdentifier": lambda a, v: a.product_id == v,
            "ResourceType": lambda a, v: v == "SaaSProduct",
            "AcceptorAccountId": lambda a, v: a.customer_account_id == v,
            "OfferId": lambda a, v: a.offer_id == v,
            "Status": lambda a, v: a.status == v,
            "EndTimeBehaviorType": lambda a, v: a.end_behavior_type == v,
            "EndTimeBehaviorReasonCode": lambda a, v: a.end_behavior_reason == v,
            "InitialAgreementId": lambda a, v: a.agreement_id == v,
            "LicenseArn": lambda a, v: a.license_arn == v,
            "BeforeEndTime": lambda a, v: a.end_time < _filter_time(v, "BeforeEndTime"),
            "AfterEndTime": lambda a, v: a.end_time > _filter_time(v, "AfterEndTime"),
            "BeforeStartTime": lambda a, v: a.start_time < _filter_time(v, "BeforeStartTime"),
            "AfterStartTime": lambda a, v: a.start_time > _filter_time(v, "AfterStartTime"),
            "BeforeLastUpdateTime": lambda a, v: a.last_update_time < _filter_time(v, "BeforeLastUpdateTime"),
            "AfterLastUpdateTime": lambda a, v: a.last_update_time > _filter_time(v, "AfterLastUpdateTime"),
        }
        for name, value in filters.items():
            check = checks.get(name)
            if check is not None:
                rows = [a for a in rows if check(a, value)]
        sort = params.get("sort") or {}
        sort_by = sort.get("sortBy", "EndTime")
        if sort_by not in _SORTS:
            raise _agreement_error(f"sortBy {sort_by} is not supported", "INVALID_SORT_BY", "sort")
        rows.sort(
            key=lambda a: (getattr(a, _SORTS[sort_by]), a.agreement_id),
            reverse=sort.get("sortOrder", "ASCENDING") == "DESCENDING",
        )
        salt = json.dumps([caller, sorted(filters.items()), sort_by, sort.get("sortOrder")])
        offset = read_page_token(
            params.get("nextToken"), salt, lambda m: _agreement_error(m, "INVALID_NEXT_TOKEN", "nextToken")
        )
        size = params.get("maxResults") or 50
        page = rows[offset : offset + size]
        out: dict[str, Any] = {"agreementViewSummaries": [self._summary(a) for a in page]}
        if offset + size < len(rows):
            out["nextToken"] = page_token(offset + size, salt)
        return out

    @staticmethod
    def _summary(a: Agreement) -> dict[str, Any]:
        out: dict[str, Any] = {
            "agreementId": a.agreement_id,
            "acceptanceTime": a.acceptance_time,
            "startTime": a.start_time,
            "endTime": a.end_time,
            "lastUpdateTime": a.last_update_time,
            "agreementType": "PurchaseAgreement",
            "acceptor": {"accountId": a.customer_account_id},
            "proposer": {"accountId": a.seller},
            "proposalSummary": {
                "resources": [{"id": a.product_id, "type": "SaaSProduct"}],
                "offerId": a.offer_id,
            },
            "status": a.status,
            "entitlements": [{"licenseArn": a.license_arn}],
            "initialAgreementId": a.agreement_id,
            "endTimeBehaviorType": a.end_behavior_type,
        }
        if a.end_behavior_reason:
            out["endTimeBehaviorReasonCode"] = a.end_behavior_reason
        return out

    def _agreement(self, caller: str, agreement_id: str) -> Agreement:
        agreement = self.state.commerce.agreements.get(agreement_id)
        if agreement is None or caller not in (agreement.seller, agreement.customer_account_id):
            raise ApiError(
                "ResourceNotFoundException",
                f"Agreement {agreement_id} was not found",
                404,
                resourceId=agreement_id,
                resourceType="Agreement",
            )
        return agreement

    def describe_agreement(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        a = self._agreement(caller, params["agreementId"])
        out: dict[str, Any] = {
            "agreementId": a.agreement_id,
            "acceptor": {"accountId": a.customer_account_id},
            "proposer": {"accountId": a.seller},
            "startTime": a.start_time,
            "endTime": a.end_time,
            "acceptanceTime": a.acceptance_time,
            "agreementType": "PurchaseAgreement",
            "proposalSummary": {
                "resources": [{"id": a.product_id, "type": "SaaSProduct"}],
                "offerId": a.offer_id,
            },
            "status": a.status,
            "initialAgreementId": a.agreement_id,
            "endTimeBehavior": {"type": a.end_behavior_type},
        }
        if a.end_behavior_reason:
            out["endTimeBehavior"]["reasonCode"] = a.end_behavior_reason
        return out

    def get_agreement_terms(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        a = self._agreement(caller, params["agreementId"])
        terms: list[dict[str, Any]] = []
        if a.rate_card:
            terms.append(
                {
                    "usageBasedPricingTerm": {
                        "type": "UsageBasedPricingTerm",
                        "id": a.term_ids["pricing"],
                        "currencyCode": a.currency_code,
                        "rateCards": [
                            {
                                "rateCard": [
                                    {"dimensionKey": k, "price": v} for k, v in sorted(a.rate_card.items())
                                ]
                            }
                        ],
                    }
                }
            )
        if a.entitlements:
            terms.append(
                {
                    "configurableUpfrontPricingTerm": {
                        "type": "ConfigurableUpfrontPricingTerm",
                        "id": a.term_ids["upfront"],
                        "currencyCode": a.currency_code,
                        "rateCards": [
                            {
                                "selector": {"type": "Duration", "value": "P12M"},
                                "rateCard": [
                                    {"dimensionKey": k, "price": "0"} for k in sorted(a.entitlements)
                                ],
                            }
                        ],
                        "configuration": {
                            "selectorValue": "P12M",
                            "dimensions": [
                                {
                                    "dimensionKey": k,
                                    "dimensionValue": int(v) if isinstance(v, (int, bool)) else 1,
                                }
                                for k, v in sorted(a.entitlements.items())
                            ],
                        },
                    }
                }
            )
        if a.legal_documents:
            terms.append(
                {
                    "legalTerm": {
                        "type": "LegalTerm",
                        "id": a.term_ids["legal"],
                        "documents": a.legal_documents,
                    }
                }
            )
        if a.refund_policy:
            terms.append(
                {
                    "supportTerm": {
                        "type": "SupportTerm",
                        "id": a.term_ids["support"],
                        "refundPolicy": a.refund_policy,
                    }
                }
            )
        terms.append(
            {
                "validityTerm": {
                    "type": "ValidityTerm",
                    "id": a.term_ids["validity"],
                    "agreementDuration": f"P{(a.end_time - a.start_time).days}D",
                    "agreementStartDate": a.start_time,
                    "agreementEndDate": a.end_time,
                }
            }
        )
        terms.append(
            {
                "renewalTerm": {
                    "type": "RenewalTerm",
                    "id": a.term_ids["renewal"],
                    "configuration": {"enableAutoRenew": a.end_behavior_type == "RENEW"},
                }
            }
        )
        salt = json.dumps([caller, a.agreement_id])
        offset = read_page_token(
            params.get("nextToken"), salt, lambda m: _agreement_error(m, "INVALID_NEXT_TOKEN", "nextToken")
        )
        size = params.get("maxResults") or 50
        out: dict[str, Any] = {"acceptedTerms": terms[offset : offset + size]}
        if offset + size < len(terms):
            out["nextToken"] = page_token(offset + size, salt)
        return out

    def get_entitlements(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        product_code = params["ProductCode"]
        product = next(
            (
                e
                for e in self.state.catalog.entities.values()
                if e.entity_type == "SaaSProduct" and e.product_code == product_code and e.owner == caller
            ),
            None,
        )
        if product is None:
            raise ApiError(
                "InvalidParameterException", f"Product code {product_code} is not one of your products"
            )
        filters: dict[str, list[str]] = params.get("Filter") or {}
        if "CUSTOMER_IDENTIFIER" in filters and "CUSTOMER_AWS_ACCOUNT_ID" in filters:
            raise ApiError(
                "InvalidParameterException",
                "CustomerIdentifier and CustomerAWSAccountId are mutually exclusive filters",
            )
        now = self.state.clock.now()
        rows: list[dict[str, Any]] = []
        for a in sorted(self.state.commerce.agreements.values(), key=lambda x: x.agreement_id):
            if a.product_code != product_code or a.status != "ACTIVE" or not a.start_time <= now < a.end_time:
                continue
            for dimension, value in sorted(a.entitlements.items()):
                if not self._matches(filters, a, dimension):
                    continue
                entitlement: dict[str, Any] = {
                    "ProductCode": product_code,
                    "Dimension": dimension,
                    "CustomerAWSAccountId": a.customer_account_id,
                    "LicenseArn": a.license_arn,
                    "ExpirationDate": a.end_time,
                    "Value": self._value(value),
                }
                if a.customer_identifier:
                    entitlement["CustomerIdentifier"] = a.customer_identifier
                rows.append(entitlement)
        salt = json.dumps([caller, product_code, sorted((k, sorted(v)) for k, v in filters.items())])
        offset = read_page_token(
            params.get("NextToken"), salt, lambda m: ApiError("InvalidParameterException", m)
        )
        size = params.get("MaxResults") or 25
        out: dict[str, Any] = {"Entitlements": rows[offset : offset + size]}
        if offset + size < len(rows):
            out["NextToken"] = page_token(offset + size, salt)
        return out

    @staticmethod
    def _matches(filters: dict[str, list[str]], a: Agreement, dimension: str) -> bool:
        fields = {
            "CUSTOMER_IDENTIFIER": a.customer_identifier,
            "DIMENSION": dimension,
            "CUSTOMER_AWS_ACCOUNT_ID": a.customer_account_id,
            "LICENSE_ARN": a.license_arn,
        }
        return all(fields[name] in values for name, values in filters.items())

    @staticmethod
    def _value(value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"BooleanValue": value}
        if isinstance(value, int):
            return {"IntegerValue": value}
        if isinstance(value, float):
            return {"DoubleValue": value}
        return {"StringValue": str(value)}


class SandboxState:
    """Everything the sandbox knows; one lock serialises every API call."""

    def __init__(self, *, seed: int = 11, clock: Clock | None = None) -> None:
        from sandboxes.marketplace.catalog import Catalog
        from sandboxes.marketplace.metering import Metering

        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.ids = Ids(seed)
        self.sellers: dict[str, SellerAccount] = {}
        self.catalog = Catalog(self)
        self.commerce = Commerce(self)
        self.commerce_api = CommerceApi(self)
        self.metering = Metering(self)

    # ------------------------------------------------------------------------------------------- accounts

    def add_seller(self, name: str, account_id: str | None = None) -> SellerAccount:
        """Register a seller account with its own access key (idempotent per name)."""
        with self.lock:
            for seller in self.sellers.values():
                if seller.name == name:
                    return seller
            account_id = account_id or f"{len(self.sellers) + 1:04d}{self.ids.token(8, string.digits)}"
            akid = "AKIAMP" + hashlib.sha256(f"{name}|{account_id}".encode()).hexdigest()[:14].upper()
            secret = hashlib.sha256(f"secret|{name}|{account_id}".encode()).hexdigest()[:40]
            seller = SellerAccount(account_id, akid, secret, name=name)
            self.sellers[account_id] = seller
            return seller

    def seller_by_key(self, access_key_id: str) -> SellerAccount | None:
        for seller in self.sellers.values():
            if seller.access_key_id == access_key_id:
                return seller
        return None

    def seller_by_name(self, name: str) -> SellerAccount:
        for seller in self.sellers.values():
            if seller.name == name:
                return seller
        raise KeyError(f"no sandbox seller named {name!r}")

    # ------------------------------------------------------------------------------------------- seeding

    def seed_saas_product(
        self,
        seller: SellerAccount,
        *,
        title: str,
        dimensions: list[dict[str, Any]],
        prices: dict[str, str],
        legacy_metering: bool = False,
        fulfillment_url: str = "https://app.example.com/marketplace/register",
    ) -> tuple[str, str, str]:
        """Publish a SaaS product with a released public offer through the change-set engine.

        Returns ``(product_id, product_code, offer_id)``.
        """
        changes = [
            {
                "ChangeType": "CreateProduct",
                "ChangeName": "CreateProductChange",
                "Entity": {"Type": "SaaSProduct@1.0"},
                "DetailsDocument": {"ProductTitle": title},
            },
            {
                "ChangeType": "UpdateInformation",
                "Entity": {"Type": "SaaSProduct@1.0", "Identifier": "$CreateProductChange.Entity.Identifier"},
                "DetailsDocument": {
                    "ProductTitle": title,
                    "ShortDescription": f"{title} (sandbox)",
                    "LongDescription": f"{title}, seeded by the Marketplace sandbox.",
                    "Categories": ["Data Analytics"],
                },
            },
            {
                "ChangeType": "AddDimensions",
                "Entity": {"Type": "SaaSProduct@1.0", "Identifier": "$CreateProductChange.Entity.Identifier"},
                "DetailsDocument": {"Dimensions": dimensions},
            },
            {
                "ChangeType": "AddDeliveryOptions",
                "Entity": {"Type": "SaaSProduct@1.0", "Identifier": "$CreateProductChange.Entity.Identifier"},
                "DetailsDocument": {
                    "DeliveryOptions": [
                        {"Details": {"SaaSUrlDeliveryOptionDetails": {"FulfillmentUrl": fulfillment_url}}}
                    ]
                },
            },
            {
                "ChangeType": "CreateOffer",
                "ChangeName": "CreateOfferChange",
                "Entity": {"Type": "Offer@1.0"},
                "DetailsDocument": {"ProductId": "$CreateProductChange.Entity.Identifier"},
            },
            {
                "ChangeType": "UpdateInformation",
                "Entity": {"Type": "Offer@1.0", "Identifier": "$CreateOfferChange.Entity.Identifier"},
                "DetailsDocument": {"Name": f"{title} public offer", "Description": "Pay as you go"},
            },
            {
                "ChangeType": "UpdatePricingTerms",
                "Entity": {"Type": "Offer@1.0", "Identifier": "$CreateOfferChange.Entity.Identifier"},
                "DetailsDocument": {
                    "PricingModel": "Usage",
                    "Terms": [
                        {
                            "Type": "UsageBasedPricingTerm",
                            "CurrencyCode": "USD",
                            "RateCards": [
                                {"RateCard": [{"DimensionKey": k, "Price": v} for k, v in prices.items()]}
                            ],
                        }
                    ],
                },
            },
            {
                "ChangeType": "UpdateLegalTerms",
                "Entity": {"Type": "Offer@1.0", "Identifier": "$CreateOfferChange.Entity.Identifier"},
                "DetailsDocument": {
                    "Terms": [
                        {
                            "Type": "LegalTerm",
                            "Documents": [{"Type": "StandardEula", "Version": "2022-07-14"}],
                        }
                    ]
                },
            },
            {
                "ChangeType": "UpdateSupportTerms",
                "Entity": {"Type": "Offer@1.0", "Identifier": "$CreateOfferChange.Entity.Identifier"},
                "DetailsDocument": {
                    "Terms": [{"Type": "SupportTerm", "RefundPolicy": "No refunds for metered usage"}]
                },
            },
            {
                "ChangeType": "ReleaseOffer",
                "Entity": {"Type": "Offer@1.0", "Identifier": "$CreateOfferChange.Entity.Identifier"},
                "DetailsDocument": {},
            },
        ]
        with self.lock:
            created = self.catalog.apply_now(seller.account_id, changes)
            product = self.catalog.entities[created["CreateProductChange"]]
            product.legacy_metering = legacy_metering
            product.visibility = "Public"
            product.details["Description"]["Visibility"] = "Public"
            return product.entity_id, product.product_code or "", created["CreateOfferChange"]
