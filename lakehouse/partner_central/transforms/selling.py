"""Bronze -> silver -> gold for the Selling co-sell surfaces (tables in lakehouse.partner_central.entities.selling).

Same flow as opportunities (transforms/silver.py): ``parse_*`` reads the payload with a ``from_json`` schema built
from botocore's output shape (lakehouse.partner_central.shapes: every scalar as text, typed here), adds the
model's type and length checks and the entity's own ones as ``quarantine_reason``, and keeps only counts of
contacts (no personal data leaves the parse). The pipeline stages the parsed frame; ``to_*`` project (and
explode, without lambdas) the silver tables; ``lead_funnel`` / ``engagement_health`` build the gold marts.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.catalog import TableDef
from lakehouse.partner_central import shapes
from lakehouse.partner_central.entities import selling
from lakehouse.partner_central.entities.silver import AMOUNT, WON_STAGE
from lakehouse.partner_central.transforms import payloads as pcj
from lakehouse.partner_central.transforms.silver import (
    REASON_NOT_JSON,
    _blank,
    _reasons,
    _redacted_payload,
    count_of,
    shape_checks,
    to_amount,
    to_day,
    to_ts,
)

_J = "_j"
REASON_NO_ID = "missing id"
COMPLETE = "COMPLETE"
USD = "USD"


def _read(bronze: DataFrame, operation: str) -> DataFrame:
    """Bronze rows with the payload parsed by the operation's output shape (``_j``) and the raw payload."""
    return bronze.select(
        "tenant_id",
        F.col("catalog").alias("_bronze_catalog"),
        F.col("entity_id").alias("_bronze_id"),
        F.col("last_modified_at").alias("_bronze_lm"),
        "payload_sha256",
        "ingestion_run_id",
        "ingested_at",
        F.from_json("payload", shapes.spark_schema(shapes.output_shape(operation))).alias(_J),
        F.json_object_keys(F.col("payload")).isNotNull().alias("_is_object"),
        F.col("payload").alias("_payload"),
    )


def _reason(operation: str, record_id: Column, *checks: tuple[Column, str]) -> Column:
    """Not a JSON object, no id, the model's type and length checks, then the entity's own checks."""
    j = F.col(_J)
    return _reasons(
        (~F.col("_is_object"), REASON_NOT_JSON),
        (F.col("_is_object") & _blank(record_id), REASON_NO_ID),
        *shape_checks(j, F.col("_payload"), shapes.output_shape(operation)),
        *checks,
    )


def _timestamp(text: Column, name: str) -> tuple[Column, tuple[Column, str]]:
    typed = to_ts(text)
    return typed, (~_blank(text) & typed.isNull(), f"unparseable {name}")


def _catalog(operation: str | None = None) -> Column:
    """The payload's Catalog when its shape has one, else the catalog bronze landed it under."""
    if (
        operation is not None
        and "Catalog" not in shapes.spark_schema(shapes.output_shape(operation)).fieldNames()
    ):
        return F.col("_bronze_catalog")
    return F.coalesce(F.col(_J)["Catalog"], F.col("_bronze_catalog"))


def _tail(reason: Column) -> list[Column]:
    """Lineage columns, the quarantine reason and (quarantined rows only) the redacted payload."""
    return [
        F.col("ingestion_run_id").alias("source_ingestion_run_id"),
        F.col("ingested_at").alias("source_ingested_at"),
        F.col("payload_sha256").alias("source_payload_sha256"),
        reason.alias("quarantine_reason"),
        F.when(reason != F.lit(""), _redacted_payload(F.col("_payload"))).alias("payload_redacted"),
    ]


def _project(rows: DataFrame, td: TableDef) -> DataFrame:
    return rows.select(*td.schema.fieldNames())


# ------------------------------------------------------------------------------------------------ engagements


