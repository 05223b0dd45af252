"""Pure DataFrame transforms for Marketplace: bronze payloads -> silver entities -> gold marts.

Each function takes DataFrames (and plain scalars) and returns a DataFrame in the target table's declared
column order; none reads or writes storage.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from lakehouse.marketplace.entities import (
    ENTITLEMENT,
    MARKETPLACE_AGREEMENT,
    MARKETPLACE_OFFER,
    MARKETPLACE_PRODUCT,
    MARKETPLACE_SUBSCRIPTIONS,
    MARKETPLACE_USAGE,
    MONEY,
    QUANTITY,
)

_S = StringType()


def _struct(**fields: object) -> StructType:
    return StructType([StructField(k, v, True) for k, v in fields.items()])  # type: ignore[arg-type]


def _arr(element: object) -> ArrayType:
    return ArrayType(element, True)  # type: ignore[arg-type]


_RATE_ITEM = _struct(DimensionKey=_S, Price=_S)
PRODUCT_JSON = _struct(
    EntityArn=_S,
    LastModifiedDate=_S,
    DetailsDocument=_struct(
        Description=_struct(ProductTitle=_S, ProductCode=_S, ShortDescription=_S, Visibility=_S),
        Dimensions=_arr(_struct(Key=_S, Name=_S, Description=_S, Unit=_S, Types=_arr(_S))),
        DeliveryOptions=_arr(
            _struct(Details=_struct(SaaSUrlDeliveryOptionDetails=_struct(FulfillmentUrl=_S)))
        ),
    ),
)
OFFER_JSON = _struct(
    EntityArn=_S,
    LastModifiedDate=_S,
    DetailsDocument=_struct(
        Name=_S,
        Description=_S,
        ProductId=_S,
        State=_S,
        PricingModel=_S,
        ReleaseDate=_S,
        AvailabilityEndDate=_S,
        Targeting=_struct(BuyerAccounts=_arr(_S)),
        Terms=_arr(_struct(Type=_S, CurrencyCode=_S, RateCards=_arr(_struct(RateCard=_arr(_RATE_ITEM))))),
    ),
)
_LOWER_RATE = _struct(dimensionKey=_S, price=_S)
AGREEMENT_JSON = _struct(
    agreement=_struct(
        agreementId=_S,
        agreementType=_S,
        status=_S,
        startTime=_S,
        endTime=_S,
        acceptanceTime=_S,
        lastUpdateTime=_S,
        endTimeBehaviorType=_S,
        endTimeBehaviorReasonCode=_S,
        acceptor=_struct(accountId=_S),
        proposer=_struct(accountId=_S),
        proposalSummary=_struct(offerId=_S, resources=_arr(_struct(id=_S, type=_S))),
        entitlements=_arr(_struct(licenseArn=_S)),
    ),
    acceptedTerms=_arr(
        _struct(
            usageBasedPricingTerm=_struct(
                currencyCode=_S, rateCards=_arr(_struct(rateCard=_arr(_LOWER_RATE)))
            ),
            configurableUpfrontPricingTerm=_struct(
                currencyCode=_S,
                configuration=_struct(dimensions=_arr(_struct(dimensionKey=_S, dimensionValue=LongType()))),
            ),
            renewalTerm=_struct(configuration=_struct(enableAutoRenew=BooleanType())),
        )
    ),
)
ENTITLEMENT_JSON = _struct(
    ProductCode=_S,
    Dimension=_S,
    CustomerAWSAccountId=_S,
    CustomerIdentifier=_S,
    LicenseArn=_S,
    ExpirationDate=_S,
    Value=_struct(
        IntegerValue=LongType(), DoubleValue=DoubleType(), BooleanValue=BooleanType(), StringValue=_S
    ),
)


def _ts(col: Column) -> Column:
    """An ISO-8601 string (``...Z``) as a timestamp."""
    return F.to_timestamp(col)


def _latest(bronze: DataFrame, entity_type: str) -> DataFrame:
    """The newest payload per entity of ``entity_type`` (by last_modified_at, then ingested_at)."""
    rows = bronze.where(F.col("entity_type") == F.lit(entity_type))
    order = F.struct(
        F.coalesce(F.col("last_modified_at"), F.lit(datetime(1970, 1, 1))),
        F.col("ingested_at"),
        F.col("payload_sha256"),
    )
    best = rows.groupBy("tenant_id", "entity_id").agg(F.max(order).alias("_best"))
    return (
        rows.join(best, ["tenant_id", "entity_id"])
        .where(
            F.struct(
                F.coalesce(F.col("last_modified_at"), F.lit(datetime(1970, 1, 1))),
                F.col("ingested_at"),
                F.col("payload_sha256"),
            )
            == F.col("_best")
        )
        .drop("_best")
    )


def _source() -> list[Column]:
    return [
        F.col("ingestion_run_id").alias("source_ingestion_run_id"),
        F.col("ingested_at").alias("source_ingested_at"),
        F.col("payload_sha256").alias("source_payload_sha256"),
    ]


def silver_products(bronze: DataFrame) -> DataFrame:
    """bronze.marketplace_entity (SaaSProduct) -> silver.marketplace_product (latest version per product)."""
    j = F.from_json("payload", PRODUCT_JSON)
    parsed = _latest(bronze, "SaaSProduct").select("*", j.alias("_j"))
    d = F.col("_j.DetailsDocument")
    dims = F.transform(
        d["Dimensions"],
        lambda x: F.struct(
            x["Key"].alias("key"),
            x["Name"].alias("name"),
            x["Description"].alias("description"),
            x["Unit"].alias("unit"),
            x["Types"].alias("types"),
        ),
    )
    return parsed.select(
        "tenant_id",
        F.col("entity_id").alias("product_id"),
        d["Description"]["ProductCode"].alias("product_code"),
        F.coalesce(F.col("entity_arn"), F.col("_j.EntityArn")).alias("entity_arn"),
        d["Description"]["ProductTitle"].alias("title"),
        d["Description"]["ShortDescription"].alias("short_description"),
        d["Description"]["Visibility"].alias("visibility"),
        dims.alias("dimensions"),
        d["DeliveryOptions"][0]["Details"]["SaaSUrlDeliveryOptionDetails"]["FulfillmentUrl"].alias(
            "fulfillment_url"
        ),
        F.col("last_modified_at"),
        *_source(),
    ).select(*MARKETPLACE_PRODUCT.schema.fieldNames())


def silver_offers(bronze: DataFrame) -> DataFrame:
    """bronze.marketplace_entity (Offer) -> silver.marketplace_offer with the usage rate card flattened."""
    j = F.from_json("payload", OFFER_JSON)
    parsed = _latest(bronze, "Offer").select("*", j.alias("_j"))
    d = F.col("_j.DetailsDocument")
    usage_terms = F.filter(d["Terms"], lambda t: t["Type"] == F.lit("UsageBasedPricingTerm"))
    rates = F.flatten(
        F.transform(usage_terms, lambda t: F.flatten(F.transform(t["RateCards"], lambda c: c["RateCard"])))
    )
    card = F.transform(
        rates,
        lambda r: F.struct(r["DimensionKey"].alias("dimension_key"), r["Price"].cast(MONEY).alias("price")),
    )
    return parsed.select(
        "tenant_id",
        F.col("entity_id").alias("offer_id"),
        d["ProductId"].alias("product_id"),
        d["Name"].alias("name"),
        d["Description"].alias("description"),
        d["State"].alias("state"),
        d["PricingModel"].alias("pricing_model"),
        usage_terms[0]["CurrencyCode"].alias("currency_code"),
        card.alias("rate_card"),
        _ts(d["ReleaseDate"]).alias("release_date"),
        _ts(d["AvailabilityEndDate"]).alias("availability_end_date"),
        d["Targeting"]["BuyerAccounts"].alias("buyer_accounts"),
        F.col("last_modified_at"),
        *_source(),
    ).select(*MARKETPLACE_OFFER.schema.fieldNames())


def silver_agreements(bronze: DataFrame) -> DataFrame:
    """bronze.marketplace_entity (Agreement: summary + accepted terms) -> silver.marketplace_agreement."""
    j = F.from_json("payload", AGREEMENT_JSON)
    parsed = _latest(bronze, "Agreement").select("*", j.alias("_j"))
    a = F.col("_j.agreement")
    terms = F.col("_j.acceptedTerms")
    usage = F.filter(terms, lambda t: t["usageBasedPricingTerm"].isNotNull())
    rates = F.flatten(
        F.transform(
            usage,
            lambda t: F.flatten(
                F.transform(t["usageBasedPricingTerm"]["rateCards"], lambda c: c["rateCard"])
            ),
        )
    )
    card = F.transform(
        rates,
        lambda r: F.struct(r["dimensionKey"].alias("dimension_key"), r["price"].cast(MONEY).alias("price")),
    )
    upfront = F.filter(terms, lambda t: t["configurableUpfrontPricingTerm"].isNotNull())
    entitled = F.flatten(
        F.transform(
            upfront,
            lambda t: F.transform(
                t["configurableUpfrontPricingTerm"]["configuration"]["dimensions"],
                lambda x: F.struct(
                    x["dimensionKey"].alias("dimension_key"),
                    x["dimensionValue"].cast("bigint").alias("value"),
                ),
            ),
        )
    )
    renewal = F.filter(terms, lambda t: t["renewalTerm"].isNotNull())
    return parsed.select(
        "tenant_id",
        F.col("entity_id").alias("agreement_id"),
        a["proposalSummary"]["offerId"].alias("offer_id"),
        a["proposalSummary"]["resources"][0]["id"].alias("product_id"),
        a["agreementType"].alias("agreement_type"),
        a["acceptor"]["accountId"].alias("acceptor_account_id"),
        a["proposer"]["accountId"].alias("proposer_account_id"),
        a["status"].alias("status"),
        _ts(a["startTime"]).alias("start_time"),
        _ts(a["endTime"]).alias("end_time"),
        _ts(a["acceptanceTime"]).alias("acceptance_time"),
        _ts(a["lastUpdateTime"]).alias("last_update_time"),
        a["endTimeBehaviorType"].alias("end_time_behavior_type"),
        a["endTimeBehaviorReasonCode"].alias("end_time_behavior_reason_code"),
        renewal[0]["renewalTerm"]["configuration"]["enableAutoRenew"].alias("auto_renew"),
        F.transform(a["entitlements"], lambda e: e["licenseArn"]).alias("license_arns"),
        F.coalesce(
            usage[0]["usageBasedPricingTerm"]["currencyCode"],
            upfront[0]["configurableUpfrontPricingTerm"]["currencyCode"],
        ).alias("currency_code"),
        card.alias("rate_card"),
        entitled.alias("entitled_dimensions"),
        *_source(),
    ).select(*MARKETPLACE_AGREEMENT.schema.fieldNames())


def silver_entitlements(raw: DataFrame, synced_at: datetime) -> DataFrame:
    """Raw Entitlement rows of one sync (bronze layout) -> silver.entitlement rows."""
    j = F.from_json("payload", ENTITLEMENT_JSON)
    parsed = raw.where(F.col("entity_type") == F.lit("Entitlement")).select("*", j.alias("_j"))
    e = F.col("_j")
    value = e["Value"]
    kind = (
        F.when(value["IntegerValue"].isNotNull(), F.lit("integer"))
        .when(value["DoubleValue"].isNotNull(), F.lit("double"))
        .when(value["BooleanValue"].isNotNull(), F.lit("boolean"))
        .when(value["StringValue"].isNotNull(), F.lit("string"))
    )
    return parsed.select(
        "tenant_id",
        F.col("entity_id").alias("entitlement_id"),
        e["ProductCode"].alias("product_code"),
        e["CustomerAWSAccountId"].alias("customer_aws_account_id"),
        e["CustomerIdentifier"].alias("customer_identifier"),
        e["LicenseArn"].alias("license_arn"),
        e["Dimension"].alias("dimension"),
        kind.alias("value_type"),
        value["IntegerValue"].alias("integer_value"),
        value["DoubleValue"].alias("double_value"),
        value["BooleanValue"].alias("boolean_value"),
        value["StringValue"].alias("string_value"),
        _ts(e["ExpirationDate"]).alias("expiration_date"),
        F.lit(synced_at).cast("timestamp").alias("synced_at"),
        *_source(),
    ).select(*ENTITLEMENT.schema.fieldNames())


def gold_usage(meter_usage: DataFrame) -> DataFrame:
    """silver.meter_usage -> gold.marketplace_usage: per tenant x product x dimension x UTC day."""
    q = F.col("quantity")
    sent = F.col("state") == F.lit("sent")
    zero = F.lit(0).cast(QUANTITY)
    return (
        meter_usage.withColumn("usage_date", F.to_date("usage_hour"))
        .groupBy("tenant_id", "usage_date", "product_code", "dimension")
        .agg(
            F.coalesce(F.sum(F.when(sent, q)), zero).cast(QUANTITY).alias("quantity_sent"),
            F.coalesce(F.sum(F.when(F.col("state") == F.lit("pending"), q)), zero)
            .cast(QUANTITY)
            .alias("quantity_pending"),
            F.coalesce(F.sum(F.when(F.col("state") == F.lit("dead_lettered"), q)), zero)
            .cast(QUANTITY)
            .alias("quantity_dead_lettered"),
            F.count(F.when(sent, F.lit(1))).cast("int").alias("records_sent"),
            F.coalesce(F.sum(F.when(sent, q * F.col("unit_price"))), F.lit(0))
            .cast(MONEY)
            .alias("estimated_revenue"),
            F.max("currency_code").alias("currency_code"),
        )
        .select(*MARKETPLACE_USAGE.schema.fieldNames())
    )


ENDED_STATUSES = ("EXPIRED", "CANCELLED", "TERMINATED")
OPTED_OUT = ("ACCEPTOR_RENEW_OPTED_OUT", "PROPOSER_RENEW_OPTED_OUT")


def gold_subscriptions(agreements: DataFrame, products: DataFrame, as_of: datetime) -> DataFrame:
    """silver agreements + products -> gold.marketplace_subscriptions (counts per product by lifecycle state).

    ``pending_cancellation``: ACTIVE, but set to expire because auto-renew was turned off; ``active``: the other
    ACTIVE agreements; ``expired``: EXPIRED, CANCELLED or TERMINATED.
    """
    active = F.col("status") == F.lit("ACTIVE")
    pending = (
        active
        & (F.col("end_time_behavior_type") == F.lit("EXPIRE"))
        & F.col("end_time_behavior_reason_code").isin(*OPTED_OUT)
    )
    counts = agreements.groupBy("tenant_id", "product_id").agg(
        F.count(F.when(active & ~pending, F.lit(1))).cast("int").alias("active"),
        F.count(F.when(pending, F.lit(1))).cast("int").alias("pending_cancellation"),
        F.count(F.when(F.col("status").isin(*ENDED_STATUSES), F.lit(1))).cast("int").alias("expired"),
        F.count(F.lit(1)).cast("int").alias("total"),
    )
    titles = products.select("tenant_id", "product_id", F.col("title").alias("product_title"))
    return (
        counts.join(titles, ["tenant_id", "product_id"], "left")
        .withColumn("as_of", F.lit(as_of).cast("timestamp"))
        .select(*MARKETPLACE_SUBSCRIPTIONS.schema.fieldNames())
    )
