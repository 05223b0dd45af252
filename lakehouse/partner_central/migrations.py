"""One-off rewrites of existing Partner Central silver tables when their keys change.

``migrate_catalog_keys``: silver used to key opportunities (and their spend and contact children, solutions and
invitations) on ``(tenant_id, id)`` without the catalog, so an id present in both the AWS and the Sandbox catalog
kept one row. The migration loses nothing:

1. the children tables, stored without a ``catalog`` column, are rewritten with each row's catalog taken from its
   parent silver.opportunity row (one per tenant and id under the old key; a row without a parent keeps a null
   catalog rather than being dropped); the rewrite is staged, counted, and committed only when every row is
   there;
2. the silver step's watermarks are removed, so the next ``lakehouse pipeline run`` re-reads every bronze
   payload (bronze keeps every version of every catalog) and MERGEs under the new keys: rows silver dropped come
   back, rows it holds are rewritten only where a version is newer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse import io, ops
from lakehouse.catalog import TableDef
from lakehouse.errors import LakehouseError
from lakehouse.partner_central.entities import silver
from lakehouse.settings import get_settings

CHILD_TABLES: tuple[TableDef, ...] = (silver.OPPORTUNITY_SPEND, silver.OPPORTUNITY_CONTACT)
SILVER_JOB = "silver_partner_central"


class MigrationFailed(LakehouseError):
    """A migration check failed; nothing was committed to the table named."""


@dataclass
class CatalogKeyMigration:
    """What ``migrate_catalog_keys`` did: rows rewritten per table, and whether watermarks were reset."""

    rewritten: dict[str, int] = field(default_factory=dict)
    without_parent: dict[str, int] = field(default_factory=dict)
    watermarks_reset: int = 0


def _stored_columns(spark: SparkSession, td: TableDef) -> list[str]:
    return list(spark.read.format("delta").load(td.path()).columns)


def tables_needing_catalog_keys(spark: SparkSession) -> list[TableDef]:
    """The child tables still stored without a catalog column (empty when migrated or never written)."""
    return [td for td in CHILD_TABLES if io.exists(td) and "catalog" not in _stored_columns(spark, td)]


def migrate_catalog_keys(spark: SparkSession) -> CatalogKeyMigration:
    """Rewrite the children with their catalog and make the next silver run re-read bronze (every tenant)."""
    report = CatalogKeyMigration()
    pending = tables_needing_catalog_keys(spark)
    if not pending:
        return report
    parents = (
        spark.read.format("delta")
        .load(silver.OPPORTUNITY.path())
        .select("tenant_id", "opportunity_id", F.col("catalog").alias("_parent_catalog"))
        if io.exists(silver.OPPORTUNITY)
        else spark.createDataFrame([], "tenant_id string, opportunity_id string, _parent_catalog string")
    )
    duplicated = (
        parents.groupBy("tenant_id", "opportunity_id").count().where(F.col("count") > 1).limit(1).collect()
    )
    if duplicated:
        r = duplicated[0]
        raise MigrationFailed(
            f"silver.opportunity holds {r['opportunity_id']} of tenant {r['tenant_id']} more than once: the "
            "children cannot be given one catalog each; nothing was rewritten"
        )
    staging_root = f"{get_settings().lake_root.rstrip('/')}/_staging/_migration-{uuid.uuid4().hex[:8]}"
    try:
        for td in pending:
            stored = spark.read.format("delta").load(td.path())
            before = stored.count()
            filled = stored.join(parents, on=["tenant_id", "opportunity_id"], how="left").withColumn(
                "catalog", F.col("_parent_catalog")
            )
            staged_path = f"{staging_root}/{td.name}"
            filled.select(*td.schema.fieldNames()).write.format("delta").mode("overwrite").save(staged_path)
            staged = spark.read.format("delta").load(staged_path)
            if staged.count() != before:
                raise MigrationFailed(f"{td.qualified_name}: staged rewrite lost rows; nothing was committed")
            (
                staged.write.format("delta")
                .mode("overwrite")
                .option("overwriteSchema", "true")
                .partitionBy(*td.partition_by)
                .save(td.path())
            )
            report.rewritten[td.qualified_name] = before
            report.without_parent[td.qualified_name] = int(staged.where(F.col("catalog").isNull()).count())
    finally:
        io.remove_tree(staging_root)
    if io.exists(ops.PIPELINE_WATERMARK):
        marks = spark.read.format("delta").load(ops.PIPELINE_WATERMARK.path())
        report.watermarks_reset = int(marks.where(F.col("pipeline") == F.lit(SILVER_JOB)).count())
        spark.sql(f"DELETE FROM delta.`{ops.PIPELINE_WATERMARK.path()}` WHERE pipeline = '{SILVER_JOB}'")
    return report