def parse_engagements(bronze: DataFrame) -> DataFrame:
    """Bronze GetEngagement rows -> typed engagement columns, its contexts flattened (``contexts``) + reason."""
    j = F.col(_J)
    raw = _read(bronze, "GetEngagement").select("*", j["Contexts"].alias("_contexts"))
    created, created_bad = _timestamp(j["CreatedAt"], "CreatedAt")
    modified, modified_bad = _timestamp(j["ModifiedAt"], "ModifiedAt")
    reason = _reason("GetEngagement", j["Id"], created_bad, modified_bad)

    def context(c: Column) -> Column:
        p = c["Payload"]
        lead, project, account, prospect = (
            p["Lead"],
            p["CustomerProject"],
            p["CustomerAccount"],
            p["ProspectingResult"],
        )
        customer = [project["Customer"], lead["Customer"], account["Customer"]]
        interactions = lead["Interactions"]
        return F.struct(
            c["Id"].alias("context_id"),
            c["Type"].alias("context_type"),
            F.coalesce(
                *[x["CompanyName"] for x in customer], prospect["Aws"]["Customer"]["AccountName"]
            ).alias("customer_company_name"),
            F.coalesce(*[x["Industry"] for x in customer], prospect["Aws"]["Customer"]["Industry"]).alias(
                "customer_industry"
            ),
            F.coalesce(
                project["Customer"]["CountryCode"],
                lead["Customer"]["Address"]["CountryCode"],
                account["Customer"]["CountryCode"],
                prospect["Aws"]["Customer"]["Country"],
            ).alias("customer_country_code"),
            project["Project"]["Title"].alias("project_title"),
            F.coalesce(project["Project"]["BusinessProblem"], interactions[0]["BusinessProblem"]).alias(
                "project_business_problem"
            ),
            lead["QualificationStatus"].alias("lead_qualification_status"),
            prospect["Aws"]["TaskId"].alias("prospecting_task_id"),
            account["AccountIdentifier"].alias("customer_account_id"),
            # the lead's own fields (null for other context types)
            interactions[0]["SourceType"].alias("source_type"),
            interactions[0]["SourceId"].alias("source_id"),
            interactions[0]["SourceName"].alias("source_name"),
            interactions[0]["Usecase"].alias("use_case"),
            F.when(interactions.isNull(), F.lit(0))
            .otherwise(F.size(interactions))
            .cast("int")
            .alias("interaction_count"),
            # ISO-8601 texts in one format sort as instants; typed after the explode
            F.array_min(F.transform(interactions, lambda i: i["InteractionDate"])).alias("first_interaction"),
            F.array_max(F.transform(interactions, lambda i: i["InteractionDate"])).alias("last_interaction"),
            lead["Customer"]["AwsMaturity"].alias("customer_aws_maturity"),
            lead["Customer"]["MarketSegment"].alias("customer_market_segment"),
            lead["Insights"]["LeadReadinessScore"].alias("lead_readiness_score"),
            lead["Insights"]["ChannelRecommendation"]["RecommendedChannel"].alias("recommended_channel"),
        )

    return raw.select(
        "tenant_id",
        _catalog("GetEngagement").alias("catalog"),
        F.when(~_blank(j["Id"]), F.trim(j["Id"])).alias("engagement_id"),
        j["Arn"].alias("arn"),
        j["Title"].alias("title"),
        j["Description"].alias("description"),
        created.alias("created_at"),
        j["CreatedBy"].alias("created_by"),
        modified.alias("modified_at"),
        j["ModifiedBy"].alias("modified_by"),
        j["MemberCount"].cast("int").alias("member_count"),
        count_of(F.col("_contexts")).alias("context_count"),
        F.transform(F.col("_contexts"), lambda c: c["Type"]).alias("context_types"),
        F.coalesce(modified, created, F.col("_bronze_lm")).alias("last_modified_at"),
        F.transform(F.col("_contexts"), context).alias("contexts"),
        *_tail(reason),
    )


def to_engagement(rows: DataFrame) -> DataFrame:
    """silver.engagement rows from parsed, valid, latest rows."""
    return _project(rows, selling.ENGAGEMENT)


