"""Knowledge graph: typed edges with validity intervals, derived from silver and maintained incrementally.

An edge holds from the ``last_modified_at`` of the source version that first showed it (``valid_from``) until
the version that no longer shows it (``valid_to``; null while it holds). Each run derives the edges of the
silver rows that changed since the last run (by ``source_ingested_at``, a watermark), compares them with the
open edges of those rows, inserts the new ones and closes the ones that went away, in one MERGE.

Not used: ``silver.opportunity_contact`` (people, even redacted, are not graph nodes here). Leads and campaigns
as their own tables come later; a campaign node is the opportunity's campaign name.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.platinum import entities as tables
from lakehouse.tenancy import TenantScope

EDGE_KEY: tuple[str, ...] = ("src_type", "src_id", "edge_type", "dst_type", "dst_id")
EDGE_COLUMNS: tuple[str, ...] = ("tenant_id", *EDGE_KEY, "valid_from", "source_table")


def opportunity_node() -> Column:
    """The node id of a silver.opportunity row."""
    return F.col("opportunity_id")


def engagement_node() -> Column:
    """The node id of a silver.engagement_invitation row: its engagement (the invitation when there is none)."""
    return F.coalesce(F.col("engagement_id"), F.col("invitation_id"))


def customer_account_id(aws_account_id: Column, company_name: Column) -> Column:
    """A customer node id: the AWS account id, else ``name:`` + the first 16 hex of SHA-256 of the normalised
    company name (the graph carries no names), else null."""
    normalised = F.lower(F.regexp_replace(F.trim(company_name), r"\s+", " "))
    by_name = F.when(
        F.length(normalised) > 0, F.concat(F.lit("name:"), F.substring(F.sha2(normalised, 256), 1, 16))
    )
    return F.coalesce(F.when(F.length(F.trim(aws_account_id)) > 0, F.trim(aws_account_id)), by_name)


def _edge(
    df: DataFrame,
    src_type: str,
    src_id: Column,
    edge: str,
    dst_type: str,
    dst_id: Column,
    valid_from: Column,
    source_table: str,
) -> DataFrame:
    return df.select(
        "tenant_id",
        F.lit(src_type).alias("src_type"),
        src_id.alias("src_id"),
        F.lit(edge).alias("edge_type"),
        F.lit(dst_type).alias("dst_type"),
        dst_id.alias("dst_id"),
        valid_from.alias("valid_from"),
        F.lit(source_table).alias("source_table"),
    ).where(F.col("dst_id").isNotNull() & (F.length("dst_id") > 0) & F.col("src_id").isNotNull())


def opportunity_edges(opportunity: DataFrame) -> DataFrame:
    """Edges of silver.opportunity rows: customer, industry, stage, solutions, AWS products, campaign."""
    src, at, table = F.col("opportunity_id"), F.col("last_modified_at"), "silver.opportunity"
    customer = customer_account_id(F.col("customer_aws_account_id"), F.col("customer_company_name"))
    parts = [
        _edge(opportunity, "opportunity", src, "for_customer", "customer_account", customer, at, table),
        _edge(
            opportunity, "opportunity", src, "in_industry", "industry", F.col("customer_industry"), at, table
        ),
        _edge(opportunity, "opportunity", src, "in_stage", "stage", F.col("stage"), at, table),
        _edge(
            opportunity,
            "opportunity",
            src,
            "from_campaign",
            "campaign",
            F.col("marketing_campaign_name"),
            at,
            table,
        ),
    ]
    for column, edge, node in (
        ("related_solution_ids", "uses_solution", "solution"),
        ("related_aws_product_ids", "uses_product", "aws_product"),
    ):
        exploded = opportunity.select(
            "tenant_id", "opportunity_id", "last_modified_at", F.explode_outer(column).alias("_dst")
        )
        parts.append(_edge(exploded, "opportunity", src, edge, node, F.col("_dst"), at, table))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out.dropDuplicates(list(EDGE_COLUMNS))


def engagement_edges(invitation: DataFrame) -> DataFrame:
    """Edges of silver.engagement_invitation rows, from the engagement: the inviting partner and the referred
    customer (every edge's source is the silver row's own entity, so re-deriving one row closes only its edges)."""
    at, table = (
        F.coalesce(F.col("invitation_date"), F.col("last_modified_at")),
        "silver.engagement_invitation",
    )
    engagement = engagement_node()
    customer = customer_account_id(F.lit(None).cast("string"), F.col("customer_company_name"))
    return _edge(
        invitation,
        "engagement",
        engagement,
        "invited_by",
        "partner",
        F.col("sender_aws_account_id"),
        at,
        table,
    ).unionByName(
        _edge(
            invitation, "engagement", engagement, "referred_customer", "customer_account", customer, at, table
        )
    )


def changes(current: DataFrame, sources: DataFrame, stored: DataFrame, *, now: Column) -> DataFrame:
    """The kg_edge rows to MERGE for sources whose edges were re-derived.

    ``current``: the edges of the changed sources now; ``sources``: (tenant_id, src_type, src_id, changed_at) of
    those sources; ``stored``: kg_edge rows. New edges open at their ``valid_from``; open stored edges of those
    sources that ``current`` no longer has close at the source's ``changed_at`` (``now`` when unknown)."""
    open_edges = stored.where(F.col("valid_to").isNull()).join(
        sources.select("tenant_id", "src_type", "src_id"), ["tenant_id", "src_type", "src_id"], "left_semi"
    )
    keys = ["tenant_id", *EDGE_KEY]
    opened = current.join(open_edges.select(*keys), keys, "left_anti").withColumn(
        "valid_to", F.lit(None).cast("timestamp")
    )
    closed = (
        open_edges.join(current.select(*keys), keys, "left_anti")
        .join(sources, ["tenant_id", "src_type", "src_id"], "left")
        .withColumn("valid_to", F.greatest(F.coalesce(F.col("changed_at"), now), F.col("valid_from")))
        .drop("changed_at")
    )
    return opened.select(*EDGE_COLUMNS, "valid_to").unionByName(closed.select(*EDGE_COLUMNS, "valid_to"))


def similar_won_deals(spark: SparkSession, scope: TenantScope, opportunity_id: str) -> DataFrame:
    """Won opportunities (stage Launched now) that share at least one solution and the industry with
    ``opportunity_id``: (opportunity_id, shared_solutions), most shared first."""
    edges = io.read(spark, tables.KG_EDGE, scope).where(F.col("valid_to").isNull())
    opp = F.col("src_type") == "opportunity"
    mine = edges.where(opp & (F.col("src_id") == opportunity_id))
    solutions = mine.where(F.col("edge_type") == "uses_solution").select("dst_id")
    industry = mine.where(F.col("edge_type") == "in_industry").select("dst_id")
    won = edges.where(opp & (F.col("edge_type") == "in_stage") & (F.col("dst_id") == "Launched")).select(
        "src_id"
    )
    same_industry = (
        edges.where(opp & (F.col("edge_type") == "in_industry"))
        .join(industry, "dst_id", "left_semi")
        .select("src_id")
    )
    shared = (
        edges.where(opp & (F.col("edge_type") == "uses_solution"))
        .join(solutions, "dst_id", "left_semi")
        .where(F.col("src_id") != opportunity_id)
        .groupBy("src_id")
        .agg(F.countDistinct("dst_id").alias("shared_solutions"))
    )
    return (
        shared.join(won, "src_id", "left_semi")
        .join(same_industry, "src_id", "left_semi")
        .select(F.col("src_id").alias("opportunity_id"), "shared_solutions")
        .orderBy(F.desc("shared_solutions"), "opportunity_id")
    )
