"""Lake persistence of the metering state machine: ``silver.meter_usage`` and its dead-letter table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.marketplace.entities import METER_USAGE, METER_USAGE_DEADLETTER
from lakehouse.tenancy import TenantScope


def from_spark_ts(value: datetime | None) -> datetime | None:
    """A timestamp collected from Spark (naive, in the process's local time) as an aware UTC datetime."""
    if value is None:
        return None
    return value.astimezone(UTC)


def _plain_row(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = row.asDict(recursive=True)
    for key in ("usage_hour", "created_at", "sent_at", "updated_at", "dead_lettered_at"):
        if key in data:
            data[key] = from_spark_ts(data[key])
    return data


class MeterStore:
    """One tenant's metering rows: load the recent/pending ones, upsert changes, add dead letters."""

    def __init__(self, spark: Any, tenant_id: str) -> None:
        self.spark = spark
        self.scope = TenantScope.for_tenant(tenant_id)
        self.tenant_id = tenant_id

    def load(self, *, since: datetime) -> dict[str, dict[str, Any]]:
        """Rows for usage hours from ``since`` (minus a day) on, plus every row still pending, by record key."""
        if not io.exists(METER_USAGE):
            return {}
        df = io.read(self.spark, METER_USAGE, self.scope)
        cutoff = (since - timedelta(days=1)).astimezone(UTC)
        df = df.where((F.col("usage_hour") >= F.lit(cutoff)) | (F.col("state") == F.lit("pending")))
        return {row["record_key"]: _plain_row(row) for row in df.collect()}

    def rows(self) -> list[dict[str, Any]]:
        """Every metering row of the tenant (tests, status output)."""
        if not io.exists(METER_USAGE):
            return []
        return [_plain_row(r) for r in io.read(self.spark, METER_USAGE, self.scope).collect()]

    def deadletter_ids(self) -> set[str]:
        if not io.exists(METER_USAGE_DEADLETTER):
            return set()
        df = io.read(self.spark, METER_USAGE_DEADLETTER, self.scope).select("deadletter_id")
        return {r["deadletter_id"] for r in df.collect()}

    def deadletters(self) -> list[dict[str, Any]]:
        if not io.exists(METER_USAGE_DEADLETTER):
            return []
        return [_plain_row(r) for r in io.read(self.spark, METER_USAGE_DEADLETTER, self.scope).collect()]

    def upsert(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Merge rows into silver.meter_usage on the record key; returns how many were written."""
        data = [_ordered(METER_USAGE.schema.fieldNames(), r) for r in rows]
        if not data:
            return 0
        io.merge(self.spark, METER_USAGE, self.spark.createDataFrame(data, METER_USAGE.schema), self.scope)
        return len(data)

    def add_deadletters(self, rows: Iterable[Mapping[str, Any]]) -> int:
        data = [_ordered(METER_USAGE_DEADLETTER.schema.fieldNames(), r) for r in rows]
        if not data:
            return 0
        io.merge(
            self.spark,
            METER_USAGE_DEADLETTER,
            self.spark.createDataFrame(data, METER_USAGE_DEADLETTER.schema),
            self.scope,
        )
        return len(data)


def _ordered(columns: list[str], row: Mapping[str, Any]) -> tuple[Any, ...]:
    out = []
    for column in columns:
        value = row.get(column)
        if column in ("quantity", "unit_price") and value is not None:
            value = Decimal(value)
        if column == "allocations" and value is not None:
            value = [(a["workspace_id"], Decimal(a["quantity"])) for a in value]
        out.append(value)
    return tuple(out)