def _contexts(rows: DataFrame) -> DataFrame:
    return rows.select(
        "tenant_id",
        "catalog",
        "engagement_id",
        "created_at",
        "last_modified_at",
        "source_ingestion_run_id",
        "source_ingested_at",
        "source_payload_sha256",
        F.posexplode("contexts").alias("context_index", "c"),
    )


def to_engagement_context(rows: DataFrame) -> DataFrame:
    """silver.engagement_context: one row per context of each engagement (context_index = list position)."""
    out = _contexts(rows).select(
        "tenant_id",
        "catalog",
        "engagement_id",
        F.col("c.context_id").alias("context_id"),
        F.col("context_index").cast("int").alias("context_index"),
        *[
            F.col(f"c.{name}").alias(name)
            for name in (
                "context_type",
                "customer_company_name",
                "customer_industry",
                "customer_country_code",
                "project_title",
                "project_business_problem",
                "lead_qualification_status",
                "prospecting_task_id",
                "customer_account_id",
            )
        ],
        "last_modified_at",
        "source_ingestion_run_id",
    )
    return _project(out, selling.ENGAGEMENT_CONTEXT)


def leads_from_engagements(rows: DataFrame) -> DataFrame:
    """silver.lead rows from the Lead contexts of engagements (lead_id = engagement id/context id, or /index)."""
    ctx = _contexts(rows).where(F.col("c.context_type") == F.lit(selling.LEAD_CONTEXT_TYPE))
    first = to_ts(F.col("c.first_interaction"))
    out = ctx.select(
        "tenant_id",
        "catalog",
        # context ids are unique within their engagement only: the lead id is engagement/context
        F.concat_ws(
            "/",
            F.col("engagement_id"),
            F.coalesce(F.col("c.context_id"), F.col("context_index").cast("string")),
        ).alias("lead_id"),
        F.lit("engagement_context").alias("lead_origin"),
        "engagement_id",
        F.col("c.context_id").alias("context_id"),
        F.lit(None).cast("string").alias("invitation_id"),
        F.col("c.source_type").alias("source_type"),
        F.col("c.source_id").alias("source_id"),
        F.col("c.source_name").alias("source_name"),
        F.col("c.lead_qualification_status").alias("qualification_status"),
        F.col("c.interaction_count").alias("interaction_count"),
        first.alias("first_interaction_at"),
        to_ts(F.col("c.last_interaction")).alias("last_interaction_at"),
        F.col("c.use_case").alias("use_case"),
        F.col("c.customer_company_name").alias("customer_company_name"),
        F.col("c.customer_industry").alias("customer_industry"),
        F.col("c.customer_country_code").alias("customer_country_code"),
        F.col("c.customer_aws_maturity").alias("customer_aws_maturity"),
        F.col("c.customer_market_segment").alias("customer_market_segment"),
        F.col("c.lead_readiness_score").alias("lead_readiness_score"),
        F.col("c.recommended_channel").alias("recommended_channel"),
        F.lit(None).cast("string").alias("prospecting_segment"),
        F.lit(None).cast("string").alias("prospecting_marketplace_engagement_score"),
        F.lit(None).cast("string").alias("prospecting_solution_score"),
        F.coalesce(first, F.col("created_at")).alias("created_at"),
        "last_modified_at",
        "source_ingestion_run_id",
        "source_ingested_at",
        "source_payload_sha256",
    )
    return _project(out, selling.LEAD)


