"""Gold ACE marts of Partner Central (the ops tables the steps also write are core: lakehouse.ops).

Mart definitions are part of the contract; each table's grain is stated beside its schema.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    StringType,
)

from lakehouse.catalog import TableDef, declare
from lakehouse.partner_central.entities.silver import AMOUNT

_S, _L = StringType(), LongType()
SPEND_SUM = DecimalType(28, 2)  # a sum of decimal(18,2) amounts


ACE_PIPELINE = declare(
    "gold",
    "ace_pipeline",
    [
        ("tenant_id", _S, "internal"),
        ("stage", _S, "internal"),
        ("target_close_month", _S, "internal"),
        ("opportunity_count", _L, "internal"),
        ("expected_monthly_spend_usd", AMOUNT, "confidential"),
    ],
    keys=("tenant_id", "stage", "target_close_month"),
    grain="one row per tenant x stage x target_close_month ('YYYY-MM' of LifeCycle.TargetCloseDate; null when "
    "missing)",
    description="opportunity_count = current opportunities in the group; expected_monthly_spend_usd = sum of "
    "their ExpectedCustomerSpend amounts with CurrencyCode USD and Frequency Monthly (0 when none). Non-USD "
    "amounts are not converted (each raises a warn expectation on silver.opportunity_spend).",
)

ACE_WIN_RATE = declare(
    "gold",
    "ace_win_rate",
    [
        ("tenant_id", _S, "internal"),
        ("won_count", _L, "internal"),
        ("lost_count", _L, "internal"),
        ("open_count", _L, "internal"),
        ("win_rate", DoubleType(), "internal"),
    ],
    keys=("tenant_id",),
    grain="one row per tenant (with at least one current opportunity)",
    description="won = stage Launched, lost = stage Closed Lost, open = every other stage (or none); "
    "win_rate = won / (won + lost), null when nothing is closed.",
)

ACE_PIPELINE_HEALTH = declare(
    "gold",
    "ace_pipeline_health",
    [
        ("tenant_id", _S, "internal"),
        ("review_status", _S, "internal"),
        ("opportunity_count", _L, "internal"),
        ("stale_count", _L, "internal"),
        ("action_required_count", _L, "internal"),
        ("as_of_date", DateType(), "internal"),
    ],
    keys=("tenant_id", "review_status"),
    grain="one row per tenant x review_status (LifeCycle.ReviewStatus; null when missing)",
    description="stale_count = opportunities whose TargetCloseDate is before as_of_date (the run date, UTC) and "
    "whose stage is not Launched / Closed Lost; action_required_count = opportunities whose review status is "
    "'Action Required'.",
)

GOLD_TABLES: tuple[TableDef, ...] = (ACE_PIPELINE, ACE_WIN_RATE, ACE_PIPELINE_HEALTH)

ACE_FACTS = declare(
    "gold",
    "ace_facts",
    [
        ("tenant_id", _S, "internal"),
        ("file_cluster", _S, "internal"),
        ("stage", _S, "internal"),
        ("target_close_month", _S, "internal"),
        ("review_status", _S, "internal"),
        ("stale", BooleanType(), "internal"),
        ("opportunity_count", _L, "internal"),
        ("usd_monthly_spend", SPEND_SUM, "internal"),
        ("as_of_date", DateType(), "internal"),
    ],
    keys=("tenant_id", "file_cluster", "stage", "target_close_month", "review_status", "stale"),
    grain="one row per tenant x silver file_cluster x stage x target_close_month x review_status x stale",
    description="The aggregate the three ACE marts are derived from (lakehouse.partner_central.transforms.gold.ace_facts), "
    "per silver file cluster, so a gold run recomputes only the clusters silver changed since the versions gold "
    "last consumed. usd_monthly_spend = sum of the cluster's USD monthly ExpectedCustomerSpend amounts (null when "
    "none); stale as in ace_pipeline_health, for as_of_date.",
)
