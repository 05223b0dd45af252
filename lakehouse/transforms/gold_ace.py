"""Silver -> gold ACE marts (definitions in lakehouse.entities.ace_gold, which states each grain)."""
from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.entities import ace_gold as gold
from lakehouse.entities.partner_central_silver import AMOUNT, CLOSED_STAGES, LOST_STAGE, WON_STAGE

USD = "USD"
MONTHLY = "Monthly"
ACTION_REQUIRED = "Action Required"


def _count_if(condition: Column) -> Column:
    return F.sum(F.when(condition, F.lit(1)).otherwise(F.lit(0))).cast("long")


def ace_pipeline(opportunity: DataFrame, spend: DataFrame) -> DataFrame:
    """gold.ace_pipeline: count and USD monthly expected spend per tenant x stage x target_close_month."""
    usd_monthly = (
        spend.where((F.col("currency_code") == F.lit(USD)) & (F.col("frequency") == F.lit(MONTHLY)))
        .groupBy("tenant_id", "opportunity_id")
        .agg(F.sum("amount").alias("_usd"))
    )
    per_opp = opportunity.select(
        "tenant_id",
        "opportunity_id",
        "stage",
        F.date_format("target_close_date", "yyyy-MM").alias("target_close_month"),
    ).join(usd_monthly, on=["tenant_id", "opportunity_id"], how="left")
    out = per_opp.groupBy("tenant_id", "stage", "target_close_month").agg(
        F.count(F.lit(1)).cast("long").alias("opportunity_count"),
        F.coalesce(F.sum("_usd"), F.lit(0)).cast(AMOUNT).alias("expected_monthly_spend_usd"),
    )
    return out.select(*gold.ACE_PIPELINE.schema.fieldNames())


def ace_win_rate(opportunity: DataFrame) -> DataFrame:
    """gold.ace_win_rate: won (Launched), lost (Closed Lost), open (everything else) and won / (won + lost)."""
    stage = F.col("stage")
    out = opportunity.groupBy("tenant_id").agg(
        _count_if(stage == F.lit(WON_STAGE)).alias("won_count"),
        _count_if(stage == F.lit(LOST_STAGE)).alias("lost_count"),
        _count_if(stage.isNull() | ~stage.isin(*CLOSED_STAGES)).alias("open_count"),
    )
    closed = F.col("won_count") + F.col("lost_count")
    return out.select(
        "tenant_id",
        "won_count",
        "lost_count",
        "open_count",
        F.when(closed > 0, F.col("won_count").cast("double") / closed.cast("double")).alias("win_rate"),
    )


def ace_pipeline_health(opportunity: DataFrame, *, as_of: date) -> DataFrame:
    """gold.ace_pipeline_health: per review status, how many opportunities are stale or need action."""
    as_of_col = F.lit(as_of).cast("date")
    stage = F.col("stage")
    open_stage = stage.isNull() | ~stage.isin(*CLOSED_STAGES)
    stale = (F.col("target_close_date") < as_of_col) & open_stage
    out = opportunity.groupBy("tenant_id", "review_status").agg(
        F.count(F.lit(1)).cast("long").alias("opportunity_count"),
        _count_if(F.coalesce(stale, F.lit(False))).alias("stale_count"),
        _count_if(F.coalesce(F.col("review_status") == F.lit(ACTION_REQUIRED), F.lit(False))).alias(
            "action_required_count"
        ),
    )
    return out.select(
        "tenant_id", "review_status", "opportunity_count", "stale_count", "action_required_count",
        as_of_col.alias("as_of_date"),
    )