def parse_lead_invitations(bronze: DataFrame) -> DataFrame:
    """Bronze GetEngagementInvitation rows of PayloadType LeadInvitation -> silver.lead columns + reason.

    Other invitation types yield no row here (silver.engagement_invitation holds every invitation)."""
    j = F.col(_J)
    raw = bronze.select(
        "tenant_id",
        F.col("catalog").alias("_bronze_catalog"),
        F.col("last_modified_at").alias("_bronze_lm"),
        "payload_sha256",
        "ingestion_run_id",
        "ingested_at",
        F.from_json("payload", pcj.ENGAGEMENT_INVITATION).alias(_J),
        F.json_object_keys(F.col("payload")).isNotNull().alias("_is_object"),
        F.col("payload").alias("_payload"),
    ).where(F.col(_J)["PayloadType"] == F.lit("LeadInvitation"))
    lead = j["Payload"]["LeadInvitation"]
    enrich = j["EnrichmentContext"]
    invited, invited_bad = _timestamp(j["InvitationDate"], "InvitationDate")
    # the invitation's own checks: a payload quarantined as an invitation does not become a lead either
    reason = _reasons(
        (F.col("_is_object") & _blank(j["Id"]), REASON_NO_ID),
        *shape_checks(j, F.col("_payload"), shapes.output_shape("GetEngagementInvitation")),
        invited_bad,
    )
    return raw.select(
        "tenant_id",
        _catalog().alias("catalog"),
        F.when(~_blank(j["Id"]), F.trim(j["Id"])).alias("lead_id"),
        F.lit("lead_invitation").alias("lead_origin"),
        j["EngagementId"].alias("engagement_id"),
        F.lit(None).cast("string").alias("context_id"),
        F.when(~_blank(j["Id"]), F.trim(j["Id"])).alias("invitation_id"),
        lead["Interaction"]["SourceType"].alias("source_type"),
        lead["Interaction"]["SourceId"].alias("source_id"),
        lead["Interaction"]["SourceName"].alias("source_name"),
        j["Status"].alias("qualification_status"),
        F.when(lead["Interaction"].isNull(), F.lit(0))
        .otherwise(F.lit(1))
        .cast("int")
        .alias("interaction_count"),
        F.lit(None).cast("timestamp").alias("first_interaction_at"),
        F.lit(None).cast("timestamp").alias("last_interaction_at"),
        lead["Interaction"]["Usecase"].alias("use_case"),
        lead["Customer"]["CompanyName"].alias("customer_company_name"),
        lead["Customer"]["Industry"].alias("customer_industry"),
        lead["Customer"]["CountryCode"].alias("customer_country_code"),
        lead["Customer"]["AwsMaturity"].alias("customer_aws_maturity"),
        lead["Customer"]["MarketSegment"].alias("customer_market_segment"),
        enrich["LeadInsights"]["LeadReadinessScore"].alias("lead_readiness_score"),
        enrich["LeadInsights"]["ChannelRecommendation"]["RecommendedChannel"].alias("recommended_channel"),
        enrich["ProspectingResultAws"]["Customer"]["Segment"].alias("prospecting_segment"),
        enrich["ProspectingResultAws"]["Insights"]["MarketplaceEngagementScore"].alias(
            "prospecting_marketplace_engagement_score"
        ),
        enrich["ProspectingResultAws"]["Insights"]["SolutionScore"].alias("prospecting_solution_score"),
        invited.alias("created_at"),
        F.coalesce(F.col("_bronze_lm"), invited).alias("last_modified_at"),
        *_tail(reason),
    )


def to_lead(rows: DataFrame) -> DataFrame:
    """silver.lead rows from parsed, valid, latest lead rows."""
    return _project(rows, selling.LEAD)


# ------------------------------------------------------------------------------------------------ members


def parse_engagement_members(bronze: DataFrame) -> DataFrame:
    """Bronze ListEngagementMembers results (one per engagement) -> the member list + reason."""
    j = F.col(_J)
    raw = bronze.select(
        "tenant_id",
        F.col("catalog").alias("_bronze_catalog"),
        F.col("last_modified_at").alias("_bronze_lm"),
        "payload_sha256",
        "ingestion_run_id",
        "ingested_at",
        F.from_json("payload", _MEMBERS_SCHEMA).alias(_J),
        F.json_object_keys(F.col("payload")).isNotNull().alias("_is_object"),
        F.col("payload").alias("_payload"),
    )
    reason = _reasons(
        (~F.col("_is_object"), REASON_NOT_JSON),
        (F.col("_is_object") & _blank(j["EngagementIdentifier"]), REASON_NO_ID),
        *shape_checks(j, F.col("_payload"), shapes.output_shape("ListEngagementMembers")),
    )
    return raw.select(
        "tenant_id",
        _catalog().alias("catalog"),
        F.when(~_blank(j["EngagementIdentifier"]), F.trim(j["EngagementIdentifier"])).alias("engagement_id"),
        F.coalesce(F.col("_bronze_lm"), F.col("ingested_at")).alias("last_modified_at"),
        j["EngagementMemberList"].alias("members"),
        *_tail(reason),
    )


