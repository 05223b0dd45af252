"""Silver -> gold ACE marts (definitions in lakehouse.partner_central.entities.gold, which states each grain)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.partner_central.entities import gold
from lakehouse.partner_central.entities.gold import SPEND_SUM
from lakehouse.partner_central.entities.silver import (
    AMOUNT,
    CLOSED_STAGES,
    FILE_CLUSTER,
    LOST_STAGE,
    WON_STAGE,
)

USD = "USD"
MONTHLY = "Monthly"
ACTION_REQUIRED = "Action Required"


def ace_facts(
    opportunity: DataFrame, spend: DataFrame | None = None, *, as_of: date | None = None
) -> DataFrame:
    """gold.ace_facts: the finest grain the three marts need, in one pass over silver: per tenant x file_cluster x
    stage x target_close_month x review_status x stale, the opportunity count and the sum of their USD monthly
    expected spend (null when none of them has such an entry). ``stale`` (target close date before ``as_of``,
    stage open) is null without ``as_of``, which is kept in ``as_of_date``. Without ``spend`` the spend is null;
    without a file_cluster column (frames not read from silver) the cluster is null."""
    stage = F.col("stage")
    open_stage = stage.isNull() | ~stage.isin(*CLOSED_STAGES)
    as_of_col = F.lit(as_of).cast("date") if as_of is not None else F.lit(None).cast("date")
    cluster = F.col(FILE_CLUSTER) if FILE_CLUSTER in opportunity.columns else F.lit(None).cast("string")
    per_opp = opportunity.select(
        "tenant_id",
        cluster.alias(FILE_CLUSTER),
        "catalog",
        "opportunity_id",
        "stage",
        F.date_format("target_close_date", "yyyy-MM").alias("target_close_month"),
        "review_status",
        F.coalesce((F.col("target_close_date") < as_of_col) & open_stage, F.lit(False)).alias("stale")
        if as_of is not None
        else F.lit(None).cast("boolean").alias("stale"),
    )
    if spend is not None:
        usd_monthly = (
            spend.where((F.col("currency_code") == F.lit(USD)) & (F.col("frequency") == F.lit(MONTHLY)))
            .groupBy("tenant_id", "catalog", "opportunity_id")
            .agg(F.sum("amount").alias("_usd"))
        )
        per_opp = per_opp.join(usd_monthly, on=["tenant_id", "catalog", "opportunity_id"], how="left")
    else:
        per_opp = per_opp.withColumn("_usd", F.lit(None).cast(AMOUNT))
    out = (
        per_opp.groupBy("tenant_id", FILE_CLUSTER, "stage", "target_close_month", "review_status", "stale")
        .agg(
            F.count(F.lit(1)).cast("long").alias("opportunity_count"),
            F.sum("_usd").cast(SPEND_SUM).alias("usd_monthly_spend"),
        )
        .withColumn("as_of_date", as_of_col)
    )
    return out.select(*gold.ACE_FACTS.schema.fieldNames())


def ace_pipeline(opportunity: DataFrame, spend: DataFrame) -> DataFrame:
    """gold.ace_pipeline: count and USD monthly expected spend per tenant x stage x target_close_month."""
    return pipeline_from_facts(ace_facts(opportunity, spend))


def ace_win_rate(opportunity: DataFrame) -> DataFrame:
    """gold.ace_win_rate: won (Launched), lost (Closed Lost), open (everything else) and won / (won + lost)."""
    return win_rate_from_facts(ace_facts(opportunity))


def ace_pipeline_health(opportunity: DataFrame, *, as_of: date) -> DataFrame:
    """gold.ace_pipeline_health: per review status, how many opportunities are stale or need action."""
    return health_from_facts(ace_facts(opportunity, as_of=as_of))


def pipeline_from_facts(facts: DataFrame) -> DataFrame:
    """gold.ace_pipeline from ``ace_facts`` (with spend)."""
    out = facts.groupBy("tenant_id", "stage", "target_close_month").agg(
        F.sum("opportunity_count").cast("long").alias("opportunity_count"),
        F.coalesce(F.sum("usd_monthly_spend"), F.lit(0)).cast(AMOUNT).alias("expected_monthly_spend_usd"),
    )
    return out.select(*gold.ACE_PIPELINE.schema.fieldNames())


def _sum_if(condition: Column) -> Column:
    return F.sum(F.when(condition, F.col("opportunity_count")).otherwise(F.lit(0))).cast("long")


def win_rate_from_facts(facts: DataFrame) -> DataFrame:
    """gold.ace_win_rate from ``ace_facts``."""
    stage = F.col("stage")
    out = facts.groupBy("tenant_id").agg(
        _sum_if(stage == F.lit(WON_STAGE)).alias("won_count"),
        _sum_if(stage == F.lit(LOST_STAGE)).alias("lost_count"),
        _sum_if(stage.isNull() | ~stage.isin(*CLOSED_STAGES)).alias("open_count"),
    )
    closed = F.col("won_count") + F.col("lost_count")
    return out.select(
        "tenant_id",
        "won_count",
        "lost_count",
        "open_count",
        F.when(closed > 0, F.col("won_count").cast("double") / closed.cast("double")).alias("win_rate"),
    )


def health_from_facts(facts: DataFrame) -> DataFrame:
    """gold.ace_pipeline_health from ``ace_facts`` built with ``as_of``."""
    out = facts.groupBy("tenant_id", "review_status", "as_of_date").agg(
        F.sum("opportunity_count").cast("long").alias("opportunity_count"),
        _sum_if(F.coalesce(F.col("stale"), F.lit(False))).alias("stale_count"),
        _sum_if(F.coalesce(F.col("review_status") == F.lit(ACTION_REQUIRED), F.lit(False))).alias(
            "action_required_count"
        ),
    )
    return out.select(
        "tenant_id",
        "review_status",
        "opportunity_count",
        "stale_count",
        "action_required_count",
        "as_of_date",
    )
