"""Marketplace tables: raw objects (bronze), catalog/agreement/entitlement/metering entities (silver), marts (gold).

Each table states its grain and classifies every column. Customer account ids and license ARNs identify buyers
(``confidential``); prices, quantities and revenue are commercial figures (``confidential``). No column is ``pii``.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.catalog import Classification, declare

QUANTITY = DecimalType(18, 6)
MONEY = DecimalType(18, 6)
_S, _TS, _D, _I, _L = StringType(), TimestampType(), DateType(), IntegerType(), LongType()
_ARR = ArrayType(StringType())
RATE_CARD = ArrayType(StructType([StructField("dimension_key", _S, True), StructField("price", MONEY, True)]))
DIMENSIONS = ArrayType(
    StructType(
        [
            StructField("key", _S, True),
            StructField("name", _S, True),
            StructField("description", _S, True),
            StructField("unit", _S, True),
            StructField("types", _ARR, True),
        ]
    )
)
ENTITLED = ArrayType(StructType([StructField("dimension_key", _S, True), StructField("value", _L, True)]))
ALLOCATIONS = ArrayType(
    StructType([StructField("workspace_id", _S, True), StructField("quantity", QUANTITY, True)])
)

METER_STATES = ("pending", "sent", "dead_lettered")


_SOURCE: list[tuple[str, DataType, Classification]] = [
    ("source_ingestion_run_id", _S, "internal"),
    ("source_ingested_at", _TS, "internal"),
    ("source_payload_sha256", _S, "internal"),
]

MARKETPLACE_ENTITY = declare(
    "bronze",
    "marketplace_entity",
    [
        ("tenant_id", _S, "internal"),
        (
            "entity_type",
            _S,
            "internal",
        ),  # SaaSProduct | Offer | ResaleAuthorization | Agreement | Entitlement
        ("entity_id", _S, "internal"),
        ("entity_arn", _S, "internal"),
        ("last_modified_at", _TS, "internal"),
        ("payload", _S, "confidential"),
        ("payload_sha256", _S, "internal"),
        ("ingestion_run_id", _S, "internal"),
        ("ingested_at", _TS, "internal"),
    ],
    keys=("tenant_id", "entity_type", "entity_id", "payload_sha256"),
    grain="one row per distinct payload of a Marketplace object (catalog entity detail, agreement with its terms, "
    "entitlement) as fetched; identical payloads are stored once",
    description="Raw Marketplace Catalog / Agreement / Entitlement responses (canonical JSON) with SHA-256.",
)

MARKETPLACE_PRODUCT = declare(
    "silver",
    "marketplace_product",
    [
        ("tenant_id", _S, "internal"),
        ("product_id", _S, "internal"),
        ("product_code", _S, "internal"),
        ("entity_arn", _S, "internal"),
        ("title", _S, "public"),
        ("short_description", _S, "public"),
        ("visibility", _S, "internal"),
        ("dimensions", DIMENSIONS, "internal"),
        ("fulfillment_url", _S, "internal"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "product_id"),
    grain="one row per SaaS product (its latest version)",
    description="The seller's SaaS products from the Marketplace Catalog.",
)

MARKETPLACE_OFFER = declare(
    "silver",
    "marketplace_offer",
    [
        ("tenant_id", _S, "internal"),
        ("offer_id", _S, "internal"),
        ("product_id", _S, "internal"),
        ("name", _S, "internal"),
        ("description", _S, "internal"),
        ("state", _S, "internal"),
        ("pricing_model", _S, "internal"),
        ("currency_code", _S, "internal"),
        ("rate_card", RATE_CARD, "confidential"),
        ("release_date", _TS, "internal"),
        ("availability_end_date", _TS, "internal"),
        ("buyer_accounts", _ARR, "confidential"),
        ("last_modified_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "offer_id"),
    grain="one row per offer (its latest version)",
    description="The seller's offers with their usage rate cards.",
)

MARKETPLACE_AGREEMENT = declare(
    "silver",
    "marketplace_agreement",
    [
        ("tenant_id", _S, "internal"),
        ("agreement_id", _S, "internal"),
        ("offer_id", _S, "internal"),
        ("product_id", _S, "internal"),
        ("agreement_type", _S, "internal"),
        ("acceptor_account_id", _S, "confidential"),
        ("proposer_account_id", _S, "internal"),
        ("status", _S, "internal"),
        ("start_time", _TS, "internal"),
        ("end_time", _TS, "internal"),
        ("acceptance_time", _TS, "internal"),
        ("last_update_time", _TS, "internal"),
        ("end_time_behavior_type", _S, "internal"),
        ("end_time_behavior_reason_code", _S, "internal"),
        ("auto_renew", BooleanType(), "internal"),
        ("license_arns", _ARR, "confidential"),
        ("currency_code", _S, "internal"),
        ("rate_card", RATE_CARD, "confidential"),
        ("entitled_dimensions", ENTITLED, "confidential"),
        *_SOURCE,
    ],
    keys=("tenant_id", "agreement_id"),
    grain="one row per purchase agreement (its latest lastUpdateTime)",
    description="Purchase agreements of the seller's products with their accepted pricing terms.",
)

ENTITLEMENT = declare(
    "silver",
    "entitlement",
    [
        ("tenant_id", _S, "internal"),
        ("entitlement_id", _S, "internal"),
        ("product_code", _S, "internal"),
        ("customer_aws_account_id", _S, "confidential"),
        ("customer_identifier", _S, "confidential"),
        ("license_arn", _S, "confidential"),
        ("dimension", _S, "internal"),
        ("value_type", _S, "internal"),
        ("integer_value", _L, "internal"),
        ("double_value", DoubleType(), "internal"),
        ("boolean_value", BooleanType(), "internal"),
        ("string_value", _S, "internal"),
        ("expiration_date", _TS, "internal"),
        ("synced_at", _TS, "internal"),
        *_SOURCE,
    ],
    keys=("tenant_id", "entitlement_id"),
    grain="one row per product x customer license x dimension entitled at the last sync (the partition is "
    "replaced by each sync, so expired entitlements disappear)",
    description="GetEntitlements results: what each buyer is entitled to.",
)

METER_USAGE = declare(
    "silver",
    "meter_usage",
    [
        ("tenant_id", _S, "internal"),
        ("record_key", _S, "internal"),
        ("product_code", _S, "internal"),
        ("customer_aws_account_id", _S, "confidential"),
        ("license_arn", _S, "confidential"),
        ("customer_identifier", _S, "confidential"),
        ("dimension", _S, "internal"),
        ("usage_hour", _TS, "internal"),
        ("quantity", QUANTITY, "confidential"),
        ("allocations", ALLOCATIONS, "confidential"),
        ("usage_record", _S, "confidential"),
        ("state", _S, "internal"),  # pending | sent | dead_lettered
        ("status", _S, "internal"),  # Success | CustomerNotSubscribed | DuplicateRecord | <error code>
        ("metering_record_id", _S, "internal"),
        ("response", _S, "confidential"),
        ("attempts", _I, "internal"),
        ("unit_price", MONEY, "confidential"),
        ("currency_code", _S, "internal"),
        ("source_run_ids", _ARR, "internal"),
        ("metering_run_id", _S, "internal"),
        ("created_at", _TS, "internal"),
        ("sent_at", _TS, "internal"),
        ("updated_at", _TS, "internal"),
    ],
    keys=("tenant_id", "record_key"),
    grain="one row per usage record: tenant x product x customer x dimension x usage hour; usage_record is the "
    "exact record sent (frozen when the row is first written as pending)",
    description="Metering state machine (pending -> sent | dead_lettered) with each BatchMeterUsage result.",
)

METER_USAGE_DEADLETTER = declare(
    "silver",
    "meter_usage_deadletter",
    [
        ("tenant_id", _S, "internal"),
        ("deadletter_id", _S, "internal"),
        ("record_key", _S, "internal"),
        ("product_code", _S, "internal"),
        ("dimension", _S, "internal"),
        ("usage_hour", _TS, "internal"),
        ("quantity", QUANTITY, "confidential"),
        ("reason_code", _S, "internal"),
        ("reason", _S, "internal"),
        ("usage_record", _S, "confidential"),
        ("response", _S, "confidential"),
        ("metering_run_id", _S, "internal"),
        ("dead_lettered_at", _TS, "internal"),
    ],
    keys=("tenant_id", "deadletter_id"),
    grain="one row per usage record (or changed quantity) that was not billed, per reason",
    description="Usage that Marketplace did not bill, with the reason: CustomerNotSubscribed, DuplicateRecord, "
    "outside the accepted window, quantity changed after it was sent, no linked buyer, rejected.",
)

MARKETPLACE_USAGE = declare(
    "gold",
    "marketplace_usage",
    [
        ("tenant_id", _S, "internal"),
        ("usage_date", _D, "internal"),
        ("product_code", _S, "internal"),
        ("dimension", _S, "internal"),
        ("quantity_sent", QUANTITY, "confidential"),
        ("quantity_pending", QUANTITY, "confidential"),
        ("quantity_dead_lettered", QUANTITY, "confidential"),
        ("records_sent", _I, "internal"),
        ("estimated_revenue", MONEY, "confidential"),
        ("currency_code", _S, "internal"),
    ],
    keys=("tenant_id", "usage_date", "product_code", "dimension"),
    grain="one row per tenant x product x dimension x UTC day of metered usage",
    description="Metered usage per day and its estimated revenue at the buyer's agreement (offer) price.",
)

MARKETPLACE_SUBSCRIPTIONS = declare(
    "gold",
    "marketplace_subscriptions",
    [
        ("tenant_id", _S, "internal"),
        ("product_id", _S, "internal"),
        ("product_title", _S, "public"),
        ("active", _I, "internal"),
        ("pending_cancellation", _I, "internal"),
        ("expired", _I, "internal"),
        ("total", _I, "internal"),
        ("as_of", _TS, "internal"),
    ],
    keys=("tenant_id", "product_id"),
    grain="one row per product of the seller: agreement counts by lifecycle state as of the last build",
    description="Subscriptions per product: active, pending cancellation (auto-renew turned off), expired/ended.",
)