def _members_schema() -> StructType:
    """ListEngagementMembers' output plus the two members the sync adds (see ingest.land_payloads)."""
    base = shapes.spark_schema(shapes.output_shape("ListEngagementMembers"))
    extra = [StructField(n, StringType(), True) for n in ("EngagementIdentifier", "Catalog")]
    return StructType([*base.fields, *extra])


_MEMBERS_SCHEMA = _members_schema()


def to_engagement_member(rows: DataFrame) -> DataFrame:
    """silver.engagement_member: one row per member of the latest member list (member_index = position)."""
    exploded = rows.select(
        "tenant_id",
        "catalog",
        "engagement_id",
        "last_modified_at",
        "source_ingestion_run_id",
        F.posexplode("members").alias("member_index", "m"),
    )
    out = exploded.select(
        "tenant_id",
        "catalog",
        "engagement_id",
        F.col("member_index").cast("int").alias("member_index"),
        F.col("m.CompanyName").alias("company_name"),
        F.col("m.WebsiteUrl").alias("website_url"),
        F.col("m.AccountId").alias("account_id"),
        "last_modified_at",
        "source_ingestion_run_id",
    )
    return _project(out, selling.ENGAGEMENT_MEMBER)


# ---------------------------------------------------------------------------------- conversions, snapshots


def parse_conversion_tasks(bronze: DataFrame) -> DataFrame:
    """Bronze StartOpportunityFromEngagementTask results -> silver.lead_conversion columns + reason."""
    j = F.col(_J)
    raw = _read(bronze, "StartOpportunityFromEngagementTask")
    started, started_bad = _timestamp(j["StartTime"], "StartTime")
    reason = _reason("StartOpportunityFromEngagementTask", j["TaskId"], started_bad)
    return raw.select(
        "tenant_id",
        F.col("_bronze_catalog").alias("catalog"),
        F.when(~_blank(j["TaskId"]), F.trim(j["TaskId"])).alias("task_id"),
        j["TaskStatus"].alias("task_status"),
        j["EngagementId"].alias("engagement_id"),
        j["ContextId"].alias("context_id"),
        j["OpportunityId"].alias("opportunity_id"),
        started.alias("started_at"),
        j["ReasonCode"].alias("reason_code"),
        j["Message"].alias("message"),
        F.coalesce(started, F.col("_bronze_lm")).alias("last_modified_at"),
        *_tail(reason),
    )


def to_lead_conversion(rows: DataFrame) -> DataFrame:
    """silver.lead_conversion rows from parsed, valid, latest rows."""
    return _project(rows, selling.LEAD_CONVERSION)


def parse_resource_snapshots(bronze: DataFrame) -> DataFrame:
    """Bronze GetResourceSnapshot rows -> silver.resource_snapshot columns + reason."""
    j = F.col(_J)
    raw = _read(bronze, "GetResourceSnapshot")
    created, created_bad = _timestamp(j["CreatedAt"], "CreatedAt")
    summary = j["Payload"]["OpportunitySummary"]
    revision = j["Revision"].cast("int")
    reason = _reason(
        "GetResourceSnapshot",
        j["ResourceId"],
        created_bad,
        (~_blank(j["Revision"]) & revision.isNull(), "Revision is not an integer"),
        (_blank(j["EngagementId"]) | _blank(j["Revision"]), "missing EngagementId or Revision"),
    )
    target = to_day(summary["Lifecycle"]["TargetCloseDate"])
    return raw.select(
        "tenant_id",
        _catalog().alias("catalog"),
        j["EngagementId"].alias("engagement_id"),
        j["ResourceType"].alias("resource_type"),
        j["ResourceId"].alias("resource_id"),
        j["ResourceSnapshotTemplateName"].alias("template_name"),
        revision.alias("revision"),
        j["Arn"].alias("arn"),
        created.alias("created_at"),
        j["CreatedBy"].alias("created_by"),
        summary["OpportunityType"].alias("opportunity_type"),
        summary["Lifecycle"]["Stage"].alias("stage"),
        summary["Lifecycle"]["ReviewStatus"].alias("review_status"),
        target.alias("target_close_date"),
        summary["Customer"]["Account"]["CompanyName"].alias("customer_company_name"),
        F.coalesce(created, F.col("_bronze_lm")).alias("last_modified_at"),
        *_tail(reason),
    )


