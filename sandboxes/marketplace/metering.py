"""Metering API state: BatchMeterUsage and ResolveCustomer, with the documented rules.

- at most 25 records per request (model) and one product per request;
- a record's timestamp must be less than 24 hours old and not in the future; after 06:00 UTC on the first day of
  a month, records of the previous month are refused; one record outside the window fails the whole request
  with ``TimestampOutOfBoundsException``;
- ``Quantity`` and ``QuantityAsDecimal`` are exclusive; allocations use the same kind of quantity and sum to
  the record's quantity (``InvalidUsageAllocationsException``); tag keys are unique within an allocation
  (``InvalidTagException``); dimensions must be metered dimensions of the product
  (``InvalidUsageDimensionException``);
- a record is identified by (product, customer, dimension, usage hour): an identical record sent again (same
  quantity, compared by value) is idempotent and returns the original result and MeteringRecordId; the same
  identity with a different quantity is ``DuplicateRecord`` and is not billed;
- a customer without an active agreement at the record's time gets ``CustomerNotSubscribed``;
- customers are named by ``LicenseArn`` (+ ``CustomerAWSAccountId``) without a request ``ProductCode``, or by
  ``ProductCode`` + ``CustomerAWSAccountId``, or (legacy products only) ``ProductCode`` + ``CustomerIdentifier``.
Records can be left in ``UnprocessedRecords`` on demand (fault injection).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sandboxes._http import ApiError
from sandboxes.marketplace.state import Agreement

if TYPE_CHECKING:
    from sandboxes.marketplace.catalog import Entity
    from sandboxes.marketplace.state import SandboxState

MAX_REQUEST_BYTES = 1_000_000
WINDOW = timedelta(hours=24)
MONTH_GRACE = timedelta(hours=6)


@dataclass
class MeteredRecord:
    """A usage record the service accepted (billed)."""

    key: tuple[str, str, str, str, datetime]
    product_code: str
    dimension: str
    usage_hour: datetime
    quantity: Decimal
    customer_account_id: str | None
    customer_identifier: str | None
    license_arn: str | None
    allocations: list[dict[str, Any]]
    usage_record: dict[str, Any]
    metering_record_id: str
    received_at: datetime


@dataclass
class Metering:
    """Accepted records and the request log of BatchMeterUsage."""

    state: SandboxState
    records: dict[tuple[str, str, str, str, datetime], MeteredRecord] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)  # one entry per processed request
    unprocessed_script: list[int] = field(default_factory=list)  # leave N records unprocessed, per request
    unprocessed_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(5))

    # ------------------------------------------------------------------------------------------- queries

    def billed(self, product_code: str | None = None) -> list[MeteredRecord]:
        """Accepted records (optionally of one product), oldest hour first."""
        rows = [r for r in self.records.values() if product_code is None or r.product_code == product_code]
        return sorted(rows, key=lambda r: (r.usage_hour, r.dimension, r.key))

    def billed_total(self, product_code: str | None = None, dimension: str | None = None) -> Decimal:
        return sum(
            (r.quantity for r in self.billed(product_code) if dimension is None or r.dimension == dimension),
            Decimal(0),
        )

    # ------------------------------------------------------------------------------------------- API

    def resolve_customer(self, seller: str, params: dict[str, Any]) -> dict[str, Any]:
        commerce = self.state.commerce
        token = commerce.tokens.get(params["RegistrationToken"])
        if token is None:
            raise ApiError("InvalidTokenException", "Registration token is invalid")
        agreement = commerce.agreements[token.agreement_id]
        if agreement.seller != seller:
            raise ApiError(
                "InvalidTokenException",
                "Registration token is invalid for this seller account; call "
                "ResolveCustomer from the account that published the product",
            )
        if self.state.clock.now() - token.issued_at > commerce.TOKEN_TTL:
            raise ApiError("ExpiredTokenException", "Registration token has expired")
        out: dict[str, Any] = {
            "ProductCode": agreement.product_code,
            "CustomerAWSAccountId": agreement.customer_account_id,
            "LicenseArn": agreement.license_arn,
            "Metadata": {"AgreementId": agreement.agreement_id},
        }
        if agreement.customer_identifier:
            out["CustomerIdentifier"] = agreement.customer_identifier
        return out

    def batch_meter_usage(self, seller: str, params: dict[str, Any], body_size: int) -> dict[str, Any]:
        if body_size >= MAX_REQUEST_BYTES:
            raise ApiError("ValidationException", "The request must be smaller than 1 MB")
        records: list[dict[str, Any]] = params.get("UsageRecords") or []
        product, identities = self._identify(seller, params.get("ProductCode"), records)
        metered = {
            d["Key"]
            for d in product.details.get("Dimensions", [])
            if {"Metered", "ExternallyMetered"} & set(d.get("Types", []))
        }
        quantities: list[Decimal] = []
        for n, record in enumerate(records):
            if record["Dimension"] not in metered:
                raise ApiError(
                    "InvalidUsageDimensionException",
                    f"The usage dimension {record['Dimension']!r} does not match one of the metered "
                    f"dimensions for product {product.product_code}",
                )
            quantities.append(self._quantity(n, record))
        now = self.state.clock.now()
        for record in records:
            ts = record["Timestamp"]
            if not self.in_window(ts, now):
                raise ApiError(
                    "TimestampOutOfBoundsException",
                    f"Timestamp {ts.isoformat()} is out of the accepted range; usage is accepted for up "
                    "to 24 hours after the event, and for the previous month only until 06:00 UTC on the "
                    "first day of the next month",
                )
        keep = len(records)
        if self.unprocessed_script:
            keep = max(0, len(records) - self.unprocessed_script.pop(0))
        elif self.unprocessed_rate and records:
            keep = len(records) - sum(1 for _ in records if self.rng.random() < self.unprocessed_rate)
        results = []
        for record, (kind, ident, agreements), quantity in zip(
            records[:keep], identities[:keep], quantities[:keep], strict=False
        ):
            results.append(self._process(product, record, kind, ident, agreements, quantity, now))
        self.batches.append(
            {
                "product_code": product.product_code,
                "records": len(records),
                "processed": keep,
                "seller": seller,
            }
        )
        return {"Results": results, "UnprocessedRecords": records[keep:]}

    # ------------------------------------------------------------------------------------------- rules

    @staticmethod
    def in_window(ts: datetime, now: datetime) -> bool:
        """Whether usage at ``ts`` is accepted at ``now`` (24-hour window, month-end grace until 06:00 UTC)."""
        if ts > now or now - ts >= WINDOW:
            return False
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return not (ts < month_start and now >= month_start + MONTH_GRACE)

    def _identify(
        self, seller: str, product_code: str | None, records: list[dict[str, Any]]
    ) -> tuple[Entity, list[tuple[str, str, list[Agreement]]]]:
        """The one product of the request and, per record, (identity kind, identity, candidate agreements)."""
        commerce = self.state.commerce
        by_license = [bool(r.get("LicenseArn")) for r in records]
        if any(by_license) and not all(by_license):
            raise ApiError("ValidationException", "Records of one request must all name a LicenseArn or none")
        identities: list[tuple[str, str, list[Agreement]]] = []
        if records and all(by_license):
            codes = set()
            for record in records:
                agreement = commerce.by_license(record["LicenseArn"])
                if agreement is None or agreement.seller != seller:
                    raise ApiError(
                        "InvalidLicenseException", f"LicenseArn {record['LicenseArn']} is not valid"
                    )
                if record.get("CustomerAWSAccountId") not in (None, agreement.customer_account_id):
                    raise ApiError(
                        "InvalidLicenseException",
                        f"LicenseArn {record['LicenseArn']} does not match "
                        f"customer {record['CustomerAWSAccountId']}",
                    )
                if record.get("CustomerIdentifier"):
                    raise ApiError(
                        "InvalidCustomerIdentifierException",
                        "CustomerIdentifier can't be combined with LicenseArn",
                    )
                if product_code and product_code != agreement.product_code:
                    raise ApiError(
                        "InvalidLicenseException",
                        f"LicenseArn {record['LicenseArn']} belongs to another product than {product_code}",
                    )
                codes.add(agreement.product_code)
                identities.append(("license", agreement.license_arn, [agreement]))
            if len(codes) > 1:
                raise ApiError(
                    "ValidationException",
                    "Each BatchMeterUsage request is for only one product; the "
                    f"records' licenses span {len(codes)} products",
                )
            product = self._product(seller, codes.pop())
            return product, identities
        if not product_code:
            raise ApiError(
                "ValidationException", "ProductCode is required unless every record names a LicenseArn"
            )
        product = self._product(seller, product_code)
        for record in records:
            account, identifier = record.get("CustomerAWSAccountId"), record.get("CustomerIdentifier")
            if account and identifier:
                raise ApiError(
                    "ValidationException",
                    "CustomerIdentifier and CustomerAWSAccountId are mutually exclusive in a usage record",
                )
            if identifier:
                if not product.legacy_metering:
                    raise ApiError(
                        "InvalidCustomerIdentifierException",
                        "CustomerIdentifier is not supported for this product; use CustomerAWSAccountId",
                    )
                found = commerce.for_customer(product_code, identifier=identifier)
                if not found:
                    raise ApiError(
                        "InvalidCustomerIdentifierException",
                        f"CustomerIdentifier {identifier} does not exist",
                    )
                identities.append(("identifier", identifier, found))
            elif account:
                identities.append(
                    ("account", account, commerce.for_customer(product_code, account_id=account))
                )
            else:
                raise ApiError(
                    "InvalidCustomerIdentifierException",
                    "A usage record must name the customer (CustomerAWSAccountId or LicenseArn)",
                )
        return product, identities

    def _product(self, seller: str, product_code: str) -> Entity:
        for entity in self.state.catalog.entities.values():
            if (
                entity.entity_type == "SaaSProduct"
                and entity.product_code == product_code
                and entity.owner == seller
            ):
                return entity
        raise ApiError(
            "InvalidProductCodeException", f"Product code {product_code} is not valid for this seller"
        )

    @staticmethod
    def _decimal(text: Any) -> Decimal:
        try:
            return Decimal(str(text))
        except InvalidOperation:
            raise ApiError("ValidationException", f"Quantity {text!r} is not a number") from None

    def _quantity(self, n: int, record: dict[str, Any]) -> Decimal:
        has_int, has_dec = "Quantity" in record, "QuantityAsDecimal" in record
        if has_int and has_dec:
            raise ApiError(
                "ValidationException", f"UsageRecords[{n}] sets both Quantity and QuantityAsDecimal"
            )
        quantity = (
            self._decimal(record["QuantityAsDecimal"]) if has_dec else Decimal(record.get("Quantity", 0))
        )
        allocations = record.get("UsageAllocations")
        if allocations:
            field_name = "AllocatedUsageQuantityAsDecimal" if has_dec else "AllocatedUsageQuantity"
            other = "AllocatedUsageQuantity" if has_dec else "AllocatedUsageQuantityAsDecimal"
            total = Decimal(0)
            tag_sets = set()
            for a, allocation in enumerate(allocations):
                if other in allocation or field_name not in allocation:
                    raise ApiError(
                        "InvalidUsageAllocationsException",
                        f"UsageRecords[{n}].UsageAllocations[{a}] must use {field_name} like its record",
                    )
                total += self._decimal(allocation[field_name])
                keys = [t["Key"] for t in allocation.get("Tags", [])]
                if len(keys) != len(set(keys)):
                    raise ApiError(
                        "InvalidTagException", f"UsageRecords[{n}].UsageAllocations[{a}] repeats a tag key"
                    )
                tag_set = frozenset((t["Key"], t["Value"]) for t in allocation.get("Tags", []))
                if tag_set in tag_sets:
                    raise ApiError(
                        "InvalidUsageAllocationsException",
                        f"UsageRecords[{n}] has two allocations with the same tags",
                    )
                tag_sets.add(tag_set)
            if total != quantity:
                raise ApiError(
                    "InvalidUsageAllocationsException",
                    f"UsageRecords[{n}]: allocations sum to {total}, the record's quantity is {quantity}",
                )
        return quantity

    def _process(
        self,
        product: Entity,
        record: dict[str, Any],
        kind: str,
        ident: str,
        agreements: list[Agreement],
        quantity: Decimal,
        now: datetime,
    ) -> dict[str, Any]:
        ts: datetime = record["Timestamp"]
        hour = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        key = (product.product_code or "", kind, ident, record["Dimension"], hour)
        existing = self.records.get(key)
        if existing is not None:
            if existing.quantity == quantity:
                return {
                    "UsageRecord": existing.usage_record,
                    "MeteringRecordId": existing.metering_record_id,
                    "Status": "Success",
                }
            return {"UsageRecord": record, "Status": "DuplicateRecord"}
        if not any(a.active_at(ts) for a in agreements):
            return {"UsageRecord": record, "Status": "CustomerNotSubscribed"}
        agreement = next(a for a in agreements if a.active_at(ts))
        accepted = MeteredRecord(
            key=key,
            product_code=product.product_code or "",
            dimension=record["Dimension"],
            usage_hour=hour,
            quantity=quantity,
            customer_account_id=agreement.customer_account_id,
            customer_identifier=record.get("CustomerIdentifier"),
            license_arn=record.get("LicenseArn"),
            allocations=list(record.get("UsageAllocations") or []),
            usage_record=record,
            metering_record_id=self.state.ids.metering_record_id(),
            received_at=now,
        )
        self.records[key] = accepted
        return {"UsageRecord": record, "MeteringRecordId": accepted.metering_record_id, "Status": "Success"}
