"""Knowledge graph: edges derived from silver, incremental opening and closing, and the similar-won-deals helper."""

from __future__ import annotations

from datetime import datetime

from chispa import assert_df_equality

from lakehouse import catalog, io
from lakehouse.partner_central.pipeline import RunContext
from lakehouse.platinum import entities as tables
from lakehouse.platinum import kg
from lakehouse.platinum.steps import run_kg
from lakehouse.tenancy import TenantScope

from .conftest import opp, silver_frame, write_silver

A = TenantScope.for_tenant("acme")
T1, T2 = datetime(2025, 1, 10), datetime(2025, 2, 1)


def test_opportunity_edges_are_typed_and_start_at_the_version(spark) -> None:
    df = silver_frame(
        spark,
        "silver.opportunity",
        [
            opp(
                "acme",
                "O-1",
                customer_aws_account_id="111122223333",
                related_solution_ids=["S-1", "S-2"],
                related_aws_product_ids=[],
                marketing_campaign_name=None,
            )
        ],
    )
    got = kg.opportunity_edges(df)
    expected = spark.createDataFrame(
        [
            (
                "acme",
                "opportunity",
                "O-1",
                "for_customer",
                "customer_account",
                "111122223333",
                T1,
                "silver.opportunity",
            ),
            ("acme", "opportunity", "O-1", "in_industry", "industry", "Healthcare", T1, "silver.opportunity"),
            ("acme", "opportunity", "O-1", "in_stage", "stage", "Prospect", T1, "silver.opportunity"),
            ("acme", "opportunity", "O-1", "uses_solution", "solution", "S-1", T1, "silver.opportunity"),
            ("acme", "opportunity", "O-1", "uses_solution", "solution", "S-2", T1, "silver.opportunity"),
        ],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_customer_without_account_id_is_keyed_by_a_name_hash_not_the_name(spark) -> None:
    df = silver_frame(
        spark, "silver.opportunity", [opp("acme", "O-1", customer_company_name="  Secret   Corp ")]
    )
    ids = [r["dst_id"] for r in kg.opportunity_edges(df).where("edge_type = 'for_customer'").collect()]
    other = silver_frame(
        spark, "silver.opportunity", [opp("acme", "O-2", customer_company_name="secret corp")]
    )
    assert ids == [
        r["dst_id"] for r in kg.opportunity_edges(other).where("edge_type = 'for_customer'").collect()
    ]
    assert ids[0].startswith("name:") and "ecret" not in ids[0]


def _edges(spark):  # type: ignore[no-untyped-def]
    rows = io.read(spark, tables.KG_EDGE, A).collect()
    return {(r["edge_type"], r["dst_id"], r["valid_from"], r["valid_to"]) for r in rows}


def test_a_changed_row_closes_the_edges_it_lost_and_opens_new_ones(spark, platinum_lake) -> None:
    first = opp(
        "acme",
        "O-1",
        customer_company_name=None,
        related_solution_ids=["S-1"],
        source_ingested_at=datetime(2025, 1, 10, 12),
    )
    write_silver(spark, "silver.opportunity", [first])
    outcome = run_kg(RunContext.create(spark, "acme", job_name="platinum_kg"))
    assert outcome.counts == {"kg_edge.opened": 3, "kg_edge.closed": 0}
    assert _edges(spark) == {
        ("in_industry", "Healthcare", T1, None),
        ("in_stage", "Prospect", T1, None),
        ("uses_solution", "S-1", T1, None),
    }
    assert run_kg(RunContext.create(spark, "acme", job_name="platinum_kg")).status == "unchanged"

    changed = {
        **first,
        "stage": "Launched",
        "related_solution_ids": ["S-2"],
        "last_modified_at": T2,
        "source_ingested_at": datetime(2025, 2, 1, 12),
    }
    io.merge(
        spark, catalog.get("silver.opportunity"), silver_frame(spark, "silver.opportunity", [changed]), A
    )
    outcome = run_kg(RunContext.create(spark, "acme", job_name="platinum_kg"))
    assert outcome.counts == {"kg_edge.opened": 2, "kg_edge.closed": 2}
    assert _edges(spark) == {
        ("in_industry", "Healthcare", T1, None),
        ("in_stage", "Prospect", T1, T2),
        ("in_stage", "Launched", T2, None),
        ("uses_solution", "S-1", T1, T2),
        ("uses_solution", "S-2", T2, None),
    }


def test_similar_won_deals_share_a_solution_and_the_industry(spark, platinum_lake) -> None:
    at = {"source_ingested_at": datetime(2025, 1, 10, 12)}
    write_silver(
        spark,
        "silver.opportunity",
        [
            opp("acme", "NEW", related_solution_ids=["S-1", "S-2"], **at),
            opp("acme", "WON-2", stage="Launched", related_solution_ids=["S-1", "S-2"], **at),
            opp("acme", "WON-1", stage="Launched", related_solution_ids=["S-2", "S-9"], **at),
            opp("acme", "LOST", stage="Closed Lost", related_solution_ids=["S-1"], **at),
            opp(
                "acme",
                "OTHER-IND",
                stage="Launched",
                customer_industry="Retail",
                related_solution_ids=["S-1"],
                **at,
            ),
            opp("acme", "NO-SHARE", stage="Launched", related_solution_ids=["S-7"], **at),
        ],
    )
    run_kg(RunContext.create(spark, "acme", job_name="platinum_kg"))
    got = [tuple(r) for r in kg.similar_won_deals(spark, A, "NEW").collect()]
    assert got == [("WON-2", 2), ("WON-1", 1)]
    assert kg.similar_won_deals(spark, TenantScope.for_tenant("other"), "NEW").count() == 0


def test_engagement_edges_start_from_the_engagement(spark) -> None:
    df = silver_frame(
        spark,
        "silver.engagement_invitation",
        [
            {
                "tenant_id": "acme",
                "invitation_id": "I-1",
                "engagement_id": "E-1",
                "sender_aws_account_id": "aws",
                "customer_company_name": None,
                "invitation_date": T1,
            }
        ],
    )
    got = [
        tuple(r)
        for r in kg.engagement_edges(df)
        .select("src_type", "src_id", "edge_type", "dst_type", "dst_id")
        .collect()
    ]
    assert got == [("engagement", "E-1", "invited_by", "partner", "aws")]
