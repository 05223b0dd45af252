"""Silver tables for Partner Central: current, typed, redacted opportunities and their children.

Each table states its grain and classifies every column. No silver column is classified ``pii``: contact
emails arrive here only as keyed hashes and names/phones are dropped or masked (lakehouse.privacy).

File layout: ``silver.opportunity`` and its children (``opportunity_spend``, ``opportunity_contact``) are
partitioned by ``tenant_id`` and then ``file_cluster`` = ``open-YYYY-MM`` / ``closed-YYYY-MM`` (closed: Launched
or Closed Lost; the UTC month of the opportunity's LastModifiedDate; children carry their parent's value).
Partner Central changes mostly hit open opportunities modified recently, so an incremental MERGE restricted to
the touched clusters reads only the few recent clusters' files instead of the whole tenant partition. The three
tables are merge-on-read (``delta.enableDeletionVectors``): a MERGE marks the rows it replaces in a deletion
vector and writes only the new rows, instead of rewriting every file that holds a changed row (copy-on-write
rewrote ~19% of silver for a 1% change, the hot recent open clusters; measured in docs/pipeline_bench.md).
Readers must apply deletion vectors: Sail, delta-spark 3.x (Glue 5) and ``deltalake``'s ``DeltaTable.scan`` /
``QueryBuilder`` do; ``deltalake``'s ``to_pyarrow_dataset`` refuses such tables (the dashboards read the files and
apply the vectors themselves: dashboards/lib/data.py).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    DecimalType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.catalog import Classification, Column, TableDef, declare

AMOUNT = DecimalType(18, 2)
STAGES: tuple[str, ...] = (
    "Prospect",
    "Qualified",
    "Technical Validation",
    "Business Validation",
    "Committed",
    "Launched",
    "Closed Lost",
)
WON_STAGE = "Launched"
LOST_STAGE = "Closed Lost"
CLOSED_STAGES: tuple[str, ...] = (WON_STAGE, LOST_STAGE)
REVIEW_STATUSES: tuple[str, ...] = (
    "Pending Submission",
    "Submitted",
    "In review",
    "Approved",
    "Rejected",
    "Action Required",
)

_S, _TS, _D, _I = StringType(), TimestampType(), DateType(), IntegerType()
_ARR = ArrayType(StringType())


FILE_CLUSTER = "file_cluster"
# the partition layout of the opportunity tables (see the module docstring)
CLUSTERED: tuple[str, ...] = ("tenant_id", FILE_CLUSTER)
_CLUSTER_COLUMN: tuple[str, DataType, Classification] = (FILE_CLUSTER, _S, "internal")
# table properties of the clustered tables, applied when lakehouse.io creates them
MERGE_ON_READ: dict[str, str] = {"delta.enableDeletionVectors": "true"}


def _clustered(
    name: str, columns: list[Column], *, keys: tuple[str, ...], grain: str, description: str
) -> TableDef:
    """``declare`` for a merge-on-read silver table partitioned by (tenant_id, file_cluster)."""
    return declare(
        "silver",
        name,
        columns,
        keys=keys,
        grain=grain,
        description=description,
        partition_by=CLUSTERED,
        properties=dict(MERGE_ON_READ),
    )


_SOURCE_COLUMNS: list[tuple[str, DataType, Classification]] = [
    ("source_ingestion_run_id", _S, "internal"),
    ("source_ingested_at", _TS, "internal"),
    ("source_payload_sha256", _S, "internal"),
]

NEXT_STEPS_HISTORY = ArrayType(StructType([StructField("value", _S, True), StructField("at", _TS, True)]))

OPPORTUNITY = _clustered(
    "opportunity",
    [
        ("tenant_id", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("arn", _S, "internal"),
        ("partner_opportunity_identifier", _S, "internal"),
        ("opportunity_type", _S, "internal"),
        ("national_security", _S, "internal"),
        ("primary_needs_from_aws", _ARR, "internal"),
        ("created_at", _TS, "internal"),
        ("last_modified_at", _TS, "internal"),
        ("customer_company_name", _S, "confidential"),
        ("customer_industry", _S, "confidential"),
        ("customer_other_industry", _S, "confidential"),
        ("customer_website_url", _S, "confidential"),
        ("customer_aws_account_id", _S, "confidential"),
        ("customer_duns", _S, "confidential"),
        ("customer_country_code", _S, "confidential"),
        ("customer_state_or_region", _S, "confidential"),
        ("customer_city", _S, "confidential"),
        ("customer_postal_code", _S, "confidential"),
        ("customer_street_address", _S, "confidential"),
        ("project_title", _S, "confidential"),
        ("project_customer_business_problem", _S, "confidential"),
        ("project_customer_use_case", _S, "confidential"),
        ("project_delivery_models", _ARR, "confidential"),
        ("project_sales_activities", _ARR, "confidential"),
        ("project_apn_programs", _ARR, "confidential"),
        ("project_competitor_name", _S, "confidential"),
        ("project_other_competitor_names", _S, "confidential"),
        ("project_other_solution_description", _S, "confidential"),
        ("project_additional_comments", _S, "confidential"),
        ("project_related_opportunity_id", _S, "internal"),
        ("project_aws_partition", _S, "internal"),
        ("expected_contract_duration_term", _S, "confidential"),
        ("expected_contract_duration_value", _S, "confidential"),
        ("marketing_campaign_name", _S, "confidential"),
        ("marketing_source", _S, "internal"),
        ("marketing_use_cases", _ARR, "confidential"),
        ("marketing_channels", _ARR, "internal"),
        ("marketing_aws_funding_used", _S, "internal"),
        ("stage", _S, "internal"),
        ("closed_lost_reason", _S, "confidential"),
        ("next_steps", _S, "confidential"),
        ("next_steps_history", NEXT_STEPS_HISTORY, "confidential"),
        ("review_status", _S, "internal"),
        ("review_comments", _S, "confidential"),
        ("review_status_reason", _S, "confidential"),
        ("target_close_date", _D, "internal"),
        ("software_revenue_delivery_model", _S, "confidential"),
        ("software_revenue_amount", AMOUNT, "confidential"),
        ("software_revenue_currency_code", _S, "confidential"),
        ("software_revenue_effective_date", _D, "confidential"),
        ("software_revenue_expiration_date", _D, "confidential"),
        ("related_solution_ids", _ARR, "internal"),
        ("related_aws_product_ids", _ARR, "internal"),
        ("related_aws_marketplace_offer_ids", _ARR, "internal"),
        ("related_aws_marketplace_offer_set_ids", _ARR, "internal"),
        ("related_aws_marketplace_solution_ids", _ARR, "internal"),
        ("related_aws_marketplace_product_arns", _ARR, "internal"),
        ("customer_contact_count", _I, "internal"),
        ("opportunity_team_count", _I, "internal"),
        ("expected_customer_spend_count", _I, "internal"),
        *_SOURCE_COLUMNS,
        _CLUSTER_COLUMN,
    ],
    keys=("tenant_id", "catalog", "opportunity_id"),
    grain="one row per (tenant_id, catalog, opportunity_id): the latest version by LastModifiedDate; same date: the "
    "later lifecycle state (stage, then review status), then the later ingested_at",
    description="Current ACE opportunities, flattened and typed from GetOpportunity payloads. Contacts are in "
    "silver.opportunity_contact (redacted), spend entries in silver.opportunity_spend. Partitioned by file_cluster "
    "(open|closed, month of last_modified_at) so incremental MERGEs rewrite only recent clusters.",
)

OPPORTUNITY_SPEND = _clustered(
    "opportunity_spend",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("spend_index", _I, "internal"),
        ("amount", AMOUNT, "confidential"),
        ("currency_code", _S, "internal"),
        ("frequency", _S, "internal"),
        ("target_company", _S, "confidential"),
        ("estimation_url", _S, "confidential"),
        ("last_modified_at", _TS, "internal"),
        ("source_ingestion_run_id", _S, "internal"),
        _CLUSTER_COLUMN,
    ],
    keys=("tenant_id", "catalog", "opportunity_id", "spend_index"),
    grain="one row per Project.ExpectedCustomerSpend entry of the current opportunity version "
    "(spend_index = position in the list)",
    description="Expected customer spend; amounts decimal(18,2) in their own currency (not converted). "
    "file_cluster is the parent opportunity's.",
)

CONTACT_ROLES: tuple[str, ...] = ("customer", "opportunity_team")
# Contact structs as the API sends them (Customer.Contacts, OpportunityTeam, SenderContacts): their
# classification drives redaction (lakehouse.privacy.redact_struct), so silver gets email_hash, phone_masked and
# business_title, and never a name.
CONTACT_SOURCE_CLASSIFICATION: dict[str, Classification] = {
    "Email": "pii",
    "FirstName": "pii",
    "LastName": "pii",
    "Phone": "pii",
    "BusinessTitle": "confidential",
}
CONTACT_PII_KINDS = {"Email": "email", "FirstName": "name", "LastName": "name", "Phone": "phone"}
PAYLOAD_PII_KEYS: tuple[str, ...] = tuple(k for k, v in CONTACT_SOURCE_CLASSIFICATION.items() if v == "pii")

OPPORTUNITY_CONTACT = _clustered(
    "opportunity_contact",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("contact_role", _S, "internal"),
        ("contact_index", _I, "internal"),
        ("email_hash", _S, "confidential"),
        ("phone_masked", _S, "confidential"),
        ("business_title", _S, "confidential"),
        ("last_modified_at", _TS, "internal"),
        ("source_ingestion_run_id", _S, "internal"),
        _CLUSTER_COLUMN,
    ],
    keys=("tenant_id", "catalog", "opportunity_id", "contact_role", "contact_index"),
    grain="one row per contact of the current opportunity version: Customer.Contacts (role 'customer') and "
    "OpportunityTeam (role 'opportunity_team'), contact_index = position in its list",
    description="Redacted contacts: email_hash = HMAC-SHA256(per-tenant key, lower(trim(email))), phone "
    "masked to '+' and its last two digits, first/last names dropped. file_cluster is the parent opportunity's.",
)

SOLUTION = declare(
    "silver",
    "solution",
    [
        ("tenant_id", _S, "internal"),
        ("solution_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("arn", _S, "internal"),
        ("name", _S, "internal"),
        ("status", _S, "internal"),
        ("category", _S, "internal"),
        ("created_at", _TS, "internal"),
        ("aws_marketplace_solution_arn", _S, "internal"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE_COLUMNS,
    ],
    keys=("tenant_id", "catalog", "solution_id"),
    grain="one row per (tenant_id, catalog, solution_id): the latest fetched version (bronze last_modified_at, then "
    "ingested_at)",
    description="Partner solutions from ListSolutions (SolutionBase).",
)

ENGAGEMENT_INVITATION = declare(
    "silver",
    "engagement_invitation",
    [
        ("tenant_id", _S, "internal"),
        ("invitation_id", _S, "internal"),
        ("arn", _S, "internal"),
        ("catalog", _S, "internal"),
        ("payload_type", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("engagement_title", _S, "confidential"),
        ("status", _S, "internal"),
        ("invitation_date", _TS, "internal"),
        ("expiration_date", _TS, "internal"),
        ("sender_aws_account_id", _S, "confidential"),
        ("sender_company_name", _S, "confidential"),
        ("receiver_aws_account_id", _S, "confidential"),
        ("receiver_alias", _S, "confidential"),
        ("rejection_reason", _S, "confidential"),
        ("invitation_message", _S, "confidential"),
        ("engagement_description", _S, "confidential"),
        ("opportunity_type", _S, "internal"),
        ("customer_company_name", _S, "confidential"),
        ("customer_industry", _S, "confidential"),
        ("customer_country_code", _S, "confidential"),
        ("customer_website_url", _S, "confidential"),
        ("project_title", _S, "confidential"),
        ("project_business_problem", _S, "confidential"),
        ("project_target_completion_date", _D, "internal"),
        ("receiver_responsibilities", _ARR, "internal"),
        ("sender_contact_count", _I, "internal"),
        ("sender_contact_email_hashes", _ARR, "confidential"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE_COLUMNS,
    ],
    keys=("tenant_id", "catalog", "invitation_id"),
    grain="one row per (tenant_id, catalog, invitation_id): the latest fetched version (bronze last_modified_at, then "
    "ingested_at)",
    description="AWS referrals (GetEngagementInvitation). Sender contacts are kept only as a count and keyed "
    "email hashes.",
)

QUARANTINE_ENTITIES: tuple[str, ...] = (
    "opportunity",
    "solution",
    "engagement_invitation",
    "engagement",
    "engagement_member",
    "resource_snapshot",
    "aws_opportunity_summary",
    "customer_account",
    "opportunity_from_engagement_task",
)

OPPORTUNITY_QUARANTINE = declare(
    "silver",
    "opportunity_quarantine",
    [
        ("tenant_id", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("entity", _S, "internal"),
        ("entity_id", _S, "internal"),
        ("reason", _S, "internal"),
        ("payload", _S, "confidential"),
        ("payload_sha256", _S, "internal"),
        ("ingestion_run_id", _S, "internal"),
        ("ingested_at", _TS, "internal"),
        ("quarantine_run_id", _S, "internal"),
    ],
    keys=("tenant_id", "entity", "payload_sha256"),
    grain="one row per quarantined bronze payload (entity: opportunity, solution or engagement_invitation)",
    description="Records kept out of silver, with every reason. payload is the bronze JSON with contact "
    "emails/names/phones replaced by [REDACTED]; the verbatim record stays in bronze (payload_sha256).",
)

SILVER_TABLES: tuple[TableDef, ...] = (
    OPPORTUNITY,
    OPPORTUNITY_SPEND,
    OPPORTUNITY_CONTACT,
    SOLUTION,
    ENGAGEMENT_INVITATION,
    OPPORTUNITY_QUARANTINE,
)