def to_resource_snapshot(rows: DataFrame) -> DataFrame:
    """silver.resource_snapshot rows from parsed, valid, latest rows."""
    return _project(rows, selling.RESOURCE_SNAPSHOT)


# ------------------------------------------------------------------------------------ AWS summaries, accounts


def parse_aws_opportunity_summaries(bronze: DataFrame) -> DataFrame:
    """Bronze GetAwsOpportunitySummary rows -> silver.aws_opportunity_summary columns + reason."""
    j = F.col(_J)
    raw = _read(bronze, "GetAwsOpportunitySummary").select(
        "*",
        j["Insights"]["Recommendations"].alias("_recs"),
        j["OpportunityTeam"].alias("_team"),
        j["Insights"]["AwsProductsSpendInsightsBySource"]["AWS"].alias("_aws_spend"),
    )
    spend = F.col("_aws_spend")
    close = to_day(j["LifeCycle"]["TargetCloseDate"])
    quality = j["Insights"]["OpportunityQuality"]["Score"]
    reason = _reason(
        "GetAwsOpportunitySummary",
        j["RelatedOpportunityId"],
        (
            ~_blank(j["LifeCycle"]["TargetCloseDate"]) & close.isNull(),
            "unparseable LifeCycle.TargetCloseDate",
        ),
        (
            ~_blank(quality) & quality.cast("int").isNull(),
            "Insights.OpportunityQuality.Score is not an integer",
        ),
        (
            (~_blank(spend["TotalAmount"]) & to_amount(spend["TotalAmount"]).isNull())
            | (
                ~_blank(spend["TotalPotentialSavingsAmount"])
                & to_amount(spend["TotalPotentialSavingsAmount"]).isNull()
            ),
            "AWS spend insight amount is not a decimal number",
        ),
    )
    return raw.select(
        "tenant_id",
        _catalog().alias("catalog"),
        F.when(~_blank(j["RelatedOpportunityId"]), F.trim(j["RelatedOpportunityId"])).alias("opportunity_id"),
        j["Origin"].alias("origin"),
        j["InvolvementType"].alias("involvement_type"),
        j["InvolvementTypeChangeReason"].alias("involvement_type_change_reason"),
        j["Visibility"].alias("visibility"),
        j["LifeCycle"]["Stage"].alias("aws_stage"),
        j["LifeCycle"]["ClosedLostReason"].alias("aws_closed_lost_reason"),
        close.alias("aws_target_close_date"),
        j["LifeCycle"]["NextSteps"].alias("aws_next_steps"),
        j["CosellMotion"].alias("cosell_motion"),
        j["CosellMotionReason"].alias("cosell_motion_reason"),
        j["Insights"]["EngagementScore"].alias("engagement_score"),
        j["Insights"]["NextBestActions"].alias("next_best_actions"),
        quality.cast("int").alias("opportunity_quality_score"),
        j["Insights"]["OpportunityQuality"]["Trend"].alias("opportunity_quality_trend"),
        spend["CurrencyCode"].alias("aws_spend_currency_code"),
        spend["Frequency"].alias("aws_spend_frequency"),
        to_amount(spend["TotalAmount"]).alias("aws_spend_total"),
        to_amount(spend["TotalPotentialSavingsAmount"]).alias("aws_spend_potential_savings"),
        F.transform(spend["AwsProducts"], lambda p: p["ProductCode"]).alias("aws_product_codes"),
        count_of(F.col("_recs")).alias("recommendation_count"),
        F.transform(F.col("_recs"), lambda r: r["Type"]).alias("recommendation_types"),
        count_of(F.col("_team")).alias("aws_team_count"),
        F.coalesce(F.col("_bronze_lm"), F.col("ingested_at")).alias("last_modified_at"),
        *_tail(reason),
    )


