"""Table declarations shared by the integration tests and the processes they start."""

from __future__ import annotations

from pyspark.sql.types import DecimalType, LongType, StringType, StructField, StructType

from lakehouse.catalog import TableDef, register

EVENTS = register(
    TableDef(
        layer="silver",
        name="it_event",
        schema=StructType(
            [
                StructField("tenant_id", StringType()),
                StructField("event_id", LongType()),
                StructField("amount", DecimalType(18, 2)),
                StructField("note", StringType()),
            ]
        ),
        keys=("tenant_id", "event_id"),
        grain="one row per tenant and event",
        classification={
            "tenant_id": "internal",
            "event_id": "internal",
            "amount": "confidential",
            "note": "internal",
        },
    )
)
