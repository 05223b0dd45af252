"""Bronze -> silver for Partner Central: parse, type, redact, split quarantine, pick the latest version.

The flow for one batch of new bronze rows:

1. ``parse_*`` (one pass, lambdas allowed): ``from_json`` against the explicit schema, typed columns, redacted
   contacts, and ``quarantine_reason`` ('' when the record is fine). No raw personal data leaves this step.
   The pipeline materialises this frame (Sail cannot MERGE from, or filter after, plans with lambdas over
   nested paths).
2. ``split_quarantine`` -> valid rows and ``to_quarantine`` rows.
3. ``latest_versions`` (row_number per key), then ``newer_than_current`` against what silver already holds.
4. ``to_opportunity`` / ``to_opportunity_spend`` / ``to_opportunity_contact`` / ``to_solution`` /
   ``to_engagement_invitation`` project the silver tables (no lambdas); the opportunity tables get their
   ``file_cluster`` (partition) from the opportunity's stage and last_modified_at.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.partner_central import shapes
from lakehouse.partner_central.entities import silver
from lakehouse.partner_central.transforms import payloads as pcj
from lakehouse.privacy import redact_json_text, redact_struct

BRONZE_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "catalog",
    "entity_id",
    "last_modified_at",
    "payload",
    "payload_sha256",
    "ingestion_run_id",
    "ingested_at",
)
# Amount: a decimal number that fits decimal(18,2) exactly (the API's own pattern, minus the empty string)
AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{0,2})?$"
REASON_NOT_JSON = "payload is not a JSON object"
REASON_NO_ID = "missing Id"
REASON_BAD_LAST_MODIFIED = "missing or unparseable LastModifiedDate"
REASON_BAD_AMOUNT = "Amount is not a decimal number"

_J = "_j"  # the parsed payload struct
_SOURCE = ("payload_sha256", "ingestion_run_id", "ingested_at")


# ------------------------------------------------------------------------------------------------ typing


def _blank(value: Column) -> Column:
    return value.isNull() | (F.trim(value) == F.lit(""))


def to_ts(value: Column) -> Column:
    """ISO-8601 text -> timestamp (UTC session); null when blank or unparseable."""
    return F.when(_blank(value), F.lit(None).cast("timestamp")).otherwise(F.to_timestamp(value))


def to_day(value: Column) -> Column:
    """``YYYY-MM-DD`` text -> date; null when blank or unparseable."""
    return F.when(_blank(value), F.lit(None).cast("date")).otherwise(F.to_date(value, "yyyy-MM-dd"))


def amount_ok(value: Column) -> Column:
    """True when an amount string is absent/empty or a decimal number that fits decimal(18,2)."""
    return _blank(value) | F.trim(value).rlike(AMOUNT_PATTERN)


def to_amount(value: Column) -> Column:
    """Amount text -> decimal(18,2); null when blank or not a decimal number (never raises)."""
    return F.when(
        _blank(value) | ~F.trim(value).rlike(AMOUNT_PATTERN), F.lit(None).cast(silver.AMOUNT)
    ).otherwise(F.trim(value).cast(silver.AMOUNT))


def _unparseable(text: Column, typed: Column) -> Column:
    return ~_blank(text) & typed.isNull()


def _reasons(*pairs: tuple[Column, str]) -> Column:
    """'; '-joined reasons whose condition holds ('' when none)."""
    return F.concat_ws("; ", *[F.when(F.coalesce(cond, F.lit(False)), F.lit(text)) for cond, text in pairs])


def _is_json_object(payload: Column) -> Column:
    """True for a valid JSON object (null for arrays, scalars, invalid or empty text).

    ``json_object_keys`` materialises only the top-level keys: 3x cheaper on Sail than ``from_json`` into
    ``map<string,string>``, which serialises every nested value back to text.
    """
    return F.json_object_keys(payload).isNotNull()


def _redacted_contact(contact: Column, key: bytes) -> Column:
    """struct<email_hash, phone_masked, business_title>, as the contact classification dictates."""
    return redact_struct(contact, silver.CONTACT_SOURCE_CLASSIFICATION, silver.CONTACT_PII_KINDS, key)  # type: ignore[arg-type]


def _redacted_contacts(contacts: Column, key: bytes) -> Column:
    return F.transform(contacts, lambda c: _redacted_contact(c, key))


def _redacted_payload(payload: Column) -> Column:
    return redact_json_text(payload, silver.PAYLOAD_PII_KEYS)


def _member(j: Column, path: str) -> Column:
    out = j
    for name in path.split("."):
        out = out[name]
    return out


def shape_checks(j: Column, payload: Column, shape: str) -> list[tuple[Column, str]]:
    """Quarantine conditions from the botocore model for one output shape (see lakehouse.partner_central.shapes).

    A member that must be a JSON object or list but holds another type parses to null (``from_json`` nulls it
    silently): the raw member is present while the parsed one is null. A string member longer than the model's
    limit (AWS refuses it on write) is named with its limit; it is never truncated.
    """
    checks: list[tuple[Column, str]] = []
    for path, kind in shapes.container_paths(shape).items():
        raw = F.get_json_object(payload, f"$.{path}")
        checks.append((raw.isNotNull() & _member(j, path).isNull(), f"{path} is not a JSON {kind}"))
    for path, limit in shapes.length_limits(shape).items():
        checks.append(
            (F.length(_member(j, path)) > F.lit(limit), f"{path} is longer than {limit} characters")
        )
    return checks


def count_of(values: Column) -> Column:
    """Number of elements of an array column, 0 when absent (``size(null)`` is -1 in Spark's legacy mode)."""
    return F.when(values.isNull(), F.lit(0)).otherwise(F.size(values)).cast("int")


# Tie-break for two opportunity versions with the same LastModifiedDate: the later lifecycle state wins (a later
# stage, then a later review status), then the later landing. A payload hash says nothing about which version
# is newer; AWS moves a record forward (Submitted -> In review -> Approved) without always changing the date.
_STAGE_RANK = {stage: min(i, silver.STAGES.index(silver.WON_STAGE)) for i, stage in enumerate(silver.STAGES)}
_REVIEW_RANK = {
    "Pending Submission": 0,
    "Submitted": 1,
    "In review": 2,
    "Action Required": 3,
    "Approved": 4,
    "Rejected": 4,
}


def lifecycle_rank_sql(prefix: str = "") -> str:
    """SQL for an opportunity row's lifecycle rank (stage rank * 10 + review rank; -1 parts when unknown)."""

    def case(column: str, ranks: dict[str, int]) -> str:
        whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in ranks.items())
        return f"(CASE {prefix}{column} {whens} ELSE -1 END)"

    return f"({case('stage', _STAGE_RANK)} * 10 + {case('review_status', _REVIEW_RANK)})"


