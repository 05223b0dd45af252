"""Deterministic Selling API payloads for the demo tenants, landed into bronze through ``land_payloads``.

The demo's emulator serves opportunities; until a sync of engagements, leads, AWS summaries and customer accounts
lands them, ``seed_selling_bronze`` builds botocore-shaped payloads (GetEngagement with Lead contexts,
StartOpportunityFromEngagementTask results, GetAwsOpportunitySummary, GetCustomerAccount,
ListEngagementMembers) around the tenant's own bronze opportunities, so the co-sell marts have something real to
join: conversions point at the tenant's opportunities and AWS stages are compared with the partner's.
It seeds nothing for an entity bronze already holds for the tenant (a real sync wins).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.partner_central.ingest import BRONZE, land_payloads
from lakehouse.tenancy import TenantScope

SOURCES = ("MarketingActivity", "Event", "Website", "Referral")
STATUSES = ("Qualified", "Unqualified", "Qualified", "Working")
SCORES = ("High", "Medium", "Low")
AWS_STAGES = ("Prospect", "Qualified", "Technical Validation", "Business Validation", "Committed", "Launched")
SEEDED = ("engagement", "opportunity_from_engagement_task", "aws_opportunity_summary", "customer_account")


def _pick(seed: str, options: tuple[str, ...]) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return options[digest[0] % len(options)]


def selling_payloads(
    tenant: str, opportunities: list[tuple[str, str | None]]
) -> dict[str, list[dict[str, Any]]]:
    """Payloads per bronze entity for ``opportunities`` ((id, partner stage) of the tenant's Sandbox catalog)."""
    out: dict[str, list[dict[str, Any]]] = {e: [] for e in (*SEEDED, "engagement_member")}
    for n, (opp_id, stage) in enumerate(opportunities):
        engagement_id = f"eng-{tenant}-{n:04d}"
        context_id = f"ctx-{tenant}-{n:04d}"
        seed = f"{tenant}/{opp_id}"
        day = 1 + n % 27
        out["engagement"].append(
            {
                "Id": engagement_id,
                "Arn": f"arn:aws:partnercentral:us-east-1:aws:catalog/Sandbox/engagement/{engagement_id}",
                "Title": f"Co-sell {opp_id}",
                "CreatedAt": f"2025-01-{day:02d}T08:00:00Z",
                "MemberCount": 2,
                "ModifiedAt": f"2025-02-{day:02d}T08:00:00Z",
                "Contexts": [
                    {
                        "Id": context_id,
                        "Type": "Lead",
                        "Payload": {
                            "Lead": {
                                "QualificationStatus": _pick(seed + "status", STATUSES),
                                "Customer": {
                                    "CompanyName": f"Customer {n}",
                                    "Address": {"CountryCode": "US"},
                                },
                                "Interactions": [
                                    {
                                        "SourceType": _pick(seed + "source", SOURCES),
                                        "SourceId": f"src-{n}",
                                        "SourceName": "Demo campaign",
                                        "Usecase": "Migration",
                                        "InteractionDate": f"2025-01-{day:02d}T09:00:00Z",
                                    }
                                ],
                            }
                        },
                    }
                ],
            }
        )
        out["engagement_member"].append(
            {
                "EngagementIdentifier": engagement_id,
                "Catalog": "Sandbox",
                "EngagementMemberList": [
                    {"CompanyName": "AWS", "AccountId": "000000000000"},
                    {"CompanyName": tenant, "AccountId": "111111111111"},
                ],
            }
        )
        if n % 2 == 0:  # every other lead was converted into its opportunity, 3 to 20 days later
            out["opportunity_from_engagement_task"].append(
                {
                    "TaskId": f"task-{tenant}-{n:04d}",
                    "StartTime": f"2025-02-{min(27, day + 3 + n % 17):02d}T09:00:00Z",
                    "TaskStatus": "COMPLETE",
                    "EngagementId": engagement_id,
                    "ContextId": context_id,
                    "OpportunityId": opp_id,
                }
            )
        if n % 3 != 2:  # AWS engaged on two in three
            aws_stage = (
                stage if _pick(seed + "agree", ("y", "y", "n")) == "y" else _pick(seed + "aws", AWS_STAGES)
            )
            out["aws_opportunity_summary"].append(
                {
                    "RelatedOpportunityId": opp_id,
                    "Catalog": "Sandbox",
                    "Origin": "Partner Referral",
                    "InvolvementType": "Co-Sell",
                    "LifeCycle": {"Stage": aws_stage},
                    "Insights": {
                        "EngagementScore": _pick(seed + "score", SCORES),
                        "NextBestActions": "Book a technical validation" if n % 4 else None,
                        "Recommendations": [{"Type": "ProductFit", "Details": "Consider AWS Migration Hub"}],
                        "AwsProductsSpendInsightsBySource": {
                            "AWS": {
                                "CurrencyCode": "USD",
                                "Frequency": "Monthly",
                                "TotalAmount": f"{100 + 25 * n}.00",
                            }
                        },
                    },
                    "CosellMotion": "Cosell",
                }
            )
        if n < 5:
            out["customer_account"].append(
                {
                    "Id": f"ca-{tenant}-{n}",
                    "Catalog": "Sandbox",
                    "EnrichmentStatus": "Completed",
                    "CreatedDate": "2025-01-01T00:00:00Z",
                    "LastModifiedDate": f"2025-01-{day:02d}T00:00:00Z",
                    "Account": {"CompanyName": f"Customer {n}", "Address": {"CountryCode": "US"}},
                }
            )
    return out


def seed_selling_bronze(spark: SparkSession, tenant: str, run_id: str) -> dict[str, int]:
    """Land demo Selling payloads for the tenant's Sandbox bronze opportunities; rows landed per entity."""
    scope = TenantScope.for_tenant(tenant)
    have = {e for e in SEEDED if io.exists(BRONZE[e]) and io.read(spark, BRONZE[e], scope).limit(1).count()}
    if have or not io.exists(BRONZE["opportunity"]):
        return {}
    rows = (
        io.read(spark, BRONZE["opportunity"], scope)
        .where(F.col("catalog") == F.lit("Sandbox"))
        .select("entity_id", "last_modified_at", "payload")
        .collect()
    )
    latest: dict[str, str | None] = {}  # each opportunity's stage in its latest landed version
    for r in sorted(rows, key=lambda r: (r["entity_id"], r["last_modified_at"] or 0)):
        try:
            latest[r["entity_id"]] = (json.loads(r["payload"]).get("LifeCycle") or {}).get("Stage")
        except ValueError:
            continue
    payloads = selling_payloads(tenant, sorted(latest.items())[:40])
    return {
        entity: land_payloads(spark, scope, entity, items, run_id, catalog="Sandbox").landed
        for entity, items in payloads.items()
        if items
    }