def to_aws_opportunity_summary(rows: DataFrame) -> DataFrame:
    """silver.aws_opportunity_summary rows from parsed, valid, latest rows."""
    return _project(rows, selling.AWS_OPPORTUNITY_SUMMARY)


def parse_customer_accounts(bronze: DataFrame) -> DataFrame:
    """Bronze GetCustomerAccount rows -> silver.customer_account columns + reason."""
    j = F.col(_J)
    raw = _read(bronze, "GetCustomerAccount").select("*", j["Issues"].alias("_issues"))
    created, created_bad = _timestamp(j["CreatedDate"], "CreatedDate")
    modified, modified_bad = _timestamp(j["LastModifiedDate"], "LastModifiedDate")
    reason = _reason("GetCustomerAccount", j["Id"], created_bad, modified_bad)
    account, aws = j["Account"], j["AwsEnrichment"]
    return raw.select(
        "tenant_id",
        _catalog().alias("catalog"),
        F.when(~_blank(j["Id"]), F.trim(j["Id"])).alias("customer_account_id"),
        j["Arn"].alias("arn"),
        j["EnrichmentStatus"].alias("enrichment_status"),
        j["PartnerAccountIdentifier"].alias("partner_account_identifier"),
        account["CompanyName"].alias("company_name"),
        account["Industry"].alias("industry"),
        account["Address"]["CountryCode"].alias("country_code"),
        account["WebsiteUrl"].alias("website_url"),
        account["Domain"].alias("domain"),
        account["Duns"].alias("duns"),
        aws["Customer"]["Segment"].alias("aws_segment"),
        aws["Customer"]["Geo"].alias("aws_geo"),
        aws["Insights"]["MarketplaceEngagementScore"].alias("aws_marketplace_engagement_score"),
        count_of(F.col("_issues")).alias("issue_count"),
        created.alias("created_at"),
        F.coalesce(modified, created, F.col("_bronze_lm")).alias("last_modified_at"),
        *_tail(reason),
    )


def to_customer_account(rows: DataFrame) -> DataFrame:
    """silver.customer_account rows from parsed, valid, latest rows."""
    return _project(rows, selling.CUSTOMER_ACCOUNT)


# ------------------------------------------------------------------------------------------------------ gold