def lifecycle_rank() -> Column:
    """Column form of ``lifecycle_rank_sql`` over ``stage`` and ``review_status``."""
    return F.expr(lifecycle_rank_sql()).cast("int")


# ------------------------------------------------------------------------- shared by every entity parser


def _read_payloads(bronze: DataFrame, schema: StructType) -> DataFrame:
    """Bronze rows with the payload parsed by ``schema`` (column ``_j``), whether it is a JSON object, the raw
    payload for quarantine, and bronze's own catalog and last_modified_at set aside as fallbacks."""
    return bronze.select(
        "tenant_id",
        F.col("catalog").alias("_bronze_catalog"),
        F.col("last_modified_at").alias("_bronze_lm"),
        *_SOURCE,
        F.from_json("payload", schema).alias(_J),
        _is_json_object(F.col("payload")).alias("_is_object"),
        F.col("payload").alias("_payload"),
    )


def _record_reasons(j: Column, *checks: tuple[Column, str]) -> Column:
    """Quarantine reasons of a record: not a JSON object, no Id, then the entity's own ``checks``."""
    return _reasons(
        (~F.col("_is_object"), REASON_NOT_JSON),
        (F.col("_is_object") & _blank(j["Id"]), REASON_NO_ID),
        *checks,
    )


def _record_id(j: Column) -> Column:
    """The record's trimmed Id (null when blank: such a record is quarantined)."""
    return F.when(~_blank(j["Id"]), F.trim(j["Id"]))


def _record_catalog(j: Column) -> Column:
    """The payload's Catalog, else the catalog bronze landed it under."""
    return F.coalesce(j["Catalog"], F.col("_bronze_catalog"))


def _source_and_quarantine(reason: Column) -> list[Column]:
    """The columns every parsed entity ends with: the bronze row it came from (lineage), its quarantine reason
    ('' when valid) and, for quarantined rows only, the payload with personal data redacted."""
    return [
        F.col("ingestion_run_id").alias("source_ingestion_run_id"),
        F.col("ingested_at").alias("source_ingested_at"),
        F.col("payload_sha256").alias("source_payload_sha256"),
        reason.alias("quarantine_reason"),
        F.when(reason != F.lit(""), _redacted_payload(F.col("_payload"))).alias("payload_redacted"),
    ]


