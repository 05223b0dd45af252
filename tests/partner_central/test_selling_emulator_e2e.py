"""From the Partner Central emulator to gold: the sync lands opportunities, engagements (leads are Lead contexts),
customer accounts and AWS summaries; conversion tasks and member lists are read and landed with
``land_payloads``; the gold marts are checked against a plain-Python computation over the landed payloads."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from lakehouse import io
from lakehouse.partner_central import pipeline
from lakehouse.partner_central.connector import ENTITIES, ConnectorConfig, PartnerCentralReader
from lakehouse.partner_central.ingest import BRONZE, land_payloads, sync_partner_central
from lakehouse.tenancy import TenantScope
from sandboxes.partner_central import SandboxServer, SandboxState, serve_in_thread

from .test_selling_e2e import expected_funnel, expected_health

TENANT = "acme"
CATALOG = "Sandbox"
SCOPE = TenantScope.for_tenant(TENANT)
AS_OF = date(2025, 6, 1)
pytestmark = pytest.mark.slow


@pytest.fixture
def emulator() -> Iterator[SandboxServer]:
    if "leads" not in inspect.signature(SandboxState.seed_tenant).parameters:
        pytest.skip("the emulator seeds no leads or engagements yet")
    state = SandboxState(seed=7)
    state.seed_tenant(
        TENANT, opportunities=18, catalog=CATALOG, solutions=1, invitations=3, leads=12, customer_accounts=3
    )
    server = serve_in_thread(state)
    yield server
    server.stop()


def reader_for(server: SandboxServer) -> PartnerCentralReader:
    account = server.state.tenants[TENANT]
    return PartnerCentralReader.from_config(
        ConnectorConfig(
            endpoint_url=server.url,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            rate_per_second=None,
        )
    )


def landed(spark, entity: str) -> list[dict[str, Any]]:
    """The payloads bronze holds for an entity, parsed (the independent computation's input)."""
    if not io.exists(BRONZE[entity]):
        return []
    return [
        json.loads(r["payload"]) for r in io.read(spark, BRONZE[entity], SCOPE).select("payload").collect()
    ]


def latest_by_id(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(payloads, key=lambda p: p["LastModifiedDate"]):
        out[p["Id"]] = p
    return list(out.values())


def test_emulator_to_gold_equals_the_independent_computation(spark, pipeline_lake, emulator):
    reader = reader_for(emulator)
    run = sync_partner_central(
        spark,
        SCOPE,
        reader,
        catalog=CATALOG,
        rate_per_second=None,
        entities=(*ENTITIES, "engagement", "customer_account"),
        aws_summaries=True,
    )
    assert run.status == "succeeded"
    engagements = landed(spark, "engagement")
    assert engagements, "the sync landed no engagements"
    tasks = list(reader.read_all("ListOpportunityFromEngagementTasks", Catalog=CATALOG))
    land_payloads(spark, SCOPE, "opportunity_from_engagement_task", tasks, "tasks-1", catalog=CATALOG)
    members = [
        {
            "EngagementIdentifier": e["Id"],
            "Catalog": CATALOG,
            "EngagementMemberList": reader.list_engagement_members(CATALOG, e["Id"]),
        }
        for e in engagements
    ]
    land_payloads(spark, SCOPE, "engagement_member", members, "members-1", catalog=CATALOG)
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)

    data = {
        "engagement": engagements,
        "engagement_invitation": landed(spark, "engagement_invitation"),
        "opportunity": latest_by_id(landed(spark, "opportunity")),
        "opportunity_from_engagement_task": landed(spark, "opportunity_from_engagement_task"),
        "aws_opportunity_summary": landed(spark, "aws_opportunity_summary"),
    }
    assert data["opportunity_from_engagement_task"], "the emulator converted no lead"
    want = expected_funnel(data, catalog=CATALOG)
    got = {
        (r["lead_source"], r["qualification_status"]): (
            r["lead_count"],
            r["converted_count"],
            r["won_count"],
            r["conversion_rate"],
            r["win_rate"],
            r["avg_days_to_convert"],
        )
        for r in (x.asDict() for x in io.read(spark, "gold.ace_lead_funnel", SCOPE).collect())
    }
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key][:3] == values[:3]
        for g, w in zip(got[key][3:], values[3:], strict=True):
            assert (g is None) if w is None else g == pytest.approx(w), (key, got[key], values)
    health = {
        r["engagement_score"]: (
            r["opportunity_count"],
            r["stage_mismatch_count"],
            r["next_best_action_count"],
            r["recommendation_count"],
            r["aws_spend_total_usd"],
        )
        for r in (x.asDict() for x in io.read(spark, "gold.ace_engagement_health", SCOPE).collect())
    }
    if data["aws_opportunity_summary"]:
        assert health == expected_health(data)
    assert io.read(spark, "silver.engagement_member", SCOPE).count() == sum(
        len(m["EngagementMemberList"]) for m in members
    )
