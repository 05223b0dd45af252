"""Silver -> gold ACE marts (definitions in lakehouse.partner_central.entities.gold, which states each grain)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse import metrics
from lakehouse.catalog import TableDef
from lakehouse.partner_central.entities import gold
from lakehouse.partner_central.entities.gold import SPEND_SUM
from lakehouse.partner_central.entities.silver import (
    AMOUNT,
    CLOSED_STAGES,
    FILE_CLUSTER,
)

USD = "USD"
MONTHLY = "Monthly"


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
            .groupBy("tenant_id", "opportunity_id")
            .agg(F.sum("amount").alias("_usd"))
        )
        per_opp = per_opp.join(usd_monthly, on=["tenant_id", "opportunity_id"], how="left")
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


def _typed(frame: DataFrame, td: TableDef) -> DataFrame:
    """``frame`` in the mart's declared column order and types (metric results cast to the stored types)."""
    return frame.select(*(F.col(f.name).cast(f.dataType).alias(f.name) for f in td.schema.fields))


def pipeline_from_facts(facts: DataFrame) -> DataFrame:
    """gold.ace_pipeline from ``ace_facts`` (with spend); the measures are the metrics of lakehouse.metrics."""
    out = facts.groupBy("tenant_id", "stage", "target_close_month").agg(
        *metrics.spark_columns(["opportunity_count", "expected_monthly_spend_usd"])
    )
    return _typed(out, gold.ACE_PIPELINE)


def win_rate_from_facts(facts: DataFrame) -> DataFrame:
    """gold.ace_win_rate from ``ace_facts``: the won, lost, open and win-rate metrics per tenant."""
    out = facts.groupBy("tenant_id").agg(
        *metrics.spark_columns(["won_count", "lost_count", "open_count", "win_rate"])
    )
    return _typed(out, gold.ACE_WIN_RATE)


def health_from_facts(facts: DataFrame) -> DataFrame:
    """gold.ace_pipeline_health from ``ace_facts`` built with ``as_of``: the health metrics per review status."""
    out = facts.groupBy("tenant_id", "review_status", "as_of_date").agg(
        *metrics.spark_columns(["opportunity_count", "stale_count", "action_required_count"])
    )
    return _typed(out, gold.ACE_PIPELINE_HEALTH)