# ------------------------------------------------------------------------------------------ opportunities


def parse_opportunities(bronze: DataFrame, *, email_key: bytes) -> DataFrame:
    """Bronze GetOpportunity rows -> one typed, redacted row per bronze row with its ``quarantine_reason``."""
    j = F.col(_J)
    raw = _read_payloads(bronze, pcj.OPPORTUNITY)
    # arrays first as plain columns: lambdas over nested struct paths break filters on Sail
    flat = raw.select(
        "*",
        j["Project"]["ExpectedCustomerSpend"].alias("_spend"),
        j["Customer"]["Contacts"].alias("_customer_contacts"),
        j["OpportunityTeam"].alias("_team"),
        j["LifeCycle"]["NextStepsHistory"].alias("_history"),
    )
    spend_bad = F.exists(F.col("_spend"), lambda x: ~amount_ok(x["Amount"]))
    sw_amount = j["SoftwareRevenue"]["Value"]["Amount"]
    last_modified = to_ts(j["LastModifiedDate"])
    reason = _record_reasons(
        j,
        *shape_checks(j, F.col("_payload"), shapes.output_shape("GetOpportunity")),
        (F.col("_is_object") & last_modified.isNull(), REASON_BAD_LAST_MODIFIED),
        (spend_bad | ~amount_ok(sw_amount), REASON_BAD_AMOUNT),
        (_unparseable(j["CreatedDate"], to_ts(j["CreatedDate"])), "unparseable CreatedDate"),
        (
            _unparseable(j["LifeCycle"]["TargetCloseDate"], to_day(j["LifeCycle"]["TargetCloseDate"])),
            "unparseable LifeCycle.TargetCloseDate",
        ),
    )
    acc, addr, proj = j["Customer"]["Account"], j["Customer"]["Account"]["Address"], j["Project"]
    life, mkt, sw, rel = j["LifeCycle"], j["Marketing"], j["SoftwareRevenue"], j["RelatedEntityIdentifiers"]
    return flat.select(
        "tenant_id",
        _record_id(j).alias("opportunity_id"),
        _record_catalog(j).alias("catalog"),
        j["Arn"].alias("arn"),
        j["PartnerOpportunityIdentifier"].alias("partner_opportunity_identifier"),
        j["OpportunityType"].alias("opportunity_type"),
        j["NationalSecurity"].alias("national_security"),
        j["PrimaryNeedsFromAws"].alias("primary_needs_from_aws"),
        to_ts(j["CreatedDate"]).alias("created_at"),
        last_modified.alias("last_modified_at"),
        acc["CompanyName"].alias("customer_company_name"),
        acc["Industry"].alias("customer_industry"),
        acc["OtherIndustry"].alias("customer_other_industry"),
        acc["WebsiteUrl"].alias("customer_website_url"),
        acc["AwsAccountId"].alias("customer_aws_account_id"),
        acc["Duns"].alias("customer_duns"),
        addr["CountryCode"].alias("customer_country_code"),
        addr["StateOrRegion"].alias("customer_state_or_region"),
        addr["City"].alias("customer_city"),
        addr["PostalCode"].alias("customer_postal_code"),
        addr["StreetAddress"].alias("customer_street_address"),
        proj["Title"].alias("project_title"),
        proj["CustomerBusinessProblem"].alias("project_customer_business_problem"),
        proj["CustomerUseCase"].alias("project_customer_use_case"),
        proj["DeliveryModels"].alias("project_delivery_models"),
        proj["SalesActivities"].alias("project_sales_activities"),
        proj["ApnPrograms"].alias("project_apn_programs"),
        proj["CompetitorName"].alias("project_competitor_name"),
        proj["OtherCompetitorNames"].alias("project_other_competitor_names"),
        proj["OtherSolutionDescription"].alias("project_other_solution_description"),
        proj["AdditionalComments"].alias("project_additional_comments"),
        proj["RelatedOpportunityIdentifier"].alias("project_related_opportunity_id"),
        proj["AwsPartition"].alias("project_aws_partition"),
        proj["ExpectedContractDuration"]["Term"].alias("expected_contract_duration_term"),
        proj["ExpectedContractDuration"]["Value"].alias("expected_contract_duration_value"),
        mkt["CampaignName"].alias("marketing_campaign_name"),
        mkt["Source"].alias("marketing_source"),
        mkt["UseCases"].alias("marketing_use_cases"),
        mkt["Channels"].alias("marketing_channels"),
        mkt["AwsFundingUsed"].alias("marketing_aws_funding_used"),
        life["Stage"].alias("stage"),
        life["ClosedLostReason"].alias("closed_lost_reason"),
        life["NextSteps"].alias("next_steps"),
        F.transform(
            F.col("_history"), lambda h: F.struct(h["Value"].alias("value"), to_ts(h["Time"]).alias("at"))
        ).alias("next_steps_history"),
        life["ReviewStatus"].alias("review_status"),
        life["ReviewComments"].alias("review_comments"),
        life["ReviewStatusReason"].alias("review_status_reason"),
        to_day(life["TargetCloseDate"]).alias("target_close_date"),
        sw["DeliveryModel"].alias("software_revenue_delivery_model"),
        to_amount(sw_amount).alias("software_revenue_amount"),
        sw["Value"]["CurrencyCode"].alias("software_revenue_currency_code"),
        to_day(sw["EffectiveDate"]).alias("software_revenue_effective_date"),
        to_day(sw["ExpirationDate"]).alias("software_revenue_expiration_date"),
        rel["Solutions"].alias("related_solution_ids"),
        rel["AwsProducts"].alias("related_aws_product_ids"),
        rel["AwsMarketplaceOffers"].alias("related_aws_marketplace_offer_ids"),
        rel["AwsMarketplaceOfferSets"].alias("related_aws_marketplace_offer_set_ids"),
        rel["AwsMarketplaceSolutions"].alias("related_aws_marketplace_solution_ids"),
        rel["AwsMarketplaceProducts"].alias("related_aws_marketplace_product_arns"),
        count_of(F.col("_customer_contacts")).alias("customer_contact_count"),
        count_of(F.col("_team")).alias("opportunity_team_count"),
        count_of(F.col("_spend")).alias("expected_customer_spend_count"),
        F.transform(
            F.col("_spend"),
            lambda x: F.struct(
                to_amount(x["Amount"]).alias("amount"),
                x["CurrencyCode"].alias("currency_code"),
                x["Frequency"].alias("frequency"),
                x["TargetCompany"].alias("target_company"),
                x["EstimationUrl"].alias("estimation_url"),
            ),
        ).alias("spend"),
        _redacted_contacts(F.col("_customer_contacts"), email_key).alias("customer_contacts"),
        _redacted_contacts(F.col("_team"), email_key).alias("team_contacts"),
        *_source_and_quarantine(reason),
    )


