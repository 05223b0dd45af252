"""Hourly Marketplace metering: ledger usage -> BatchMeterUsage, billed exactly once per usage hour.

For one tenant the run

1. aggregates ledger usage per dimension x usage hour (quantities at 6 decimals, per-workspace allocations whose
   sum is the record's quantity exactly);
2. compares it with ``silver.meter_usage`` (the state machine pending -> sent | dead_lettered) and decides per
   record: new -> written as ``pending`` *before* anything is sent, with the exact record frozen in
   ``usage_record`` (timestamp = start of the usage hour, never the send time); unchanged -> nothing;
   quantity changed after the record was written -> dead-lettered (``QuantityChangedAfterSend``), never sent as a
   new record; older than the accepted window -> dead-lettered without a call;
3. sends every pending record (new ones and any left pending by an earlier, interrupted run) in calls of at most
   25 records of one product; a re-sent pending record is the identical request, which Marketplace treats as
   idempotent and answers with the original result, so a crash between BatchMeterUsage and recording its result
   bills the hour exactly once on the next run;
4. records each result: ``Success`` -> ``sent`` with its MeteringRecordId; ``CustomerNotSubscribed`` /
   ``DuplicateRecord`` / a record the service refuses (found by splitting a refused batch) -> ``dead_lettered``
   plus a row in ``silver.meter_usage_deadletter`` with the reason; records still unprocessed after the retries
   stay ``pending`` for the next run.

A re-run for an hour that is already sent reads, compares and writes nothing: no call, no new table version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any, Literal

from lakehouse.errors import BadInput
from lakehouse.marketplace.interfaces import Buyer, BuyerDirectory, UsageRow, UsageSource, hour_of, utc

log = logging.getLogger(__name__)

MAX_BATCH = 25
SIX_PLACES = Decimal("0.000001")
MAX_QUANTITY = Decimal("9999999999.999999")
IdentifyBy = Literal["license", "account", "legacy"]


class ZeroUsagePolicy(str, Enum):
    """What to do for an hour without usage: ``skip`` it, or ``send`` an explicit zero per dimension."""

    skip = "skip"
    send = "send"


@dataclass(frozen=True)
class MeteringConfig:
    """Metering policy for a run (see docs/marketplace.md)."""

    dimensions: frozenset[str] | None = (
        None  # the product's metered dimensions; others are dead-lettered unsent
    )
    zero_usage: ZeroUsagePolicy = ZeroUsagePolicy.skip
    zero_usage_dimensions: tuple[str, ...] = ()  # dimensions that get zero records (default: ``dimensions``)
    identify_by: IdentifyBy = (
        "license"  # license: LicenseArn + account; account: ProductCode + account; legacy
    )
    settle: timedelta = timedelta(minutes=10)  # an hour is due once it ended this long ago (late ledger rows)
    window: timedelta = timedelta(hours=24)  # Marketplace refuses usage this old
    safety: timedelta = timedelta(minutes=30)  # don't start sending a record this close to the window's edge
    workspace_tag: str = "workspace"
    batch_size: int = MAX_BATCH

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise BadInput(f"batch_size must be 1-{MAX_BATCH}, got {self.batch_size}")


# ----------------------------------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class HourlyUsage:
    """Usage of one dimension in one hour, with its per-workspace split and the runs that produced it."""

    dimension: str
    usage_hour: datetime
    quantity: Decimal
    allocations: tuple[tuple[str | None, Decimal], ...] = ()
    run_ids: tuple[str, ...] = ()


def quantize(value: Decimal | float | str) -> Decimal:
    """A quantity at Marketplace's precision (6 decimals, half up)."""
    try:
        return Decimal(str(value)).quantize(SIX_PLACES, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise BadInput(f"usage quantity {value!r} is not a number") from None


def decimal_text(value: Decimal) -> str:
    """``Decimal('1.500000')`` -> ``'1.5'`` (QuantityAsDecimal's pattern: no exponent, no trailing zeros)."""
    text = format(value.quantize(SIX_PLACES), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def aggregate_usage(rows: Iterable[UsageRow], *, tenant_id: str) -> list[HourlyUsage]:
    """Sum usage per dimension x usage hour; each workspace's share is rounded, the record is their sum."""
    per: dict[tuple[str, datetime], dict[str | None, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    runs: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    for row in rows:
        if row.tenant_id != tenant_id:
            raise BadInput(f"usage row of tenant {row.tenant_id!r} in a metering run for {tenant_id!r}")
        key = (row.dimension, hour_of(row.usage_at))
        per[key][row.workspace_id] += Decimal(str(row.quantity))
        if row.run_id:
            runs[key].add(row.run_id)
    out = []
    for (dimension, hour), by_workspace in sorted(per.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        shares = tuple(
            sorted(((ws, quantize(q)) for ws, q in by_workspace.items()), key=lambda x: x[0] or "")
        )
        total = sum((q for _, q in shares), Decimal(0))
        allocations = shares if any(ws is not None for ws, _ in shares) else ()
        out.append(
            HourlyUsage(
                dimension,
                hour,
                total.quantize(SIX_PLACES),
                allocations,
                tuple(sorted(runs[(dimension, hour)])),
            )
        )
    return out


def iso_hour(hour: datetime) -> str:
    return utc(hour).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity(buyer: Buyer, identify_by: IdentifyBy) -> dict[str, str]:
    """The customer fields of a usage record for ``buyer`` in the chosen integration style."""
    if identify_by == "legacy":
        if not buyer.customer_identifier:
            raise BadInput(f"tenant {buyer.tenant_id}: legacy metering needs the buyer's CustomerIdentifier")
        return {"CustomerIdentifier": buyer.customer_identifier}
    if not buyer.customer_aws_account_id:
        raise BadInput(f"tenant {buyer.tenant_id}: the linked buyer has no CustomerAWSAccountId")
    out = {"CustomerAWSAccountId": buyer.customer_aws_account_id}
    if identify_by == "license":
        if not buyer.license_arn:
            raise BadInput(f"tenant {buyer.tenant_id}: license-based metering needs the buyer's LicenseArn")
        out["LicenseArn"] = buyer.license_arn
    return out


def record_key(buyer: Buyer, identify_by: IdentifyBy, dimension: str, hour: datetime) -> str:
    """The key of a usage record: product x customer x dimension x usage hour (what Marketplace dedupes on)."""
    who = json.dumps(identity(buyer, identify_by), sort_keys=True)
    text = f"{buyer.product_code}|{who}|{dimension}|{iso_hour(hour)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def usage_record(
    buyer: Buyer, usage: HourlyUsage, *, identify_by: IdentifyBy, workspace_tag: str
) -> dict[str, Any]:
    """The exact UsageRecord to send (JSON-ready; ``Timestamp`` is the start of the usage hour)."""
    record: dict[str, Any] = {
        "Timestamp": iso_hour(usage.usage_hour),
        "Dimension": usage.dimension,
        "QuantityAsDecimal": decimal_text(usage.quantity),
        **identity(buyer, identify_by),
    }
    if usage.allocations:
        record["UsageAllocations"] = [
            {
                "AllocatedUsageQuantityAsDecimal": decimal_text(q),
                **({"Tags": [{"Key": workspace_tag, "Value": ws}]} if ws is not None else {}),
            }
            for ws, q in usage.allocations
        ]
    return record


def wire_record(frozen: Mapping[str, Any]) -> dict[str, Any]:
    """A frozen record as boto3 takes it (the timestamp as a datetime)."""
    record = dict(frozen)
    record["Timestamp"] = datetime.fromisoformat(record["Timestamp"])
    return record


def result_match_key(record: Mapping[str, Any]) -> tuple[str, str, str | None, str | None, str | None]:
    """How a result's UsageRecord is matched to what was sent: dimension, hour and customer fields."""
    ts = record["Timestamp"]
    moment = ts if isinstance(ts, datetime) else datetime.fromisoformat(str(ts))
    return (
        record["Dimension"],
        iso_hour(hour_of(moment)),
        record.get("CustomerAWSAccountId"),
        record.get("LicenseArn"),
        record.get("CustomerIdentifier"),
    )


def in_window(hour: datetime, now: datetime, config: MeteringConfig, margin: timedelta | None = None) -> bool:
    """Whether a record for ``hour`` can still be sent safely: inside the window minus ``margin`` (default: the
    safety margin), and not a previous month's hour after the month-end grace period."""
    now = utc(now)
    margin = config.safety if margin is None else margin
    if hour_of(hour) > now or now - utc(hour) >= config.window - margin:
        return False
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return not (utc(hour) < month_start and now >= month_start + timedelta(hours=6) - margin)


# a pending record is re-sent up to (almost) the real edge of the window: its answer is the only way to learn
# whether an interrupted run's call was billed
RESEND_MARGIN = timedelta(minutes=2)


def due_hours(now: datetime, config: MeteringConfig) -> list[datetime]:
    """The closed, settled hours still inside the accepted window, oldest first."""
    now = utc(now)
    last = hour_of(now - config.settle) - timedelta(hours=1)
    hours = []
    hour = last
    while in_window(hour, now, config):
        hours.append(hour)
        hour -= timedelta(hours=1)
    return sorted(hours)


def batches(
    rows: Sequence[Mapping[str, Any]], size: int = MAX_BATCH
) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Rows grouped by product, in chunks of at most ``size`` (one product per call)."""
    by_product: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in sorted(
        rows, key=lambda r: (r["product_code"], r["usage_hour"], r["dimension"], r["record_key"])
    ):
        by_product[row["product_code"]].append(row)
    out = []
    for product, items in sorted(by_product.items()):
        for start in range(0, len(items), size):
            out.append((product, items[start : start + size]))
    return out


# ----------------------------------------------------------------------------------------------- the run


@dataclass
class MeteringResult:
    """What one metering run did."""

    tenant_id: str
    run_id: str
    hours: list[datetime]
    status: str = "succeeded"  # succeeded | nothing_to_do | incomplete
    records: int = 0  # usage records considered this run
    new_pending: int = 0
    sent: int = 0
    already_sent: int = 0
    dead_lettered: int = 0
    still_pending: int = 0
    calls: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"tenant {self.tenant_id}: {self.records} record(s) over {len(self.hours)} hour(s); "
            f"{self.new_pending} new, {self.sent} sent, {self.already_sent} already sent, "
            f"{self.dead_lettered} dead-lettered, {self.still_pending} still pending; "
            f"{self.calls} BatchMeterUsage call(s) [{self.status}]"
        )


ChunkHook = Callable[[list[Mapping[str, Any]], Any], None]


@dataclass
class _DeadLetters:
    """The dead-letter rows one run adds (each reason for a record once, never one stored before)."""

    tenant_id: str
    run_id: str
    now: datetime
    known: set[str]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        key: str,
        code: str,
        reason: str,
        *,
        dimension: str,
        hour: datetime,
        quantity: Decimal | None,
        record: Mapping[str, Any] | None = None,
        response: Any = None,
        product_code: str | None = None,
    ) -> None:
        """Dead-letter the record ``key`` for ``code`` (a repeat of a known dead letter adds nothing)."""
        dl_id = hashlib.sha256(f"{key}|{code}|{quantity}".encode()).hexdigest()[:32]
        if dl_id in self.known:
            return
        self.known.add(dl_id)
        self.rows.append(
            {
                "tenant_id": self.tenant_id,
                "deadletter_id": dl_id,
                "record_key": key,
                "product_code": product_code,
                "dimension": dimension,
                "usage_hour": hour,
                "quantity": quantity,
                "reason_code": code,
                "reason": reason,
                "usage_record": json.dumps(record, sort_keys=True) if record is not None else None,
                "response": json.dumps(response, sort_keys=True, default=str)
                if response is not None
                else None,
                "metering_run_id": self.run_id,
                "dead_lettered_at": self.now,
            }
        )


def _tally(result: MeteringResult, updates: list[dict[str, Any]], dead: list[dict[str, Any]]) -> None:
    """Fill the run's counts from the rows it recorded; leftover pending rows or errors make it incomplete."""
    result.sent = sum(1 for u in updates if u["state"] == "sent" and u.get("_fresh"))
    result.dead_lettered = len(dead)
    result.still_pending = sum(1 for u in updates if u["state"] == "pending")
    if result.still_pending or result.errors:
        result.status = "incomplete"


class MeteringRun:
    """Meters one tenant's usage into Marketplace (see the module docstring for the rules)."""

    def __init__(
        self,
        spark: Any,
        *,
        usage: UsageSource,
        buyers: BuyerDirectory,
        sender: Any,
        config: MeteringConfig | None = None,
        clock: Callable[[], datetime] | None = None,
        after_send: ChunkHook | None = None,
    ) -> None:
        self.spark = spark
        self.usage, self.buyers, self.sender = usage, buyers, sender
        self.config = config or MeteringConfig()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.after_send = after_send  # called after each BatchMeterUsage, before its result is recorded

    def run(
        self, tenant_id: str, *, hours: Sequence[datetime] | None = None, run_id: str | None = None
    ) -> MeteringResult:
        """Meter ``hours`` (default: the hours due now) for ``tenant_id``: decide, write ahead, send, record."""
        from lakehouse.marketplace.store import MeterStore

        now = utc(self.clock())
        run_id = run_id or f"metering-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        target = self._closed_hours(hours, now)
        result = MeteringResult(tenant_id, run_id, target)
        store = MeterStore(self.spark, tenant_id)
        buyer = self.buyers.buyer_for(tenant_id)
        existing = store.load(since=target[0] if target else now)
        letters = _DeadLetters(tenant_id, run_id, now, store.deadletter_ids())
        new_rows = self._decide(
            self._hourly_usage(tenant_id, target, buyer), buyer, existing, letters, result
        )
        to_send, updates = self._pending_to_send(existing, new_rows, letters)
        result.new_pending = len(new_rows)
        if not to_send and not letters.rows and not updates:
            result.status = "nothing_to_do"
            return result
        if new_rows:  # write-ahead: the frozen records exist before any call is made
            store.upsert(new_rows)
        # an exception here (a crash) leaves the sent records pending: the next run re-sends them identically
        for product_code, chunk in batches(to_send, self.config.batch_size):
            updates.extend(self._send(chunk, product_code, result, run_id, now, letters.add))
        store.upsert(updates)
        store.add_deadletters(letters.rows)
        _tally(result, updates, letters.rows)
        return result

    def _closed_hours(self, hours: Sequence[datetime] | None, now: datetime) -> list[datetime]:
        """The usage hours to meter, refusing any that has not closed and settled (its quantity could grow)."""
        target = sorted({hour_of(h) for h in hours}) if hours else due_hours(now, self.config)
        open_hours = [h for h in target if h + timedelta(hours=1) + self.config.settle > now]
        if open_hours:
            raise BadInput(
                f"usage hour {iso_hour(open_hours[0])} has not closed and settled yet (it can be metered "
                f"from {iso_hour(open_hours[0] + timedelta(hours=1) + self.config.settle)} on); metering "
                "an open hour would freeze a partial quantity"
            )
        return target

    def _hourly_usage(self, tenant_id: str, target: list[datetime], buyer: Buyer | None) -> list[HourlyUsage]:
        """The tenant's usage per dimension x hour of ``target``, plus zero records the policy asks for."""
        if not target:
            return []
        rows = self.usage.usage(tenant_id, target[0], target[-1] + timedelta(hours=1))
        wanted = set(target)
        usage = [u for u in aggregate_usage(rows, tenant_id=tenant_id) if u.usage_hour in wanted]
        return usage + self._zero_usage(usage, target, buyer)

    def _decide(
        self,
        usage: list[HourlyUsage],
        buyer: Buyer | None,
        existing: Mapping[str, Mapping[str, Any]],
        letters: _DeadLetters,
        result: MeteringResult,
    ) -> list[dict[str, Any]]:
        """Per usage record: new -> a pending row (returned); unchanged -> nothing; anything else dead-lettered."""
        new_rows: list[dict[str, Any]] = []
        for u in usage:
            result.records += 1
            if buyer is None:
                key = hashlib.sha256(
                    f"unlinked|{letters.tenant_id}|{u.dimension}|{iso_hour(u.usage_hour)}".encode()
                ).hexdigest()[:32]
                letters.add(
                    key,
                    "NoLinkedBuyer",
                    f"tenant {letters.tenant_id} has no linked Marketplace buyer; register the "
                    "buyer (ResolveCustomer) and re-run within 24 hours of the usage",
                    dimension=u.dimension,
                    hour=u.usage_hour,
                    quantity=u.quantity,
                )
                continue
            key = record_key(buyer, self.config.identify_by, u.dimension, u.usage_hour)
            record = usage_record(
                buyer, u, identify_by=self.config.identify_by, workspace_tag=self.config.workspace_tag
            )
            refusal = self._refusal(u, existing.get(key), letters.now)
            if refusal is not None:
                letters.add(
                    key,
                    refusal[0],
                    refusal[1],
                    dimension=u.dimension,
                    hour=u.usage_hour,
                    quantity=u.quantity,
                    record=record,
                    product_code=buyer.product_code,
                )
            elif key not in existing:
                new_rows.append(
                    self._pending_row(letters.tenant_id, key, buyer, u, record, letters.run_id, letters.now)
                )
            elif existing[key]["state"] == "sent":
                result.already_sent += 1
        return new_rows

    def _refusal(
        self, u: HourlyUsage, row: Mapping[str, Any] | None, now: datetime
    ) -> tuple[str, str] | None:
        """Why a usage record must not be sent (reason code, text), or None when it may be (or already was)."""
        problem = self._invalid(u)
        if problem:
            return problem
        if row is None:
            if not in_window(u.usage_hour, now, self.config):
                return (
                    "OutsideAcceptedWindow",
                    (
                        f"usage hour {iso_hour(u.usage_hour)} is outside the window Marketplace accepts "
                        "(24 hours; previous month until 06:00 UTC on the 1st); not sent"
                    ),
                )
            return None
        if Decimal(row["quantity"]) != u.quantity:
            return (
                "QuantityChangedAfterSend",
                (
                    f"usage of {u.dimension} for {iso_hour(u.usage_hour)} changed from "
                    f"{decimal_text(Decimal(row['quantity']))} to {decimal_text(u.quantity)} after the record "
                    f"was {row['state'].replace('_', '-')}; a second record for the hour would be a "
                    "DuplicateRecord, so the difference is not billed"
                ),
            )
        return None

    def _pending_to_send(
        self,
        existing: Mapping[str, Mapping[str, Any]],
        new_rows: list[dict[str, Any]],
        letters: _DeadLetters,
    ) -> tuple[list[Mapping[str, Any]], list[dict[str, Any]]]:
        """What to send (new rows and pending ones still in the window) and the pending rows that expired."""
        to_send: list[Mapping[str, Any]] = list(new_rows)
        expired: list[dict[str, Any]] = []
        for row in existing.values():
            if row["state"] != "pending":
                continue
            if in_window(row["usage_hour"], letters.now, self.config, margin=RESEND_MARGIN):
                to_send.append(row)
                continue
            expired.append(
                {
                    **row,
                    "state": "dead_lettered",
                    "status": "OutsideAcceptedWindow",
                    "updated_at": letters.now,
                    "metering_run_id": letters.run_id,
                }
            )
            letters.add(
                row["record_key"],
                "OutsideAcceptedWindow",
                "the record stayed pending (interrupted run or unprocessed) until it left the accepted "
                "window; Marketplace may or may not have accepted it before the interruption",
                dimension=row["dimension"],
                hour=row["usage_hour"],
                quantity=Decimal(row["quantity"]),
                record=json.loads(row["usage_record"]),
                product_code=row["product_code"],
            )
        return to_send, expired

    # ------------------------------------------------------------------------------------------- helpers

    def _zero_usage(
        self, usage: list[HourlyUsage], hours: list[datetime], buyer: Buyer | None
    ) -> list[HourlyUsage]:
        if self.config.zero_usage is not ZeroUsagePolicy.send or buyer is None:
            return []
        dims = self.config.zero_usage_dimensions or tuple(sorted(self.config.dimensions or ()))
        have = {(u.dimension, u.usage_hour) for u in usage}
        return [HourlyUsage(d, h, Decimal("0.000000")) for h in hours for d in dims if (d, h) not in have]

    def _invalid(self, u: HourlyUsage) -> tuple[str, str] | None:
        if self.config.dimensions is not None and u.dimension not in self.config.dimensions:
            return (
                "InvalidUsageDimension",
                (
                    f"{u.dimension!r} is not a metered dimension of the product "
                    f"({', '.join(sorted(self.config.dimensions))}); not sent"
                ),
            )
        if u.quantity < 0 or any(q < 0 for _, q in u.allocations):
            return (
                "NegativeQuantity",
                (
                    f"usage of {u.dimension} for {iso_hour(u.usage_hour)} is negative "
                    f"({decimal_text(u.quantity)}); credits are not metered"
                ),
            )
        if u.quantity > MAX_QUANTITY:
            return ("QuantityOutOfRange", f"usage {u.quantity} exceeds what QuantityAsDecimal can carry")
        if len(u.allocations) > 2500:
            return (
                "TooManyAllocations",
                f"{len(u.allocations)} workspaces exceed 2,500 allocations per record",
            )
        return None

    def _pending_row(
        self,
        tenant_id: str,
        key: str,
        buyer: Buyer,
        u: HourlyUsage,
        record: Mapping[str, Any],
        run_id: str,
        now: datetime,
    ) -> dict[str, Any]:
        price = buyer.rate_card.get(u.dimension)
        return {
            "tenant_id": tenant_id,
            "record_key": key,
            "product_code": buyer.product_code,
            "customer_aws_account_id": record.get("CustomerAWSAccountId"),
            "license_arn": record.get("LicenseArn"),
            "customer_identifier": record.get("CustomerIdentifier"),
            "dimension": u.dimension,
            "usage_hour": u.usage_hour,
            "quantity": u.quantity,
            "allocations": [{"workspace_id": ws, "quantity": q} for ws, q in u.allocations],
            "usage_record": json.dumps(record, sort_keys=True),
            "state": "pending",
            "status": None,
            "metering_record_id": None,
            "response": None,
            "attempts": 0,
            "unit_price": Decimal(price).quantize(SIX_PLACES) if price is not None else None,
            "currency_code": buyer.currency_code if price is not None else None,
            "source_run_ids": list(u.run_ids),
            "metering_run_id": run_id,
            "created_at": now,
            "sent_at": None,
            "updated_at": now,
        }

    def _send(
        self,
        chunk: list[Mapping[str, Any]],
        product_code: str,
        result: MeteringResult,
        run_id: str,
        now: datetime,
        dead_letter: Callable[..., None],
    ) -> list[dict[str, Any]]:
        """Send one chunk; a refused request is split until the refused record is alone, then dead-lettered."""
        from lakehouse.marketplace.connector import MarketplaceError, MeteringRejected

        records = [wire_record(json.loads(row["usage_record"])) for row in chunk]
        try:
            outcome = self.sender.send(
                records, product_code=None if self.config.identify_by == "license" else product_code
            )
        except MeteringRejected as exc:
            result.calls += 1
            if len(chunk) > 1:
                mid = len(chunk) // 2
                return self._send(chunk[:mid], product_code, result, run_id, now, dead_letter) + self._send(
                    chunk[mid:], product_code, result, run_id, now, dead_letter
                )
            row = chunk[0]
            dead_letter(
                row["record_key"],
                exc.code or "Rejected",
                str(exc),
                dimension=row["dimension"],
                hour=row["usage_hour"],
                quantity=Decimal(row["quantity"]),
                record=json.loads(row["usage_record"]),
                product_code=product_code,
            )
            return [
                {
                    **row,
                    "state": "dead_lettered",
                    "status": exc.code,
                    "response": json.dumps({"error": str(exc)}),
                    "attempts": (row["attempts"] or 0) + 1,
                    "updated_at": now,
                    "metering_run_id": run_id,
                }
            ]
        except MarketplaceError as exc:
            result.errors.append(str(exc))
            return [
                {**row, "attempts": (row["attempts"] or 0) + 1, "updated_at": now, "metering_run_id": run_id}
                for row in chunk
            ]
        result.calls += outcome.calls
        result.batch_sizes.append(len(chunk))
        if self.after_send is not None:
            self.after_send(list(chunk), outcome)
        by_match = {result_match_key(json.loads(row["usage_record"])): row for row in chunk}
        out: dict[str, dict[str, Any]] = {}
        for item in outcome.results:
            sent = by_match.get(result_match_key(item.get("UsageRecord") or {}))
            if sent is None:
                log.warning("BatchMeterUsage returned a result for a record that was not sent: %s", item)
                continue
            status = item.get("Status")
            response = {k: v for k, v in item.items() if k != "UsageRecord"}
            base = {
                **sent,
                "status": status,
                "response": json.dumps(response, sort_keys=True),
                "attempts": (sent["attempts"] or 0) + 1,
                "updated_at": now,
                "metering_run_id": run_id,
            }
            if status == "Success":
                out[sent["record_key"]] = {
                    **base,
                    "state": "sent",
                    "metering_record_id": item.get("MeteringRecordId"),
                    "sent_at": now,
                    "_fresh": True,
                }
            else:
                reason = {
                    "CustomerNotSubscribed": "the customer has no active subscription to the product at the usage "
                    "hour (invalid, unsubscribed or suspended account)",
                    "DuplicateRecord": "Marketplace already has a record for this customer, dimension and hour with "
                    "a different quantity",
                }.get(status or "", f"BatchMeterUsage returned status {status}")
                out[sent["record_key"]] = {**base, "state": "dead_lettered"}
                dead_letter(
                    sent["record_key"],
                    status or "Unknown",
                    reason,
                    dimension=sent["dimension"],
                    hour=sent["usage_hour"],
                    quantity=Decimal(sent["quantity"]),
                    record=json.loads(sent["usage_record"]),
                    response=response,
                    product_code=product_code,
                )
        for row in chunk:  # unprocessed after the retries, or missing from the answer: stays pending
            if row["record_key"] not in out:
                out[row["record_key"]] = {
                    **row,
                    "attempts": (row["attempts"] or 0) + 1,
                    "updated_at": now,
                    "metering_run_id": run_id,
                }
        return list(out.values())
