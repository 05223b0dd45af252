"""Selling bronze -> silver -> gold transforms on tiny inline frames, compared exactly (chispa)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame

from lakehouse.partner_central.entities import selling
from lakehouse.partner_central.transforms import selling as tx

from . import selling_data as sd
from .conftest import _BRONZE_SCHEMA, bronze_rows, utc

INGESTED = utc(2025, 1, 20)


def bronze_df(spark, payloads, catalog="AWS") -> DataFrame:
    rows = bronze_rows("acme", payloads, run_id="r1", ingested_at=INGESTED, catalog=catalog)
    return spark.createDataFrame(
        [tuple(r[n] for n in _BRONZE_SCHEMA.fieldNames()) for r in rows], _BRONZE_SCHEMA
    )


def assert_rows(spark, actual: DataFrame, columns: list[str], rows: list[tuple]) -> None:
    """``actual`` has exactly ``rows`` in ``columns`` (chispa, compared in a stable order)."""
    # ordered by every scalar column on both sides (Sail cannot hash the array columns ignore_row_order sorts by)
    got = actual.select(*columns)
    order = [f.name for f in got.schema.fields if f.dataType.typeName() != "array"]
    want = spark.createDataFrame(rows, got.schema)
    assert_df_equality(got.orderBy(*order), want.orderBy(*order))


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


@pytest.fixture
def engagements(spark) -> DataFrame:
    e1 = sd.engagement(
        "eng-1",
        [
            sd.lead_context("ctx-1", interactions=("2025-01-07T00:00:00Z", "2025-01-05T00:00:00Z")),
            sd.project_context("ctx-2"),
        ],
    )
    e2 = sd.engagement("eng-2", [sd.lead_context("ctx-3", source=None, status=None, interactions=())])
    return tx.parse_engagements(bronze_df(spark, [e1, e2])).cache()


def test_parse_engagements_types_dates_and_counts_contexts(spark, engagements):
    assert_rows(
        spark,
        tx.to_engagement(engagements),
        ["catalog", "engagement_id", "member_count", "context_count", "context_types", "modified_at"],
        [
            ("AWS", "eng-1", 2, 2, ["Lead", "CustomerProject"], ts("2025-01-06T10:00:00Z")),
            ("AWS", "eng-2", 2, 1, ["Lead"], ts("2025-01-06T10:00:00Z")),
        ],
    )
    assert [r.quarantine_reason for r in engagements.collect()] == ["", ""]


def test_engagement_context_has_one_row_per_context_in_list_order(spark, engagements):
    assert_rows(
        spark,
        tx.to_engagement_context(engagements),
        [
            "engagement_id",
            "context_id",
            "context_index",
            "context_type",
            "customer_company_name",
            "lead_qualification_status",
        ],
        [
            ("eng-1", "ctx-1", 0, "Lead", "Example Corp", "Qualified"),
            ("eng-1", "ctx-2", 1, "CustomerProject", "Shop Co", None),
            ("eng-2", "ctx-3", 0, "Lead", "Example Corp", None),
        ],
    )


def test_leads_come_from_lead_contexts_with_source_status_and_interactions(spark, engagements):
    assert_rows(
        spark,
        tx.leads_from_engagements(engagements),
        [
            "lead_id",
            "lead_origin",
            "engagement_id",
            "source_type",
            "qualification_status",
            "interaction_count",
            "first_interaction_at",
            "last_interaction_at",
            "use_case",
            "created_at",
        ],
        [
            (
                "eng-1/ctx-1",
                "engagement_context",
                "eng-1",
                "MarketingActivity",
                "Qualified",
                2,
                ts("2025-01-05T00:00:00Z"),
                ts("2025-01-07T00:00:00Z"),
                "Migration",
                ts("2025-01-05T00:00:00Z"),
            ),
            (
                "eng-2/ctx-3",
                "engagement_context",
                "eng-2",
                None,
                None,
                0,
                None,
                None,
                None,
                ts("2025-01-01T08:00:00Z"),
            ),
        ],
    )


def test_lead_rows_carry_no_contact_details(spark, engagements):
    leads = tx.leads_from_engagements(engagements)
    assert leads.columns == selling.LEAD.schema.fieldNames()
    text = " ".join(str(v) for r in leads.collect() for v in r)
    assert "cto@example.com" not in text and "Jane" not in text and "+12065550100" not in text


def test_lead_invitations_become_leads_and_other_invitations_do_not(spark):
    other = {**sd.lead_invitation("inv-2", "eng-9"), "PayloadType": "OpportunityInvitation"}
    parsed = tx.parse_lead_invitations(bronze_df(spark, [sd.lead_invitation("inv-1", "eng-5"), other]))
    assert_rows(
        spark,
        tx.to_lead(parsed),
        [
            "lead_id",
            "lead_origin",
            "invitation_id",
            "engagement_id",
            "source_type",
            "qualification_status",
            "lead_readiness_score",
            "prospecting_segment",
            "created_at",
        ],
        [
            (
                "inv-1",
                "lead_invitation",
                "inv-1",
                "eng-5",
                "Event",
                "PENDING",
                "Medium",
                "SMB",
                ts("2025-01-04T00:00:00Z"),
            )
        ],
    )


def test_engagement_members_explode_in_order(spark):
    parsed = tx.parse_engagement_members(bronze_df(spark, [sd.members("eng-1", ["AWS", "Partner"])]))
    assert_rows(
        spark,
        tx.to_engagement_member(parsed),
        ["catalog", "engagement_id", "member_index", "company_name", "account_id"],
        [("AWS", "eng-1", 0, "AWS", "000000000001"), ("AWS", "eng-1", 1, "Partner", "000000000002")],
    )


def test_conversion_tasks_keep_status_context_and_opportunity(spark):
    tasks = [
        sd.conversion_task("t1", "eng-1", context_id="ctx-1", opportunity_id="O100"),
        sd.conversion_task("t2", "eng-2", context_id=None, opportunity_id=None, status="FAILED"),
    ]
    parsed = tx.parse_conversion_tasks(bronze_df(spark, tasks))
    assert_rows(
        spark,
        tx.to_lead_conversion(parsed),
        ["task_id", "task_status", "engagement_id", "context_id", "opportunity_id", "started_at"],
        [
            ("t1", "COMPLETE", "eng-1", "ctx-1", "O100", ts("2025-01-15T09:00:00Z")),
            ("t2", "FAILED", "eng-2", None, None, ts("2025-01-15T09:00:00Z")),
        ],
    )


def test_resource_snapshots_keep_each_revision(spark):
    parsed = tx.parse_resource_snapshots(
        bronze_df(spark, [sd.snapshot("eng-1", "O1", 1), sd.snapshot("eng-1", "O1", 2, stage="Committed")])
    )
    assert_rows(
        spark,
        tx.to_resource_snapshot(parsed),
        ["engagement_id", "resource_id", "template_name", "revision", "stage", "target_close_date"],
        [
            ("eng-1", "O1", "OpportunitySummary", 1, "Qualified", datetime(2025, 8, 1).date()),
            ("eng-1", "O1", "OpportunitySummary", 2, "Committed", datetime(2025, 8, 1).date()),
        ],
    )


def test_aws_summaries_type_scores_spend_and_recommendations(spark):
    parsed = tx.parse_aws_opportunity_summaries(bronze_df(spark, [sd.aws_summary("O1", recommendations=2)]))
    assert_rows(
        spark,
        tx.to_aws_opportunity_summary(parsed),
        [
            "opportunity_id",
            "aws_stage",
            "engagement_score",
            "opportunity_quality_score",
            "aws_spend_total",
            "aws_product_codes",
            "recommendation_count",
            "recommendation_types",
            "aws_team_count",
        ],
        [("O1", "Qualified", "High", 72, Decimal("1200.50"), ["AmazonEC2"], 2, ["Type0", "Type1"], 1)],
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(Insights="High"), "Insights is not a JSON object"),
        (lambda d: d.update(OpportunityTeam={"Email": "x"}), "OpportunityTeam is not a JSON list"),
        (
            lambda d: d["Insights"]["AwsProductsSpendInsightsBySource"]["AWS"].update(TotalAmount="12,5"),
            "AWS spend insight amount is not a decimal number",
        ),
        (lambda d: d.pop("RelatedOpportunityId"), "missing id"),
    ],
)
def test_aws_summaries_with_wrong_types_are_quarantined_with_the_reason(spark, change, reason):
    doc = sd.aws_summary("O1")
    change(doc)
    parsed = tx.parse_aws_opportunity_summaries(bronze_df(spark, [doc]))
    assert [r.quarantine_reason for r in parsed.collect()] == [reason]


def test_customer_accounts_type_dates_and_enrichment(spark):
    parsed = tx.parse_customer_accounts(bronze_df(spark, [sd.customer_account("ca-1")]))
    assert_rows(
        spark,
        tx.to_customer_account(parsed),
        [
            "customer_account_id",
            "company_name",
            "domain",
            "aws_segment",
            "aws_marketplace_engagement_score",
            "issue_count",
            "last_modified_at",
        ],
        [("ca-1", "Example Corp", "example.com", "Enterprise", "Medium", 1, ts("2025-01-03T00:00:00Z"))],
    )


# ------------------------------------------------------------------------------------------------ gold


def lead_frame(spark, rows):
    schema = (
        "tenant_id string, catalog string, lead_id string, lead_origin string, engagement_id string, "
        "context_id string, source_type string, qualification_status string, created_at timestamp"
    )
    return spark.createDataFrame(rows, schema)


def test_lead_funnel_counts_converted_and_won_leads_per_source_and_status(spark):
    leads = lead_frame(
        spark,
        [
            (
                "acme",
                "AWS",
                "L1",
                "engagement_context",
                "e1",
                "c1",
                "Event",
                "Qualified",
                datetime(2025, 1, 1),
            ),
            (
                "acme",
                "AWS",
                "L2",
                "engagement_context",
                "e2",
                "c2",
                "Event",
                "Qualified",
                datetime(2025, 1, 1),
            ),
            ("acme", "AWS", "L3", "engagement_context", "e3", None, None, None, datetime(2025, 1, 1)),
            (
                "acme",
                "Sandbox",
                "L4",
                "engagement_context",
                "e1",
                "c1",
                "Event",
                "Qualified",
                datetime(2025, 1, 1),
            ),
            # the invitation behind e1's Lead context: the same lead, counted once
            ("acme", "AWS", "I1", "lead_invitation", "e1", None, "Event", "Qualified", datetime(2025, 1, 1)),
        ],
    )
    tasks = spark.createDataFrame(
        [
            ("acme", "AWS", "t1", "COMPLETE", "e1", "c1", "O1", datetime(2025, 1, 11)),
            ("acme", "AWS", "t2", "COMPLETE", "e2", "other-context", "O2", datetime(2025, 1, 3)),
            ("acme", "AWS", "t3", "FAILED", "e3", None, None, datetime(2025, 1, 3)),
            ("acme", "AWS", "t4", "COMPLETE", "e3", None, "O3", datetime(2025, 1, 5)),
        ],
        "tenant_id string, catalog string, task_id string, task_status string, engagement_id string, context_id string, opportunity_id string, started_at timestamp",
    )
    opps = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", "Launched"),
            ("acme", "AWS", "O3", "Qualified"),
            ("acme", "Sandbox", "O1", "Prospect"),
        ],
        "tenant_id string, catalog string, opportunity_id string, stage string",
    )
    got = tx.lead_funnel(leads, tasks, opps)
    assert_rows(
        spark,
        got,
        [
            "tenant_id",
            "lead_source",
            "qualification_status",
            "lead_count",
            "converted_count",
            "won_count",
            "conversion_rate",
            "win_rate",
            "avg_days_to_convert",
        ],
        [
            # L1 converted (t1, 10 days) and won; L2's task names another context; L4 is another catalog
            ("acme", "Event", "Qualified", 3, 1, 1, 1 / 3, 1.0, 10.0),
            ("acme", "unknown", "unknown", 1, 1, 0, 1.0, 0.0, 4.0),
        ],
    )
    assert got.columns == selling.ACE_LEAD_FUNNEL.schema.fieldNames()


def test_engagement_health_counts_stage_mismatches_and_the_action_backlog(spark):
    summary = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", "Qualified", "High", "Call", 2, "USD", Decimal("10.00")),
            ("acme", "AWS", "O2", "Committed", "High", "", 0, "EUR", Decimal("99.00")),
            ("acme", "AWS", "O3", "Prospect", None, None, 1, "USD", None),
            ("acme", "AWS", "O4", None, "Low", "Follow up", 0, None, None),
        ],
        "tenant_id string, catalog string, opportunity_id string, aws_stage string, engagement_score string, next_best_actions string, recommendation_count int, aws_spend_currency_code string, aws_spend_total decimal(18,2)",
    )
    opps = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", "Qualified"),
            ("acme", "AWS", "O2", "Prospect"),
            ("acme", "Sandbox", "O3", "Prospect"),
        ],
        "tenant_id string, catalog string, opportunity_id string, stage string",
    )
    assert_rows(
        spark,
        tx.engagement_health(summary, opps),
        [
            "tenant_id",
            "engagement_score",
            "opportunity_count",
            "stage_mismatch_count",
            "next_best_action_count",
            "recommendation_count",
            "aws_spend_total_usd",
        ],
        [
            ("acme", "High", 2, 1, 1, 2, Decimal("10.00")),
            ("acme", "none", 1, 1, 0, 1, Decimal("0.00")),  # O3 exists only in the Sandbox catalog
            ("acme", "Low", 1, 0, 1, 0, Decimal("0.00")),
        ],
    )
