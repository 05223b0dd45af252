"""Operational tables of the core: the batch ledger io writes, and what quality gates, lineage and step
watermarks record. Append-only facts that jobs produce in bulk, tenant-partitioned like every lake table."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.catalog import TableDef, declare, register

_S, _L, _TS = StringType(), LongType(), TimestampType()

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

DQ_ISSUE = declare(
    "ops",
    "dq_issue",
    [
        ("tenant_id", _S, "internal"),
        ("run_id", _S, "internal"),
        ("table_name", _S, "internal"),
        ("suite", _S, "internal"),
        ("expectation", _S, "internal"),
        ("expectation_type", _S, "internal"),
        ("column_name", _S, "internal"),
        ("action", _S, "internal"),
        ("unexpected_count", _L, "internal"),
        ("element_count", _L, "internal"),
        ("sample_keys", ArrayType(_S), "internal"),
        ("observed_at", _TS, "internal"),
        ("severity", _S, "internal"),
        ("details", _S, "internal"),
    ],
    keys=("tenant_id", "run_id", "table_name", "expectation"),
    grain="one row per violated expectation or detected anomaly per table per run (a DataQualityIssue)",
    description="What a quality gate found (the action taken: warn / quarantine / fail, how many rows were "
    "unexpected, up to 20 sample keys) and what anomaly detection found (suite 'anomaly': volume, freshness or "
    "distribution drift, the evidence as JSON in details). severity: warning | critical.",
)

DQ_PROFILE = declare(
    "ops",
    "dq_profile",
    [
        ("tenant_id", _S, "internal"),
        ("run_id", _S, "internal"),
        ("table_name", _S, "internal"),
        ("table_version", _L, "internal"),
        ("profiled_at", _TS, "internal"),
        ("row_count", _L, "internal"),
        ("rows_written", _L, "internal"),
        ("column_name", _S, "internal"),
        ("data_type", _S, "internal"),
        ("null_count", _L, "internal"),
        ("null_rate", DoubleType(), "internal"),
        ("distinct_count", _L, "internal"),
        ("distinct_rate", DoubleType(), "internal"),
        # min/max/top values are values of the profiled column: as sensitive as that column can be
        ("min_value", _S, "confidential"),
        ("max_value", _S, "confidential"),
        ("quantiles", ArrayType(DoubleType()), "confidential"),
        (
            "top_values",
            ArrayType(StructType([StructField("value", _S), StructField("count", _L)])),
            "confidential",
        ),
    ],
    keys=("tenant_id", "run_id", "table_name", "column_name"),
    grain="one row per column per table per run that wrote the table",
    description="Table profiles for anomaly detection: row count and rows the run wrote; per column null and "
    "distinct rates (distinct is approximate, HyperLogLog), min/max, quantiles at "
    "lakehouse.quality.anomaly.QUANTILE_PROBS (numeric) and up to 20 top values (low-cardinality categoricals).",
)

DQ_RESULT = declare(
    "ops",
    "dq_result",
    [
        ("tenant_id", _S, "internal"),
        ("run_id", _S, "internal"),
        ("table_name", _S, "internal"),
        ("suite", _S, "internal"),
        ("expectation", _S, "internal"),
        ("expectation_type", _S, "internal"),
        ("column_name", _S, "internal"),
        ("action", _S, "internal"),
        ("success", BooleanType(), "internal"),
        ("element_count", _L, "internal"),
        ("unexpected_count", _L, "internal"),
        ("result_json", _S, "internal"),
        ("validated_at", _TS, "internal"),
    ],
    keys=("tenant_id", "run_id", "table_name", "expectation"),
    grain="one row per evaluated expectation per table per run, passed or not",
    description="Great Expectations validation results kept for the dashboards (result_json is GX's result).",
)

LINEAGE_EDGE = declare(
    "ops",
    "lineage_edge",
    [
        ("tenant_id", _S, "internal"),
        ("run_id", _S, "internal"),
        ("job_name", _S, "internal"),
        ("input_table", _S, "internal"),
        ("input_version", _L, "internal"),
        ("output_table", _S, "internal"),
        ("output_version", _L, "internal"),
        ("recorded_at", _TS, "internal"),
    ],
    keys=("tenant_id", "run_id", "input_table", "output_table"),
    grain="one row per (input table@version -> output table@version) of one job run",
    description="Table-level lineage of each job run; OpenLineage run events carry the same edges.",
)

PIPELINE_WATERMARK = declare(
    "ops",
    "pipeline_watermark",
    [
        ("tenant_id", _S, "internal"),
        ("pipeline", _S, "internal"),
        ("source_table", _S, "internal"),
        ("high_ingested_at", _TS, "internal"),
        ("run_ids_at_high", ArrayType(_S), "internal"),
        ("source_version", _L, "internal"),
        ("as_of_date", DateType(), "internal"),
        ("updated_run_id", _S, "internal"),
        ("updated_at", _TS, "internal"),
    ],
    keys=("tenant_id", "pipeline", "source_table"),
    grain="one row per tenant x pipeline step x source table",
    description="How far a step has processed a source: for bronze sources the highest ingested_at and the "
    "ingestion runs seen at it; for silver sources (gold step) the source table version and run date.",
)

OPS_TABLES: tuple[TableDef, ...] = (
    WRITE_BATCH,
    DQ_ISSUE,
    DQ_RESULT,
    DQ_PROFILE,
    LINEAGE_EDGE,
    PIPELINE_WATERMARK,
)