def lead_funnel(lead: DataFrame, conversion: DataFrame | None, opportunity: DataFrame | None) -> DataFrame:
    """gold.ace_lead_funnel: leads by source and qualification status -> converted -> won (see its description)."""
    key = ["tenant_id", "catalog", "lead_id"]
    eng = ["tenant_id", "catalog", "engagement_id"]
    # an accepted LeadInvitation's engagement carries the lead as a Lead context: count that lead once
    from_contexts = lead.where(F.col("lead_origin") == F.lit("engagement_context"))
    invited_only = lead.where(F.col("lead_origin") != F.lit("engagement_context")).join(
        from_contexts.select(*eng).distinct(), on=eng, how="left_anti"
    )
    leads = from_contexts.unionByName(invited_only).select(
        *key, "engagement_id", "context_id", "source_type", "qualification_status", "created_at"
    )
    if conversion is not None:
        done = conversion.where(
            (F.col("task_status") == F.lit(COMPLETE)) & F.col("opportunity_id").isNotNull()
        ).select(
            "tenant_id",
            "catalog",
            "engagement_id",
            F.col("context_id").alias("_task_context"),
            "opportunity_id",
            "started_at",
        )
        matched = leads.join(done, on=["tenant_id", "catalog", "engagement_id"], how="inner").where(
            F.col("_task_context").isNull() | (F.col("_task_context") == F.col("context_id"))
        )
        first = Window.partitionBy(*key).orderBy(
            F.col("started_at").asc_nulls_last(), F.col("opportunity_id")
        )
        conv = (
            matched.withColumn("_n", F.row_number().over(first))
            .where(F.col("_n") == 1)
            .select(*key, "opportunity_id", "started_at")
        )
    else:
        conv = (
            leads.select(*key)
            .where(F.lit(False))
            .select(
                *key,
                F.lit(None).cast("string").alias("opportunity_id"),
                F.lit(None).cast("timestamp").alias("started_at"),
            )
        )
    per_lead = leads.join(conv, on=key, how="left")
    if opportunity is not None:
        stages = opportunity.select("tenant_id", "catalog", "opportunity_id", F.col("stage").alias("_stage"))
        per_lead = per_lead.join(stages, on=["tenant_id", "catalog", "opportunity_id"], how="left")
    else:
        per_lead = per_lead.withColumn("_stage", F.lit(None).cast("string"))
    converted = F.col("opportunity_id").isNotNull()
    days = (F.unix_micros("started_at") - F.unix_micros("created_at")).cast("double") / F.lit(
        86_400_000_000.0
    )
    out = per_lead.groupBy(
        "tenant_id",
        F.coalesce(F.col("source_type"), F.lit("unknown")).alias("lead_source"),
        F.coalesce(F.col("qualification_status"), F.lit("unknown")).alias("qualification_status"),
    ).agg(
        F.count(F.lit(1)).cast("long").alias("lead_count"),
        F.sum(F.when(converted, 1).otherwise(0)).cast("long").alias("converted_count"),
        F.sum(F.when(converted & (F.col("_stage") == F.lit(WON_STAGE)), 1).otherwise(0))
        .cast("long")
        .alias("won_count"),
        F.avg(F.when(converted, days)).alias("avg_days_to_convert"),
    )
    return out.select(
        "tenant_id",
        "lead_source",
        "qualification_status",
        "lead_count",
        "converted_count",
        "won_count",
        (F.col("converted_count").cast("double") / F.col("lead_count").cast("double")).alias(
            "conversion_rate"
        ),
        F.when(
            F.col("converted_count") > 0,
            F.col("won_count").cast("double") / F.col("converted_count").cast("double"),
        ).alias("win_rate"),
        "avg_days_to_convert",
    )


def engagement_health(summary: DataFrame, opportunity: DataFrame | None) -> DataFrame:
    """gold.ace_engagement_health: AWS summaries per engagement score, stage disagreements, action backlog."""
    keys = ["tenant_id", "catalog", "opportunity_id"]
    rows = summary
    if opportunity is not None:
        rows = rows.join(
            opportunity.select(*keys, F.col("stage").alias("_partner_stage")), on=keys, how="left"
        )
    else:
        rows = rows.withColumn("_partner_stage", F.lit(None).cast("string"))
    mismatch = F.col("aws_stage").isNotNull() & (
        F.col("_partner_stage").isNull() | (F.col("aws_stage") != F.col("_partner_stage"))
    )
    usd = F.when(F.col("aws_spend_currency_code") == F.lit(USD), F.col("aws_spend_total"))
    out = rows.groupBy(
        "tenant_id", F.coalesce(F.col("engagement_score"), F.lit("none")).alias("engagement_score")
    ).agg(
        F.count(F.lit(1)).cast("long").alias("opportunity_count"),
        F.sum(F.when(mismatch, 1).otherwise(0)).cast("long").alias("stage_mismatch_count"),
        F.sum(F.when(~_blank(F.col("next_best_actions")), 1).otherwise(0))
        .cast("long")
        .alias("next_best_action_count"),
        F.sum("recommendation_count").cast("long").alias("recommendation_count"),
        F.coalesce(F.sum(usd), F.lit(0)).cast(AMOUNT).alias("aws_spend_total_usd"),
    )
    return out.select(*selling.ACE_ENGAGEMENT_HEALTH.schema.fieldNames())
