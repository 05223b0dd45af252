"""Selling payloads landed through ``land_payloads`` -> silver -> gold, with the marts checked against a plain-Python
computation of the same definitions over the same payloads."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from lakehouse import io
from lakehouse.errors import BadInput
from lakehouse.partner_central import pipeline
from lakehouse.partner_central.ingest import land_payloads
from lakehouse.tenancy import TenantScope

from . import selling_data as sd
from .conftest import opportunity

TENANT = "acme"
AS_OF = date(2025, 6, 1)
SCOPE = TenantScope.for_tenant(TENANT)

pytestmark = pytest.mark.slow


def rows(spark, table: str) -> list[dict[str, Any]]:
    return [r.asDict(recursive=True) for r in io.read(spark, table, SCOPE).collect()]


def scenario() -> dict[str, list[dict[str, Any]]]:
    """Engagements with Lead contexts, a LeadInvitation, conversions, AWS summaries and partner opportunities."""
    return {
        "opportunity": [
            opportunity("O100", stage="Launched"),
            opportunity("O200", stage="Qualified"),
            {**opportunity("O100", stage="Prospect"), "Catalog": "Sandbox"},  # same id, other catalog
        ],
        "engagement": [
            sd.engagement("eng-1", [sd.lead_context("ctx-1"), sd.project_context("ctx-p")]),
            sd.engagement("eng-2", [sd.lead_context("ctx-2", interactions=("2025-01-02T00:00:00Z",))]),
            sd.engagement("eng-3", [sd.lead_context("ctx-3", source="Website", status="Unqualified")]),
        ],
        "engagement_invitation": [sd.lead_invitation("inv-1", "eng-4"), sd.lead_invitation("inv-2", "eng-1")],
        "opportunity_from_engagement_task": [
            sd.conversion_task(
                "t1", "eng-1", context_id="ctx-1", opportunity_id="O100", started="2025-01-15T00:00:00Z"
            ),
            sd.conversion_task(
                "t2", "eng-2", context_id="ctx-2", opportunity_id="O200", started="2025-01-12T00:00:00Z"
            ),
            sd.conversion_task("t3", "eng-3", context_id=None, opportunity_id=None, status="FAILED"),
        ],
        "aws_opportunity_summary": [
            sd.aws_summary("O100", stage="Launched", score="High", spend="100.00"),
            sd.aws_summary("O200", stage="Committed", score="High", next_best_actions=None, spend="50.25"),
            sd.aws_summary("O300", stage="Prospect", score="Low", recommendations=3, currency="EUR"),
        ],
        "engagement_member": [sd.members("eng-1", ["AWS", "Acme Partner"])],
        "customer_account": [sd.customer_account("ca-1")],
        "resource_snapshot": [sd.snapshot("eng-1", "O100", 1), sd.snapshot("eng-1", "O100", 2)],
    }


def expected_funnel(
    data: dict[str, list[dict[str, Any]]], catalog: str = "AWS"
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """ace_lead_funnel by its written definition, computed over the payloads of one catalog in plain Python."""

    def instant(text: str) -> datetime:
        return datetime.fromisoformat(text)

    leads = []
    for e in data["engagement"]:
        for c in e.get("Contexts") or []:
            if c["Type"] != "Lead":
                continue
            lead = c["Payload"]["Lead"]
            interactions = lead.get("Interactions") or []
            dates = [i["InteractionDate"] for i in interactions if i.get("InteractionDate")]
            first = min(dates, default=e["CreatedAt"])
            source = interactions[0].get("SourceType") if interactions else None
            leads.append((e["Id"], c["Id"], source, lead.get("QualificationStatus"), instant(first)))
    with_context = {
        e["Id"] for e in data["engagement"] if any(c["Type"] == "Lead" for c in e.get("Contexts") or [])
    }
    for inv in data["engagement_invitation"]:
        if inv.get("PayloadType") != "LeadInvitation" or inv["EngagementId"] in with_context:
            continue
        interaction = inv["Payload"]["LeadInvitation"].get("Interaction") or {}
        source = interaction.get("SourceType")
        leads.append((inv["EngagementId"], None, source, inv["Status"], instant(inv["InvitationDate"])))
    stages = {(o.get("Catalog"), o["Id"]): o["LifeCycle"]["Stage"] for o in data["opportunity"]}
    groups: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, 0, []])
    for engagement_id, context_id, source, status, created in leads:
        g = groups[(source or "unknown", status or "unknown")]
        g[0] += 1
        tasks = [
            t
            for t in data["opportunity_from_engagement_task"]
            if t["TaskStatus"] == "COMPLETE"
            and t.get("OpportunityId")
            and t["EngagementId"] == engagement_id
            and t.get("ContextId") in (None, context_id)
        ]
        if tasks:
            task = min(tasks, key=lambda t: (t["StartTime"], t["OpportunityId"]))
            g[1] += 1
            g[2] += stages.get((catalog, task["OpportunityId"])) == "Launched"
            g[3].append((instant(task["StartTime"]) - created).total_seconds() / 86400)
    return {
        k: (n, c, w, c / n, (w / c) if c else None, (sum(d) / len(d)) if d else None)
        for k, (n, c, w, d) in groups.items()
    }


def expected_health(data: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[Any, ...]]:
    """ace_engagement_health by its written definition, in plain Python."""
    stages = {(o.get("Catalog"), o["Id"]): o["LifeCycle"]["Stage"] for o in data["opportunity"]}
    out: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, Decimal("0.00")])
    for s in data["aws_opportunity_summary"]:
        insights = s.get("Insights") or {}
        g = out[insights.get("EngagementScore") or "none"]
        g[0] += 1
        aws_stage = (s.get("LifeCycle") or {}).get("Stage")
        mine = stages.get((s["Catalog"], s["RelatedOpportunityId"]))
        g[1] += aws_stage is not None and aws_stage != mine
        g[2] += bool((insights.get("NextBestActions") or "").strip())
        g[3] += len(insights.get("Recommendations") or [])
        spend = (insights.get("AwsProductsSpendInsightsBySource") or {}).get("AWS") or {}
        if spend.get("CurrencyCode") == "USD" and spend.get("TotalAmount"):
            g[4] += Decimal(spend["TotalAmount"])
    return {k: tuple(v) for k, v in out.items()}


def land(spark, data: dict[str, list[dict[str, Any]]], run_id: str) -> None:
    for entity, payloads in data.items():
        by_catalog: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in payloads:
            by_catalog[p.get("Catalog", "AWS")].append(p)
        for catalog, items in by_catalog.items():
            land_payloads(spark, SCOPE, entity, items, run_id, catalog=catalog)


def test_gold_marts_equal_the_independent_computation(spark, pipeline_lake):
    data = scenario()
    land(spark, data, "sync-1")
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    funnel = {
        (r["lead_source"], r["qualification_status"]): (
            r["lead_count"],
            r["converted_count"],
            r["won_count"],
            r["conversion_rate"],
            r["win_rate"],
            r["avg_days_to_convert"],
        )
        for r in rows(spark, "gold.ace_lead_funnel")
    }
    assert set(funnel) == set(expected_funnel(data))
    for key, values in expected_funnel(data).items():
        assert funnel[key][:3] == values[:3]
        for got, want in zip(funnel[key][3:], values[3:], strict=True):
            assert got == pytest.approx(want) if want is not None else got is None
    health = {
        r["engagement_score"]: (
            r["opportunity_count"],
            r["stage_mismatch_count"],
            r["next_best_action_count"],
            r["recommendation_count"],
            r["aws_spend_total_usd"],
        )
        for r in rows(spark, "gold.ace_engagement_health")
    }
    assert health == expected_health(data)


def test_silver_holds_every_entity_and_both_catalogs_of_one_opportunity_id(spark, pipeline_lake):
    land(spark, scenario(), "sync-1")
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    assert sorted((r["catalog"], r["opportunity_id"]) for r in rows(spark, "silver.opportunity")) == [
        ("AWS", "O100"),
        ("AWS", "O200"),
        ("Sandbox", "O100"),
    ]
    assert sorted(r["lead_id"] for r in rows(spark, "silver.lead")) == [
        "eng-1/ctx-1",
        "eng-2/ctx-2",
        "eng-3/ctx-3",
        "inv-1",
        "inv-2",
    ]
    assert sorted(
        (r["engagement_id"], r["context_index"]) for r in rows(spark, "silver.engagement_context")
    ) == [
        ("eng-1", 0),
        ("eng-1", 1),
        ("eng-2", 0),
        ("eng-3", 0),
    ]
    assert [
        r["company_name"]
        for r in sorted(rows(spark, "silver.engagement_member"), key=lambda r: r["member_index"])
    ] == [
        "AWS",
        "Acme Partner",
    ]
    assert sorted(r["revision"] for r in rows(spark, "silver.resource_snapshot")) == [1, 2]
    assert [r["customer_account_id"] for r in rows(spark, "silver.customer_account")] == ["ca-1"]
    assert sorted(r["task_id"] for r in rows(spark, "silver.lead_conversion")) == ["t1", "t2", "t3"]


def test_a_new_member_list_replaces_the_old_one_and_a_rerun_writes_nothing(spark, pipeline_lake):
    land_payloads(spark, SCOPE, "engagement_member", [sd.members("eng-1", ["AWS", "Old", "Gone"])], "s1")
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    land_payloads(spark, SCOPE, "engagement_member", [sd.members("eng-1", ["AWS", "New"])], "s2")
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    got = sorted((r["member_index"], r["company_name"]) for r in rows(spark, "silver.engagement_member"))
    assert got == [(0, "AWS"), (1, "New")]
    version = io.table_version("silver.engagement_member")
    outcome = pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")[0]
    assert outcome.status == "nothing_new" and io.table_version("silver.engagement_member") == version


def test_a_bad_summary_is_quarantined_with_its_reason_and_the_rest_promoted(spark, pipeline_lake):
    bad = sd.aws_summary("O9")
    bad["Insights"] = "High"
    land_payloads(spark, SCOPE, "aws_opportunity_summary", [bad, sd.aws_summary("O1")], "s1")
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    assert [r["opportunity_id"] for r in rows(spark, "silver.aws_opportunity_summary")] == ["O1"]
    assert [
        (r["entity"], r["entity_id"], r["reason"]) for r in rows(spark, "silver.opportunity_quarantine")
    ] == [("aws_opportunity_summary", "O9", "Insights is not a JSON object")]


def test_land_payloads_refuses_a_payload_without_its_id_and_lands_nothing(spark, pipeline_lake):
    with pytest.raises(BadInput, match="aws_opportunity_summary payload 1 has no id"):
        land_payloads(
            spark, SCOPE, "aws_opportunity_summary", [sd.aws_summary("O1"), {"Catalog": "AWS"}], "s1"
        )
    assert rows(spark, "bronze.partner_central_aws_opportunity_summary") == []
    with pytest.raises(BadInput, match="unknown Partner Central entity 'lead'"):
        land_payloads(spark, SCOPE, "lead", [], "s1")


def test_land_payloads_keeps_text_verbatim_and_lands_a_payload_once(spark, pipeline_lake):
    text = '{"RelatedOpportunityId": "O1", "Catalog": "AWS",  "Origin": "AWS Referral"}'
    first = land_payloads(spark, SCOPE, "aws_opportunity_summary", [text], "s1")
    again = land_payloads(spark, SCOPE, "aws_opportunity_summary", [text], "s2")
    assert (first.landed, first.duplicates, again.landed, again.duplicates) == (1, 0, 0, 1)
    assert [r["payload"] for r in rows(spark, "bronze.partner_central_aws_opportunity_summary")] == [text]


def test_lineage_edges_lead_from_the_selling_silver_tables_to_their_marts(spark, pipeline_lake):
    land(spark, scenario(), "sync-1")
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    got = {(r["input_table"], r["output_table"]) for r in rows(spark, "ops.lineage_edge")}
    assert {
        ("silver.lead", "gold.ace_lead_funnel"),
        ("silver.lead_conversion", "gold.ace_lead_funnel"),
        ("silver.opportunity", "gold.ace_lead_funnel"),
        ("silver.aws_opportunity_summary", "gold.ace_engagement_health"),
        ("bronze.partner_central_engagement", "silver.lead"),
        ("bronze.partner_central_aws_opportunity_summary", "silver.aws_opportunity_summary"),
    } <= got
    version = io.table_version("gold.ace_lead_funnel")
    outcome = pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)[1]
    assert (
        outcome.status in ("nothing_new", "unchanged") and io.table_version("gold.ace_lead_funnel") == version
    )


def test_land_payloads_serialises_parsed_timestamps_as_utc_iso_text(spark, pipeline_lake):
    from datetime import UTC, timedelta, timezone

    started = datetime(2025, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=2)))  # as boto3 parses it
    task = {"TaskId": "t1", "TaskStatus": "COMPLETE", "EngagementId": "e1", "StartTime": started}
    land_payloads(spark, SCOPE, "opportunity_from_engagement_task", [task], "s1", catalog="Sandbox")
    (row,) = rows(spark, "bronze.partner_central_opportunity_from_engagement_task")
    assert json.loads(row["payload"])["StartTime"] == "2025-01-15T08:00:00Z"
    assert (row["catalog"], row["entity_id"]) == ("Sandbox", "t1")
    assert row["last_modified_at"].replace(tzinfo=UTC) == datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
