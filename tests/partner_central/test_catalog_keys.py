"""Catalog in every Partner Central key, and the migration of silver written before it (nothing lost)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.cli import main
from lakehouse.errors import BadInput
from lakehouse.partner_central import pipeline
from lakehouse.partner_central.entities import silver
from lakehouse.partner_central.migrations import migrate_catalog_keys, tables_needing_catalog_keys
from lakehouse.tenancy import TenantScope

from .conftest import bronze_rows, opportunity, utc, write_bronze

TENANT = "acme"
AS_OF = date(2025, 6, 1)
pytestmark = pytest.mark.slow


def rows(spark, table: str) -> list[dict[str, Any]]:
    return [r.asDict(recursive=True) for r in io.read(spark, table, TenantScope.for_tenant(TENANT)).collect()]


def land_both_catalogs(spark) -> None:
    contact = {
        "Email": "a@example.com",
        "FirstName": "A",
        "LastName": "B",
        "Phone": None,
        "BusinessTitle": "CTO",
    }
    aws = [
        opportunity("O1", stage="Launched", spend=[("10", "USD", "Monthly")], contacts=[contact]),
        opportunity("O2"),
    ]
    sandbox = [
        {**opportunity("O1", stage="Prospect", spend=[("99", "USD", "Monthly")]), "Catalog": "Sandbox"}
    ]
    write_bronze(spark, "opportunity", bronze_rows(TENANT, aws, run_id="a", ingested_at=utc(2025, 1, 1)))
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, sandbox, run_id="s", ingested_at=utc(2025, 1, 1), catalog="Sandbox"),
    )


def test_an_id_in_both_catalogs_keeps_both_rows_and_gold_counts_the_won_one(spark, pipeline_lake):
    land_both_catalogs(spark)
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    assert sorted(
        (r["catalog"], r["opportunity_id"], r["stage"]) for r in rows(spark, "silver.opportunity")
    ) == [
        ("AWS", "O1", "Launched"),
        ("AWS", "O2", "Prospect"),
        ("Sandbox", "O1", "Prospect"),
    ]
    assert sorted(
        (r["catalog"], r["opportunity_id"], str(r["amount"])) for r in rows(spark, "silver.opportunity_spend")
    ) == [
        ("AWS", "O1", "10.00"),
        ("AWS", "O2", "100.00"),
        ("Sandbox", "O1", "99.00"),
    ]
    assert [(r["won_count"], r["open_count"]) for r in rows(spark, "gold.ace_win_rate")] == [(1, 2)]


def downgrade_to_the_old_keys(spark) -> None:
    """What silver looked like before: the Sandbox O1 dropped, children stored without a catalog column."""
    path = silver.OPPORTUNITY.path()
    spark.sql(f"DELETE FROM delta.`{path}` WHERE catalog = 'Sandbox'")
    for td in (silver.OPPORTUNITY_SPEND, silver.OPPORTUNITY_CONTACT):
        old = spark.read.format("delta").load(td.path()).where(F.col("catalog") != "Sandbox").drop("catalog")
        staged = f"{td.path()}_old"
        old.write.format("delta").mode("overwrite").save(staged)
        back = spark.read.format("delta").load(staged)
        back.write.format("delta").mode("overwrite").option("overwriteSchema", "true").partitionBy(
            *td.partition_by
        ).save(td.path())
        io.remove_tree(staged)


def test_old_silver_is_refused_until_migrated_then_the_dropped_catalog_row_comes_back(spark, pipeline_lake):
    land_both_catalogs(spark)
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    downgrade_to_the_old_keys(spark)
    assert [td.qualified_name for td in tables_needing_catalog_keys(spark)] == [
        "silver.opportunity_spend",
        "silver.opportunity_contact",
    ]
    with pytest.raises(BadInput, match="run `lakehouse table migrate-catalog-keys`"):
        pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")

    report = migrate_catalog_keys(spark)
    assert report.rewritten == {"silver.opportunity_spend": 2, "silver.opportunity_contact": 1}
    assert report.without_parent == {"silver.opportunity_spend": 0, "silver.opportunity_contact": 0}
    assert report.watermarks_reset == 1
    assert sorted((r["catalog"], r["opportunity_id"]) for r in rows(spark, "silver.opportunity_spend")) == [
        ("AWS", "O1"),
        ("AWS", "O2"),
    ]
    assert tables_needing_catalog_keys(spark) == []

    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    assert sorted((r["catalog"], r["opportunity_id"]) for r in rows(spark, "silver.opportunity")) == [
        ("AWS", "O1"),
        ("AWS", "O2"),
        ("Sandbox", "O1"),
    ]
    assert sorted(
        (r["catalog"], r["opportunity_id"], str(r["amount"])) for r in rows(spark, "silver.opportunity_spend")
    ) == [
        ("AWS", "O1", "10.00"),
        ("AWS", "O2", "100.00"),
        ("Sandbox", "O1", "99.00"),
    ]


def test_the_migration_command_says_when_there_is_nothing_to_do(spark, pipeline_lake, capsys):
    assert main(["table", "migrate-catalog-keys"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