def split_quarantine(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(rows without a quarantine reason, rows with one)."""
    bad = F.coalesce(F.col("quarantine_reason"), F.lit("")) != F.lit("")
    return parsed.where(~bad), parsed.where(bad)


def latest_versions(
    df: DataFrame,
    keys: Sequence[str],
    order: Sequence[str] = ("last_modified_at", "source_ingested_at", "source_payload_sha256"),
) -> DataFrame:
    """One row per key: the greatest ``order`` tuple (latest LastModifiedDate, then latest ingested_at)."""
    window = Window.partitionBy(*keys).orderBy(*[F.col(c).desc_nulls_last() for c in order])
    return df.withColumn("_rank", F.row_number().over(window)).where(F.col("_rank") == 1).drop("_rank")


def newer_than_current(
    batch: DataFrame,
    current: DataFrame,
    keys: Sequence[str],
    order: Sequence[str] = ("last_modified_at", "source_ingested_at"),
) -> DataFrame:
    """Rows of ``batch`` that are new keys or strictly newer (by ``order``) than the row ``current`` holds."""
    cur = current.select(*keys, *[F.col(c).alias(f"_cur_{c}") for c in order], F.lit(True).alias("_cur"))
    joined = batch.join(cur, on=list(keys), how="left")
    newer: Column = F.lit(False)
    tie: Column = F.lit(True)
    for c in order:  # lexicographic comparison; a value beats a null
        mine, theirs = F.col(c), F.col(f"_cur_{c}")
        newer = newer | (tie & ((mine > theirs) | (mine.isNotNull() & theirs.isNull())))
        tie = tie & mine.eqNullSafe(theirs)
    return joined.where(F.col("_cur").isNull() | F.coalesce(newer, F.lit(False))).select(*batch.columns)


def file_cluster(stage: Column, last_modified_at: Column) -> Column:
    """The silver file cluster of an opportunity version: ``open-YYYY-MM`` or ``closed-YYYY-MM``.

    Closed = Launched or Closed Lost; the month is last_modified_at's (UTC session). Rows that change together
    (recently modified open opportunities) share a few clusters, so copy-on-write MERGEs rewrite only those.
    """
    closed = F.coalesce(stage.isin(*silver.CLOSED_STAGES), F.lit(False))
    state = F.when(closed, F.lit("closed-")).otherwise(F.lit("open-"))
    return F.concat(state, F.coalesce(F.date_format(last_modified_at, "yyyy-MM"), F.lit("unknown")))


def _with_cluster(rows: DataFrame) -> DataFrame:
    return rows.withColumn(silver.FILE_CLUSTER, file_cluster(F.col("stage"), F.col("last_modified_at")))


def to_opportunity(rows: DataFrame) -> DataFrame:
    """silver.opportunity rows from parsed, valid, latest rows."""
    return _with_cluster(rows).select(*silver.OPPORTUNITY.schema.fieldNames())


def to_opportunity_spend(rows: DataFrame) -> DataFrame:
    """silver.opportunity_spend: one row per ExpectedCustomerSpend entry (spend_index = list position)."""
    exploded = _with_cluster(rows).select(
        "tenant_id",
        "catalog",
        "opportunity_id",
        "last_modified_at",
        "source_ingestion_run_id",
        silver.FILE_CLUSTER,
        F.posexplode("spend").alias("spend_index", "s"),
    )
    return exploded.select(
        "tenant_id",
        "catalog",
        "opportunity_id",
        F.col("spend_index").cast("int").alias("spend_index"),
        F.col("s.amount").alias("amount"),
        F.col("s.currency_code").alias("currency_code"),
        F.col("s.frequency").alias("frequency"),
        F.col("s.target_company").alias("target_company"),
        F.col("s.estimation_url").alias("estimation_url"),
        "last_modified_at",
        "source_ingestion_run_id",
        silver.FILE_CLUSTER,
    )


def to_opportunity_contact(rows: DataFrame) -> DataFrame:
    """silver.opportunity_contact: customer contacts and opportunity team members, already redacted."""
    parts = []
    clustered = _with_cluster(rows)
    for role, column in (("customer", "customer_contacts"), ("opportunity_team", "team_contacts")):
        parts.append(
            clustered.select(
                "tenant_id",
                "catalog",
                "opportunity_id",
                "last_modified_at",
                "source_ingestion_run_id",
                silver.FILE_CLUSTER,
                F.lit(role).alias("contact_role"),
                F.posexplode(column).alias("contact_index", "c"),
            )
        )
    both = parts[0].unionByName(parts[1])
    return both.select(
        "tenant_id",
        "catalog",
        "opportunity_id",
        "contact_role",
        F.col("contact_index").cast("int").alias("contact_index"),
        F.col("c.email_hash").alias("email_hash"),
        F.col("c.phone_masked").alias("phone_masked"),
        F.col("c.business_title").alias("business_title"),
        "last_modified_at",
        "source_ingestion_run_id",
        silver.FILE_CLUSTER,
    )


def to_quarantine(rows: DataFrame, *, entity: str, id_column: str, run_id: str) -> DataFrame:
    """silver.opportunity_quarantine rows from quarantined parsed rows (reason + redacted payload)."""
    entity_id = F.col(id_column)
    return rows.select(
        "tenant_id",
        (entity_id if entity == "opportunity" else F.lit(None).cast("string")).alias("opportunity_id"),
        F.lit(entity).alias("entity"),
        entity_id.alias("entity_id"),
        F.col("quarantine_reason").alias("reason"),
        F.col("payload_redacted").alias("payload"),
        F.col("source_payload_sha256").alias("payload_sha256"),
        F.col("source_ingestion_run_id").alias("ingestion_run_id"),
        F.col("source_ingested_at").alias("ingested_at"),
        F.lit(run_id).alias("quarantine_run_id"),
    )


# ----------------------------------------------------------------------------------------------- solutions


def parse_solutions(bronze: DataFrame) -> DataFrame:
    """Bronze SolutionBase rows -> typed silver.solution columns plus ``quarantine_reason``/``payload_redacted``."""
    j = F.col(_J)
    raw = _read_payloads(bronze, pcj.SOLUTION)
    created = to_ts(j["CreatedDate"])
    reason = _record_reasons(
        j,
        *shape_checks(j, F.col("_payload"), shapes.list_item_shape("ListSolutions", "SolutionSummaries")),
        (_unparseable(j["CreatedDate"], created), "unparseable CreatedDate"),
    )
    return raw.select(
        "tenant_id",
        _record_id(j).alias("solution_id"),
        _record_catalog(j).alias("catalog"),
        j["Arn"].alias("arn"),
        j["Name"].alias("name"),
        j["Status"].alias("status"),
        j["Category"].alias("category"),
        created.alias("created_at"),
        j["AwsMarketplaceSolutionArn"].alias("aws_marketplace_solution_arn"),
        F.coalesce(F.col("_bronze_lm"), created).alias("last_modified_at"),
        *_source_and_quarantine(reason),
    )


def to_solution(rows: DataFrame) -> DataFrame:
    """silver.solution rows from parsed, valid, latest rows."""
    return rows.select(*silver.SOLUTION.schema.fieldNames())


# ------------------------------------------------------------------------------------ engagement invitations


def parse_engagement_invitations(bronze: DataFrame, *, email_key: bytes) -> DataFrame:
    """Bronze GetEngagementInvitation rows -> typed, redacted silver.engagement_invitation columns + reason."""
    j = F.col(_J)
    raw = _read_payloads(bronze, pcj.ENGAGEMENT_INVITATION)
    opp, lead, plan = (
        j["Payload"][k] for k in ("OpportunityInvitation", "LeadInvitation", "AccountPlanningInvitation")
    )
    flat = raw.select("*", F.coalesce(opp["SenderContacts"], plan["SenderContacts"]).alias("_senders"))
    invited, expires = to_ts(j["InvitationDate"]), to_ts(j["ExpirationDate"])
    reason = _record_reasons(
        j,
        *shape_checks(j, F.col("_payload"), shapes.output_shape("GetEngagementInvitation")),
        (_unparseable(j["InvitationDate"], invited), "unparseable InvitationDate"),
        (_unparseable(j["ExpirationDate"], expires), "unparseable ExpirationDate"),
    )
    customer = [opp["Customer"], lead["Customer"], plan["Customer"]]
    return flat.select(
        "tenant_id",
        _record_id(j).alias("invitation_id"),
        j["Arn"].alias("arn"),
        _record_catalog(j).alias("catalog"),
        j["PayloadType"].alias("payload_type"),
        j["EngagementId"].alias("engagement_id"),
        j["EngagementTitle"].alias("engagement_title"),
        j["Status"].alias("status"),
        invited.alias("invitation_date"),
        expires.alias("expiration_date"),
        j["SenderAwsAccountId"].alias("sender_aws_account_id"),
        j["SenderCompanyName"].alias("sender_company_name"),
        j["Receiver"]["Account"]["AwsAccountId"].alias("receiver_aws_account_id"),
        j["Receiver"]["Account"]["Alias"].alias("receiver_alias"),
        j["RejectionReason"].alias("rejection_reason"),
        j["InvitationMessage"].alias("invitation_message"),
        j["EngagementDescription"].alias("engagement_description"),
        opp["OpportunityType"].alias("opportunity_type"),
        F.coalesce(*[c["CompanyName"] for c in customer]).alias("customer_company_name"),
        F.coalesce(*[c["Industry"] for c in customer]).alias("customer_industry"),
        F.coalesce(*[c["CountryCode"] for c in customer]).alias("customer_country_code"),
        F.coalesce(*[c["WebsiteUrl"] for c in customer]).alias("customer_website_url"),
        opp["Project"]["Title"].alias("project_title"),
        opp["Project"]["BusinessProblem"].alias("project_business_problem"),
        to_day(opp["Project"]["TargetCompletionDate"]).alias("project_target_completion_date"),
        opp["ReceiverResponsibilities"].alias("receiver_responsibilities"),
        F.coalesce(F.size("_senders"), F.lit(0)).cast("int").alias("sender_contact_count"),
        F.transform(F.col("_senders"), lambda c: _redacted_contact(c, email_key)["email_hash"]).alias(
            "sender_contact_email_hashes"
        ),
        F.coalesce(F.col("_bronze_lm"), invited).alias("last_modified_at"),
        *_source_and_quarantine(reason),
    )


def to_engagement_invitation(rows: DataFrame) -> DataFrame:
    """silver.engagement_invitation rows from parsed, valid, latest rows."""
    return rows.select(*silver.ENGAGEMENT_INVITATION.schema.fieldNames())
