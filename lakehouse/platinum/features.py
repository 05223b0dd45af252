"""Point-in-time opportunity features at weekly snapshots, from silver's version history.

Silver keeps one current row per opportunity; its earlier versions live in the Delta log. ``version_history``
reads every silver version and keeps each distinct (opportunity, last_modified_at) once, with that version's
expected monthly USD spend. A snapshot at date W (a Monday, 00:00 UTC) sees, per opportunity, the latest
version with ``last_modified_at < W`` and nothing later: an opportunity the lake had not seen by W is not in
the snapshot, and a change after W cannot alter W's features (tested). Only the labels (``outcome``,
``closed_at``) come from the current row, and the models never use them as inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.partner_central.entities import silver
from lakehouse.tenancy import TenantScope

HISTORY_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "opportunity_id",
    "created_at",
    "last_modified_at",
    "stage",
    "target_close_date",
    "customer_industry",
    "opportunity_type",
    "project_delivery_models",
    "related_solution_ids",
    "related_aws_product_ids",
    "primary_needs_from_aws",
)
FEATURE_COLUMNS: tuple[str, ...] = (
    "stage",
    "stage_index",
    "age_days",
    "days_since_modified",
    "days_to_target_close",
    "customer_industry",
    "opportunity_type",
    "delivery_model_count",
    "solution_count",
    "aws_product_count",
    "needs_count",
    "expected_monthly_spend_usd",
)
OPEN_STAGES: tuple[str, ...] = tuple(s for s in silver.STAGES if s not in silver.CLOSED_STAGES)


def weekly_snapshots(start: date, end: date) -> list[date]:
    """Mondays from the first Monday on or after ``start`` up to ``end`` inclusive."""
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    return [first + timedelta(weeks=i) for i in range(max(0, (end - first).days // 7 + 1))]


def monthly_usd(spend: DataFrame) -> DataFrame:
    """(tenant_id, opportunity_id, last_modified_at, expected_monthly_spend_usd) from opportunity_spend rows."""
    usd_monthly = (F.col("currency_code") == "USD") & (F.col("frequency") == "Monthly")
    return spend.groupBy("tenant_id", "opportunity_id", "last_modified_at").agg(
        F.sum(F.when(usd_monthly, F.col("amount")).otherwise(F.lit(0)))
        .cast("double")
        .alias("expected_monthly_spend_usd")
    )


def version_history(spark: SparkSession, scope: TenantScope) -> DataFrame:
    """Every distinct version of the scope's silver opportunities that the Delta log still holds, with its
    spend (versions pruned by VACUUM are gone: run features before vacuuming silver)."""
    versions = (
        [int(h["version"]) for h in io.history(silver.OPPORTUNITY)] if io.exists(silver.OPPORTUNITY) else []
    )
    if not versions:
        return _with_spend(io.read(spark, silver.OPPORTUNITY, scope).select(*HISTORY_COLUMNS), None)
    spend_versions = (
        [int(h["version"]) for h in io.history(silver.OPPORTUNITY_SPEND)]
        if io.exists(silver.OPPORTUNITY_SPEND)
        else []
    )
    opp = _union(
        [io.read(spark, silver.OPPORTUNITY, scope, version=v).select(*HISTORY_COLUMNS) for v in versions]
    )
    spend = (
        _union(
            [
                io.read(spark, silver.OPPORTUNITY_SPEND, scope, version=v).select(
                    "tenant_id",
                    "opportunity_id",
                    "spend_index",
                    "last_modified_at",
                    "amount",
                    "currency_code",
                    "frequency",
                )
                for v in spend_versions
            ]
        ).dropDuplicates(["tenant_id", "opportunity_id", "last_modified_at", "spend_index"])
        if spend_versions
        else None
    )
    return _with_spend(opp.dropDuplicates(["tenant_id", "opportunity_id", "last_modified_at"]), spend)


def _with_spend(history: DataFrame, spend: DataFrame | None) -> DataFrame:
    if spend is None:
        return history.withColumn("expected_monthly_spend_usd", F.lit(None).cast("double"))
    keys = ["tenant_id", "opportunity_id", "last_modified_at"]
    return history.join(monthly_usd(spend), keys, "left")


def _union(frames: Sequence[DataFrame]) -> DataFrame:
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def _size(column: str) -> Column:
    """Length of an array column, 0 when null."""
    return F.coalesce(F.size(column), F.lit(0)).cast("int")


def labels(current: DataFrame) -> DataFrame:
    """(tenant_id, opportunity_id, outcome, closed_at) from current silver rows: won/lost once closed."""
    outcome = F.when(F.col("stage") == silver.WON_STAGE, "won").when(
        F.col("stage") == silver.LOST_STAGE, "lost"
    )
    return current.select(
        "tenant_id",
        "opportunity_id",
        outcome.alias("outcome"),
        F.when(outcome.isNotNull(), F.col("last_modified_at")).alias("closed_at"),
    )


def point_in_time_features(
    history: DataFrame, current_labels: DataFrame, snapshots: Sequence[date]
) -> DataFrame:
    """One row per (opportunity, snapshot) for opportunities open at the snapshot, as known at its start."""
    spark = history.sparkSession
    weeks = spark.createDataFrame([(d,) for d in snapshots], "snapshot_date date").withColumn(
        "_at", F.to_timestamp(F.col("snapshot_date"))
    )
    seen = history.join(F.broadcast(weeks), F.col("last_modified_at") < F.col("_at"))
    latest = Window.partitionBy("tenant_id", "opportunity_id", "snapshot_date").orderBy(
        F.desc("last_modified_at")
    )
    known = seen.withColumn("_rank", F.row_number().over(latest)).where(F.col("_rank") == 1)
    stage_index = F.array_position(F.array(*[F.lit(s) for s in silver.STAGES]), F.col("stage")).cast("int")
    features = known.where(F.col("stage").isNull() | F.col("stage").isin(*OPEN_STAGES)).select(
        "tenant_id",
        "opportunity_id",
        "snapshot_date",
        "stage",
        F.when(stage_index > 0, stage_index).alias("stage_index"),
        F.greatest(F.datediff("snapshot_date", F.to_date("created_at")), F.lit(0))
        .cast("int")
        .alias("age_days"),
        F.datediff("snapshot_date", F.to_date("last_modified_at")).cast("int").alias("days_since_modified"),
        F.datediff("target_close_date", "snapshot_date").cast("int").alias("days_to_target_close"),
        "customer_industry",
        "opportunity_type",
        _size("project_delivery_models").alias("delivery_model_count"),
        _size("related_solution_ids").alias("solution_count"),
        _size("related_aws_product_ids").alias("aws_product_count"),
        _size("primary_needs_from_aws").alias("needs_count"),
        "expected_monthly_spend_usd",
    )
    return features.join(current_labels, ["tenant_id", "opportunity_id"], "left")
