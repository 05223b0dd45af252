"""Operational tables written by the I/O layer itself."""

from __future__ import annotations

from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from lakehouse.catalog import TableDef, register

WRITE_BATCH = register(
    TableDef(
        layer="ops",
        name="write_batch",
        schema=StructType(
            [
                StructField("tenant_id", StringType()),
                StructField("table_name", StringType()),
                StructField("batch_id", StringType()),
                StructField("state", StringType()),  # pending | committed
                StructField("base_version", LongType()),
                StructField("version", LongType()),
                StructField("rows", LongType()),
                StructField("recorded_at", TimestampType()),
            ]
        ),
        keys=("tenant_id", "table_name", "batch_id", "state"),
        grain="one row per batch write attempt state (pending before the commit, committed after it)",
        classification={
            "tenant_id": "internal",
            "table_name": "internal",
            "batch_id": "internal",
            "state": "internal",
            "base_version": "internal",
            "version": "internal",
            "rows": "internal",
            "recorded_at": "internal",
        },
        description="Ledger that makes batch writes idempotent (Sail ignores Delta's txnAppId/txnVersion).",
    )
)
