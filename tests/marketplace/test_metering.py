"""Hourly metering against the sandbox: batching, exactly-once billing, dead letters, the state machine."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lakehouse import io
from lakehouse.marketplace.entities import METER_USAGE, METER_USAGE_DEADLETTER
from lakehouse.marketplace.interfaces import Buyer, MemoryBuyerDirectory, MemoryUsageSource, UsageRow
from lakehouse.marketplace.metering import MeteringConfig, MeteringRun, ZeroUsagePolicy
from lakehouse.marketplace.store import MeterStore
from tests.marketplace.conftest import NOW

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

DIMS = ("pipeline_hours", "api_calls", "rows_ingested")
HOUR = NOW.replace(minute=0)  # 12:00; the usage hours below are 10:00 and earlier


class Crash(Exception):
    """Stands in for the process dying."""


def buyer(mp, tenant: str = "acme") -> Buyer:
    b = mp.buyer(tenant)
    return Buyer(
        tenant,
        b["product_code"],
        b["customer_aws_account_id"],
        b["license_arn"],
        agreement_id=b["agreement_id"],
        rate_card={"api_calls": "0.002", "pipeline_hours": "0.35"},
    )


def usage(
    tenant: str = "acme", hours: int = 10, dims=DIMS, qty: str = "1.5", first: int = 2
) -> MemoryUsageSource:
    """``hours`` hours x ``dims`` of usage, split over two workspaces, at :07 and :41 past each hour."""
    source = MemoryUsageSource()
    for h in range(first, first + hours):
        for d in dims:
            source.add(
                UsageRow(
                    tenant,
                    "ws-a",
                    d,
                    HOUR - timedelta(hours=h) + timedelta(minutes=7),
                    Decimal(qty),
                    f"run-{h}",
                )
            )
            source.add(
                UsageRow(
                    tenant,
                    "ws-b",
                    d,
                    HOUR - timedelta(hours=h) + timedelta(minutes=41),
                    Decimal("0.25"),
                    f"run-{h}b",
                )
            )
    return source


def runner(mp, spark, source, *, tenants=("acme",), config=None, after_send=None, sender=None, now=NOW):
    return MeteringRun(
        spark,
        usage=source,
        buyers=MemoryBuyerDirectory([buyer(mp, t) for t in tenants]),
        sender=sender or mp.sender(),
        config=config or MeteringConfig(),
        clock=lambda: now,
        after_send=after_send,
    )


def versions() -> tuple[int | None, int | None]:
    return io.table_version(METER_USAGE), io.table_version(METER_USAGE_DEADLETTER)


def batch_sizes(mp) -> list[int]:
    return [
        c["records"] for c in mp.sandbox.calls if c["operation"] == "BatchMeterUsage" and c["outcome"] == "ok"
    ]


def test_thirty_records_of_one_product_take_exactly_two_calls(mp, spark, lake):
    result = runner(mp, spark, usage()).run("acme")
    assert mp.sandbox.count("BatchMeterUsage") == 2
    assert batch_sizes(mp) == [25, 5]
    assert (result.records, result.new_pending, result.sent, result.status) == (30, 30, 30, "succeeded")
    rows = MeterStore(spark, "acme").rows()
    billed = {r.metering_record_id for r in mp.state.metering.billed()}
    assert len(rows) == 30 and {r["state"] for r in rows} == {"sent"}
    assert {r["metering_record_id"] for r in rows} == billed and len(billed) == 30
    assert mp.state.metering.billed_total() == Decimal("1.75") * 30


def test_records_are_stamped_with_the_start_of_the_usage_hour_and_carry_workspace_allocations(
    mp, spark, lake
):
    runner(mp, spark, usage(hours=1, dims=("api_calls",))).run("acme")
    (billed,) = mp.state.metering.billed()
    record = billed.usage_record
    assert record["Timestamp"] == HOUR - timedelta(hours=2)  # usage at 10:07 and 10:41, sent at 12:20
    assert record["QuantityAsDecimal"] == "1.75"
    assert record["LicenseArn"] == mp.buyer("acme")["license_arn"]
    assert record["UsageAllocations"] == [
        {"AllocatedUsageQuantityAsDecimal": "1.5", "Tags": [{"Key": "workspace", "Value": "ws-a"}]},
        {"AllocatedUsageQuantityAsDecimal": "0.25", "Tags": [{"Key": "workspace", "Value": "ws-b"}]},
    ]
    assert mp.state.metering.batches[-1]["records"] == 1 and "ProductCode" not in record


def test_a_rerun_for_hours_already_sent_sends_nothing_and_changes_no_state(mp, spark, lake):
    runner(mp, spark, usage()).run("acme")
    before_versions, before_rows = versions(), MeterStore(spark, "acme").rows()
    mp.sandbox.reset_calls()
    again = runner(mp, spark, usage(), now=NOW + timedelta(minutes=30)).run("acme")
    assert again.status == "nothing_to_do" and again.already_sent == 30
    assert mp.sandbox.count("BatchMeterUsage") == 0
    assert versions() == before_versions
    assert MeterStore(spark, "acme").rows() == before_rows


def test_a_crash_between_sending_and_recording_bills_each_hour_exactly_once(mp, spark, lake):
    def crash(chunk, outcome):
        raise Crash("killed after BatchMeterUsage returned")

    with pytest.raises(Crash):
        runner(mp, spark, usage(), after_send=crash).run("acme")
    rows = MeterStore(spark, "acme").rows()
    assert {r["state"] for r in rows} == {"pending"} and len(
        rows
    ) == 30  # written ahead, result never recorded
    assert len(mp.state.metering.billed()) == 25  # the first call reached Marketplace
    first_ids = {r.key: r.metering_record_id for r in mp.state.metering.billed()}

    result = runner(mp, spark, usage(), now=NOW + timedelta(minutes=5)).run("acme")
    assert (result.sent, result.status) == (30, "succeeded")
    billed = mp.state.metering.billed()
    assert len(billed) == 30 and mp.state.metering.billed_total() == Decimal("1.75") * 30
    assert {r.key: r.metering_record_id for r in billed if r.key in first_ids} == first_ids
    rows = MeterStore(spark, "acme").rows()
    assert {r["state"] for r in rows} == {"sent"}
    assert {r["metering_record_id"] for r in rows} == {r.metering_record_id for r in billed}


def test_a_lost_response_is_retried_as_the_identical_request_and_billed_once(mp, spark, lake):
    mp.sandbox.script("BatchMeterUsage", "drop_after")  # processed, then the connection dies unanswered
    result = runner(mp, spark, usage(hours=2)).run("acme")
    assert result.sent == 6 and mp.sandbox.count("BatchMeterUsage", outcome="dropped") == 1
    assert len(mp.state.metering.billed()) == 6


def test_customer_not_subscribed_lands_in_the_dead_letter_table_with_its_reason(mp, spark, lake):
    mp.state.commerce.update(mp.buyer("globex")["agreement_id"], status="CANCELLED")
    result = runner(mp, spark, usage("globex", hours=1, dims=("api_calls",)), tenants=("globex",)).run(
        "globex"
    )
    assert (result.sent, result.dead_lettered) == (0, 1)
    (row,) = MeterStore(spark, "globex").rows()
    assert (row["state"], row["status"]) == ("dead_lettered", "CustomerNotSubscribed")
    (dead,) = MeterStore(spark, "globex").deadletters()
    assert dead["reason_code"] == "CustomerNotSubscribed"
    assert "no active subscription" in dead["reason"]
    assert (dead["dimension"], dead["usage_hour"], dead["quantity"]) == (
        "api_calls",
        HOUR - timedelta(hours=2),
        Decimal("1.750000"),
    )
    assert mp.state.metering.billed() == []


def test_a_changed_quantity_for_a_sent_hour_is_never_sent_as_a_new_record(mp, spark, lake):
    runner(mp, spark, usage(hours=1)).run("acme")
    sent_rows = MeterStore(spark, "acme").rows()
    mp.sandbox.reset_calls()
    late = usage(hours=1)
    late.add(
        UsageRow("acme", "ws-a", "api_calls", HOUR - timedelta(hours=2, minutes=-50), Decimal(2), "late")
    )
    result = runner(mp, spark, late, now=NOW + timedelta(minutes=40)).run("acme")
    assert mp.sandbox.count("BatchMeterUsage") == 0
    assert result.dead_lettered == 1
    (dead,) = MeterStore(spark, "acme").deadletters()
    assert dead["reason_code"] == "QuantityChangedAfterSend"
    assert "changed from 1.75 to 3.75" in dead["reason"]
    assert MeterStore(spark, "acme").rows() == sent_rows
    assert mp.state.metering.billed_total() == Decimal("1.75") * 3
    before = versions()
    again = runner(mp, spark, late, now=NOW + timedelta(minutes=50)).run("acme")
    assert again.status == "nothing_to_do" and versions() == before  # the dead letter is not repeated


def test_a_duplicate_record_reported_by_marketplace_is_dead_lettered(mp, spark, lake):
    b = mp.buyer("acme")
    mp.client("metering").batch_meter_usage(
        UsageRecords=[
            {  # someone else billed this hour with another quantity
                "Timestamp": HOUR - timedelta(hours=2),
                "Dimension": "api_calls",
                "QuantityAsDecimal": "9",
                "CustomerAWSAccountId": b["customer_aws_account_id"],
                "LicenseArn": b["license_arn"],
            }
        ]
    )
    result = runner(mp, spark, usage(hours=1, dims=("api_calls",))).run("acme")
    assert (result.sent, result.dead_lettered) == (0, 1)
    (dead,) = MeterStore(spark, "acme").deadletters()
    assert dead["reason_code"] == "DuplicateRecord"
    assert mp.state.metering.billed_total() == 9


def test_usage_outside_the_accepted_window_is_dead_lettered_without_a_call(mp, spark, lake):
    source = usage(hours=1, dims=("api_calls",), first=30)  # 30 hours old
    result = runner(mp, spark, source).run("acme", hours=[HOUR - timedelta(hours=30)])
    assert mp.sandbox.count("BatchMeterUsage") == 0
    assert [d["reason_code"] for d in MeterStore(spark, "acme").deadletters()] == ["OutsideAcceptedWindow"]
    assert result.dead_lettered == 1 and MeterStore(spark, "acme").rows() == []


def test_unprocessed_records_and_throttling_are_retried(mp, spark, lake):
    mp.state.metering.unprocessed_script = [4]
    mp.sandbox.script("BatchMeterUsage", "ThrottlingException", "ThrottlingException")
    result = runner(mp, spark, usage(hours=3)).run("acme")
    assert result.sent == 9 and result.status == "succeeded"
    assert mp.sandbox.count("BatchMeterUsage", outcome="ThrottlingException") == 2
    assert batch_sizes(mp) == [9, 4]  # the retry re-sends only the unprocessed records
    assert len(mp.state.metering.billed()) == 9


def test_records_still_unprocessed_stay_pending_and_the_next_run_sends_them(mp, spark, lake):
    mp.sandbox.script("BatchMeterUsage", *["ThrottlingException"] * 3)
    first = runner(mp, spark, usage(hours=1), sender=mp.sender(max_attempts=3)).run("acme")
    assert first.status == "incomplete" and first.still_pending == 3
    assert {r["state"] for r in MeterStore(spark, "acme").rows()} == {"pending"}
    second = runner(mp, spark, usage(hours=1), now=NOW + timedelta(minutes=10)).run("acme")
    assert (second.sent, second.status) == (3, "succeeded")
    assert len(mp.state.metering.billed()) == 3


def test_a_refused_batch_is_split_until_the_bad_record_is_alone(mp, spark, lake):
    source = usage(hours=2, dims=("api_calls", "pipeline_hours"))
    source.add(UsageRow("acme", "ws-a", "gpu_hours", HOUR - timedelta(hours=3), Decimal(1), "r"))
    result = runner(mp, spark, source).run("acme")
    assert result.sent == 4
    (dead,) = MeterStore(spark, "acme").deadletters()
    assert (dead["reason_code"], dead["dimension"]) == ("InvalidUsageDimensionException", "gpu_hours")
    assert mp.sandbox.count("BatchMeterUsage", outcome="InvalidUsageDimensionException") >= 2


def test_a_known_bad_dimension_is_dead_lettered_before_sending(mp, spark, lake):
    source = usage(hours=1, dims=("api_calls", "gpu_hours"))
    config = MeteringConfig(dimensions=frozenset({"api_calls", "pipeline_hours", "rows_ingested"}))
    result = runner(mp, spark, source, config=config).run("acme")
    assert result.sent == 1 and batch_sizes(mp) == [1]
    assert [d["reason_code"] for d in MeterStore(spark, "acme").deadletters()] == ["InvalidUsageDimension"]


def test_zero_usage_policy(mp, spark, lake):
    config = MeteringConfig(dimensions=frozenset({"api_calls"}), zero_usage=ZeroUsagePolicy.send)
    hours = [HOUR - timedelta(hours=3), HOUR - timedelta(hours=2)]
    runner(mp, spark, usage(hours=1, dims=("api_calls",)), config=config).run("acme", hours=hours)
    billed = {(r.usage_hour, r.quantity) for r in mp.state.metering.billed()}
    assert billed == {(HOUR - timedelta(hours=3), Decimal(0)), (HOUR - timedelta(hours=2), Decimal("1.75"))}
    skip = MeteringConfig(dimensions=frozenset({"pipeline_hours"}))
    result = runner(mp, spark, MemoryUsageSource(), config=skip).run("acme", hours=hours)
    assert result.status == "nothing_to_do" and len(mp.state.metering.billed()) == 2


def test_usage_of_a_tenant_without_a_linked_buyer_is_dead_lettered(mp, spark, lake):
    result = runner(mp, spark, usage("initech", hours=1, dims=("api_calls",)), tenants=()).run("initech")
    assert result.dead_lettered == 1 and mp.sandbox.count("BatchMeterUsage") == 0
    assert [d["reason_code"] for d in MeterStore(spark, "initech").deadletters()] == ["NoLinkedBuyer"]


def test_a_pending_record_is_resent_up_to_the_edge_of_the_window_but_new_usage_keeps_a_margin(
    mp, spark, lake
):
    def crash(chunk, outcome):
        raise Crash()

    with pytest.raises(Crash):
        runner(mp, spark, usage(hours=1, dims=("api_calls",)), after_send=crash).run("acme")
    later = HOUR - timedelta(hours=2) + timedelta(hours=23, minutes=40)  # the usage hour is 23h40m old
    mp.clock.set(later)
    source = usage(hours=1, dims=("api_calls", "rows_ingested"))
    result = runner(mp, spark, source, now=later).run("acme", hours=[HOUR - timedelta(hours=2)])
    assert result.sent == 1 and len(mp.state.metering.billed()) == 1
    assert [d["reason_code"] for d in MeterStore(spark, "acme").deadletters()] == ["OutsideAcceptedWindow"]
    assert {r["dimension"]: r["state"] for r in MeterStore(spark, "acme").rows()} == {"api_calls": "sent"}
