"""Pure metering rules: aggregation, timestamps, the window, batching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lakehouse.errors import BadInput
from lakehouse.marketplace.interfaces import Buyer, UsageRow
from lakehouse.marketplace.metering import (
    MeteringConfig,
    aggregate_usage,
    batches,
    decimal_text,
    due_hours,
    in_window,
    record_key,
    usage_record,
)

BUYER = Buyer("acme", "P1", "210000000001", "arn:aws:license-manager::1:license:l-1")


def test_aggregation_is_per_dimension_and_hour_and_allocations_sum_to_the_record():
    rows = [
        UsageRow("acme", "ws-a", "api", datetime(2026, 3, 10, 10, 5, tzinfo=UTC), Decimal("0.3333333"), "r1"),
        UsageRow(
            "acme", "ws-a", "api", datetime(2026, 3, 10, 10, 55, tzinfo=UTC), Decimal("0.3333333"), "r2"
        ),
        UsageRow(
            "acme", "ws-b", "api", datetime(2026, 3, 10, 10, 30, tzinfo=UTC), Decimal("0.0000005"), "r3"
        ),
        UsageRow("acme", None, "api", datetime(2026, 3, 10, 11, 0, tzinfo=UTC), Decimal(2), None),
    ]
    ten, eleven = aggregate_usage(rows, tenant_id="acme")
    assert ten.usage_hour == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert ten.allocations == (("ws-a", Decimal("0.666667")), ("ws-b", Decimal("0.000001")))
    assert ten.quantity == Decimal("0.666668") == sum(q for _, q in ten.allocations)
    assert ten.run_ids == ("r1", "r2", "r3")
    assert (eleven.quantity, eleven.allocations) == (Decimal("2.000000"), ())
    with pytest.raises(BadInput, match="usage row of tenant 'globex'"):
        aggregate_usage(
            [UsageRow("globex", None, "api", datetime(2026, 3, 10, tzinfo=UTC), Decimal(1))], tenant_id="acme"
        )


def test_the_record_is_stamped_with_the_hour_start_and_keyed_by_hour():
    (usage,) = aggregate_usage(
        [UsageRow("acme", "ws-a", "api", datetime(2026, 3, 10, 10, 59, tzinfo=UTC), Decimal("12.50"))],
        tenant_id="acme",
    )
    record = usage_record(BUYER, usage, identify_by="license", workspace_tag="workspace")
    assert record == {
        "Timestamp": "2026-03-10T10:00:00Z",
        "Dimension": "api",
        "QuantityAsDecimal": "12.5",
        "CustomerAWSAccountId": "210000000001",
        "LicenseArn": BUYER.license_arn,
        "UsageAllocations": [
            {"AllocatedUsageQuantityAsDecimal": "12.5", "Tags": [{"Key": "workspace", "Value": "ws-a"}]}
        ],
    }
    same_hour = record_key(BUYER, "license", "api", datetime(2026, 3, 10, 10, tzinfo=UTC))
    assert same_hour == record_key(BUYER, "license", "api", datetime(2026, 3, 10, 10, tzinfo=UTC))
    assert same_hour != record_key(BUYER, "license", "api", datetime(2026, 3, 10, 11, tzinfo=UTC))
    assert [decimal_text(Decimal(x)) for x in ("0", "10", "0.000001", "1.500000")] == [
        "0",
        "10",
        "0.000001",
        "1.5",
    ]


def test_the_window_keeps_a_safety_margin_and_the_month_end_grace():
    config = MeteringConfig()
    now = datetime(2026, 3, 10, 12, 20, tzinfo=UTC)
    assert in_window(datetime(2026, 3, 9, 13, tzinfo=UTC), now, config)
    assert not in_window(datetime(2026, 3, 9, 12, tzinfo=UTC), now, config)  # 24h20m old
    assert not in_window(
        datetime(2026, 3, 9, 12, 30, tzinfo=UTC) + timedelta(minutes=30), now + timedelta(minutes=15), config
    )  # 23h35m old: inside AWS's window but not the safety margin
    april_first = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)
    assert in_window(datetime(2026, 3, 31, 23, tzinfo=UTC), april_first, config)
    assert not in_window(datetime(2026, 3, 31, 23, tzinfo=UTC), april_first + timedelta(minutes=40), config)


def test_due_hours_are_the_closed_settled_hours_inside_the_window():
    hours = due_hours(datetime(2026, 3, 10, 12, 5, tzinfo=UTC), MeteringConfig())
    assert hours[-1] == datetime(2026, 3, 10, 10, tzinfo=UTC)  # 11:00-12:00 hasn't settled 10 minutes yet
    assert hours[0] == datetime(2026, 3, 9, 13, tzinfo=UTC)
    assert len(hours) == 22


def test_batches_hold_one_product_and_at_most_25_records():
    def row(product: str, n: int) -> dict:
        return {
            "product_code": product,
            "usage_hour": datetime(2026, 3, 10, n % 24, tzinfo=UTC),
            "dimension": f"d{n}",
            "record_key": f"{product}{n:03d}",
        }

    rows = [row("P1", n) for n in range(30)] + [row("P2", n) for n in range(3)]
    assert [(p, len(chunk)) for p, chunk in batches(rows)] == [("P1", 25), ("P1", 5), ("P2", 3)]
    with pytest.raises(BadInput, match="batch_size"):
        MeteringConfig(batch_size=26)


def test_an_hour_that_has_not_closed_and_settled_cannot_be_metered():
    from lakehouse.marketplace.interfaces import MemoryBuyerDirectory, MemoryUsageSource
    from lakehouse.marketplace.metering import MeteringRun

    now = datetime(2026, 3, 10, 12, 5, tzinfo=UTC)
    run = MeteringRun(
        None, usage=MemoryUsageSource(), buyers=MemoryBuyerDirectory(), sender=None, clock=lambda: now
    )
    with pytest.raises(
        BadInput,
        match=r"usage hour 2026-03-10T11:00:00Z has not closed and settled yet .* from "
        "2026-03-10T12:10:00Z on",
    ):
        run.run("acme", hours=[datetime(2026, 3, 10, 11, 30, tzinfo=UTC)])
