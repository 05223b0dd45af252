"""Silver and gold tables of the Partner Central Selling co-sell surfaces: engagements and their members and
contexts, leads, lead -> opportunity conversions, resource snapshots, AWS opportunity summaries and customer
accounts; gold ``ace_lead_funnel`` and ``ace_engagement_health``.

Conventions as for opportunities (entities/silver.py): ``tenant_id`` first, every key carries ``catalog`` (an id
may exist in both the AWS and the Sandbox catalog), the latest version by the payload's own date then the
landing time, lineage columns back to the bronze payload, no ``pii`` column (contacts appear only as counts).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
)

from lakehouse.catalog import Classification, TableDef, declare
from lakehouse.partner_central.entities.silver import AMOUNT

_S, _TS, _D, _I, _L = StringType(), TimestampType(), DateType(), IntegerType(), LongType()
_ARR = ArrayType(StringType())
_SOURCE: list[tuple[str, DataType, Classification]] = [
    ("source_ingestion_run_id", _S, "internal"),
    ("source_ingested_at", _TS, "internal"),
    ("source_payload_sha256", _S, "internal"),
]

LEAD_CONTEXT_TYPE = "Lead"
CONTEXT_TYPES: tuple[str, ...] = ("CustomerProject", "Lead", "ProspectingResult", "CustomerAccount")

ENGAGEMENT = declare(
    "silver",
    "engagement",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("arn", _S, "internal"),
        ("title", _S, "confidential"),
        ("description", _S, "confidential"),
        ("created_at", _TS, "internal"),
        ("created_by", _S, "confidential"),
        ("modified_at", _TS, "internal"),
        ("modified_by", _S, "confidential"),
        ("member_count", _I, "internal"),
        ("context_count", _I, "internal"),
        ("context_types", _ARR, "internal"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "catalog", "engagement_id"),
    grain="one row per (tenant_id, catalog, engagement_id): the latest GetEngagement version (ModifiedAt, then "
    "ingested_at)",
    description="Engagements (AWS and partners working one customer opportunity together). Contexts are in "
    "silver.engagement_context, leads among them also in silver.lead.",
)

ENGAGEMENT_CONTEXT = declare(
    "silver",
    "engagement_context",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("context_id", _S, "internal"),
        ("context_index", _I, "internal"),
        ("context_type", _S, "internal"),
        ("customer_company_name", _S, "confidential"),
        ("customer_industry", _S, "confidential"),
        ("customer_country_code", _S, "confidential"),
        ("project_title", _S, "confidential"),
        ("project_business_problem", _S, "confidential"),
        ("lead_qualification_status", _S, "internal"),
        ("prospecting_task_id", _S, "internal"),
        ("customer_account_id", _S, "internal"),
        ("last_modified_at", _TS, "internal"),
        ("source_ingestion_run_id", _S, "internal"),
    ],
    keys=("tenant_id", "catalog", "engagement_id", "context_index"),
    grain="one row per context of the current engagement version (context_index = position in Contexts)",
    description="Engagement contexts (CustomerProject, Lead, ProspectingResult, CustomerAccount), one typed row "
    "each with the customer and project of the context.",
)

ENGAGEMENT_MEMBER = declare(
    "silver",
    "engagement_member",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("member_index", _I, "internal"),
        ("company_name", _S, "confidential"),
        ("website_url", _S, "confidential"),
        ("account_id", _S, "confidential"),
        ("last_modified_at", _TS, "internal"),
        ("source_ingestion_run_id", _S, "internal"),
    ],
    keys=("tenant_id", "catalog", "engagement_id", "member_index"),
    grain="one row per member of the latest ListEngagementMembers result of an engagement",
    description="Engagement members (AWS and partner accounts): company, website and AWS account id.",
)

LEAD = declare(
    "silver",
    "lead",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("lead_id", _S, "internal"),
        ("lead_origin", _S, "internal"),  # engagement_context | lead_invitation
        ("engagement_id", _S, "internal"),
        ("context_id", _S, "internal"),
        ("invitation_id", _S, "internal"),
        ("source_type", _S, "internal"),
        ("source_id", _S, "internal"),
        ("source_name", _S, "internal"),
        ("qualification_status", _S, "internal"),
        ("interaction_count", _I, "internal"),
        ("first_interaction_at", _TS, "internal"),
        ("last_interaction_at", _TS, "internal"),
        ("use_case", _S, "confidential"),
        ("customer_company_name", _S, "confidential"),
        ("customer_industry", _S, "confidential"),
        ("customer_country_code", _S, "confidential"),
        ("customer_aws_maturity", _S, "confidential"),
        ("customer_market_segment", _S, "confidential"),
        ("lead_readiness_score", _S, "internal"),
        ("recommended_channel", _S, "internal"),
        ("prospecting_segment", _S, "internal"),
        ("prospecting_marketplace_engagement_score", _S, "internal"),
        ("prospecting_solution_score", _S, "internal"),
        ("created_at", _TS, "internal"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "catalog", "lead_id"),
    grain="one row per (tenant_id, catalog, lead_id): lead_id is '<engagement id>/<Lead context id>' (lead_origin "
    "engagement_context; context ids are unique within their engagement only) or the LeadInvitation id "
    "(lead_origin lead_invitation); latest version",
    description="AWS-referred and partner leads: source, qualification status, interactions, customer, use case "
    "and the prospecting insights AWS attached. Conversion to an opportunity is in silver.lead_conversion; "
    "gold.ace_lead_funnel joins the two.",
)

LEAD_CONVERSION = declare(
    "silver",
    "lead_conversion",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("task_id", _S, "internal"),
        ("task_status", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("context_id", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("started_at", _TS, "internal"),
        ("reason_code", _S, "internal"),
        ("message", _S, "confidential"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "catalog", "task_id"),
    grain="one row per StartOpportunityFromEngagementTask task (latest status seen)",
    description="Lead -> opportunity conversions: the engagement (and Lead context) an opportunity was started "
    "from, when, and the task's outcome (COMPLETE with an OpportunityId is a conversion).",
)

RESOURCE_SNAPSHOT = declare(
    "silver",
    "resource_snapshot",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("resource_type", _S, "internal"),
        ("resource_id", _S, "internal"),
        ("template_name", _S, "internal"),
        ("revision", _I, "internal"),
        ("arn", _S, "internal"),
        ("created_at", _TS, "internal"),
        ("created_by", _S, "confidential"),
        ("opportunity_type", _S, "internal"),
        ("stage", _S, "internal"),
        ("review_status", _S, "internal"),
        ("target_close_date", _D, "internal"),
        ("customer_company_name", _S, "confidential"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=(
        "tenant_id",
        "catalog",
        "engagement_id",
        "resource_type",
        "resource_id",
        "template_name",
        "revision",
    ),
    grain="one row per resource snapshot revision shared with an engagement",
    description="What a partner shared into an engagement at each revision (OpportunitySummary template).",
)

AWS_OPPORTUNITY_SUMMARY = declare(
    "silver",
    "aws_opportunity_summary",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("origin", _S, "internal"),
        ("involvement_type", _S, "internal"),
        ("involvement_type_change_reason", _S, "internal"),
        ("visibility", _S, "internal"),
        ("aws_stage", _S, "internal"),
        ("aws_closed_lost_reason", _S, "internal"),
        ("aws_target_close_date", _D, "internal"),
        ("aws_next_steps", _S, "confidential"),
        ("cosell_motion", _S, "internal"),
        ("cosell_motion_reason", _S, "internal"),
        ("engagement_score", _S, "internal"),
        ("next_best_actions", _S, "confidential"),
        ("opportunity_quality_score", _I, "internal"),
        ("opportunity_quality_trend", _S, "internal"),
        ("aws_spend_currency_code", _S, "internal"),
        ("aws_spend_frequency", _S, "internal"),
        ("aws_spend_total", AMOUNT, "confidential"),
        ("aws_spend_potential_savings", AMOUNT, "confidential"),
        ("aws_product_codes", _ARR, "internal"),
        ("recommendation_count", _I, "internal"),
        ("recommendation_types", _ARR, "internal"),
        ("aws_team_count", _I, "internal"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "catalog", "opportunity_id"),
    grain="one row per (tenant_id, catalog, opportunity_id) AWS engaged on: the latest GetAwsOpportunitySummary",
    description="AWS's view of a partner opportunity: AWS stage and review, involvement, co-sell motion, "
    "engagement score, next best actions, AWS products spend insights (source AWS), recommendations. Joins "
    "silver.opportunity on (tenant_id, catalog, opportunity_id).",
)

CUSTOMER_ACCOUNT = declare(
    "silver",
    "customer_account",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("customer_account_id", _S, "internal"),
        ("arn", _S, "internal"),
        ("enrichment_status", _S, "internal"),
        ("partner_account_identifier", _S, "internal"),
        ("company_name", _S, "confidential"),
        ("industry", _S, "confidential"),
        ("country_code", _S, "confidential"),
        ("website_url", _S, "confidential"),
        ("domain", _S, "confidential"),
        ("duns", _S, "confidential"),
        ("aws_segment", _S, "internal"),
        ("aws_geo", _S, "internal"),
        ("aws_marketplace_engagement_score", _S, "internal"),
        ("issue_count", _I, "internal"),
        ("created_at", _TS, "internal"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "catalog", "customer_account_id"),
    grain="one row per (tenant_id, catalog, customer_account_id): the latest GetCustomerAccount version",
    description="Customer accounts the partner registered, with AWS's enrichment.",
)

SELLING_SILVER_TABLES: tuple[TableDef, ...] = (
    ENGAGEMENT,
    ENGAGEMENT_CONTEXT,
    ENGAGEMENT_MEMBER,
    LEAD,
    LEAD_CONVERSION,
    RESOURCE_SNAPSHOT,
    AWS_OPPORTUNITY_SUMMARY,
    CUSTOMER_ACCOUNT,
)

ACE_LEAD_FUNNEL = declare(
    "gold",
    "ace_lead_funnel",
    [
        ("tenant_id", _S, "internal"),
        ("lead_source", _S, "internal"),
        ("qualification_status", _S, "internal"),
        ("lead_count", _L, "internal"),
        ("converted_count", _L, "internal"),
        ("won_count", _L, "internal"),
        ("conversion_rate", DoubleType(), "internal"),
        ("win_rate", DoubleType(), "internal"),
        ("avg_days_to_convert", DoubleType(), "internal"),
    ],
    keys=("tenant_id", "lead_source", "qualification_status"),
    grain="one row per tenant x lead_source (the lead's source type, 'unknown' when missing) x qualification_status "
    "('unknown' when missing)",
    description="Leads (a LeadInvitation whose engagement also holds a Lead context is counted once, as the "
    "context) -> converted (a COMPLETE StartOpportunityFromEngagementTask with an OpportunityId for the "
    "lead's engagement, and context when the task names one) -> won (that opportunity's silver stage is Launched, "
    "same catalog). conversion_rate = converted / leads; win_rate = won / converted (null when none converted); "
    "avg_days_to_convert = mean days from the lead's created_at to the task's start (null when none).",
)

ACE_ENGAGEMENT_HEALTH = declare(
    "gold",
    "ace_engagement_health",
    [
        ("tenant_id", _S, "internal"),
        ("engagement_score", _S, "internal"),
        ("opportunity_count", _L, "internal"),
        ("stage_mismatch_count", _L, "internal"),
        ("next_best_action_count", _L, "internal"),
        ("recommendation_count", _L, "internal"),
        ("aws_spend_total_usd", AMOUNT, "confidential"),
    ],
    keys=("tenant_id", "engagement_score"),
    grain="one row per tenant x AWS engagement score (High | Medium | Low as AWS sends it; 'none' when missing)",
    description="AWS opportunity summaries per engagement score: how many; stage_mismatch_count = those whose AWS "
    "stage differs from the partner's silver.opportunity stage (same catalog and id; an opportunity missing on "
    "the partner side counts as a mismatch); next_best_action_count = those with a non-empty NextBestActions (the "
    "backlog); recommendation_count = their recommendations; aws_spend_total_usd = sum of AWS-sourced spend "
    "insights in USD (0 when none).",
)

SELLING_GOLD_TABLES: tuple[TableDef, ...] = (ACE_LEAD_FUNNEL, ACE_ENGAGEMENT_HEALTH)
