"""Marketplace reads for one tenant (a seller account) into bronze, and silver/gold rebuilds from bronze.

Bronze (``bronze.marketplace_entity``) keeps every distinct payload once (by SHA-256). Catalog entities already
in bronze at the listed ``LastModifiedDate`` are not described again; agreements are searched from the newest
``lastUpdateTime`` in bronze minus an overlap (the watermark lives in the data it covers, so a crash can't move it
past unlanded data); entitlements are fetched whole and replace the tenant's ``silver.entitlement`` partition.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.io import WriteResult
from lakehouse.marketplace import transforms as T
from lakehouse.marketplace.connector import CATALOG_ENTITY_TYPES, MarketplaceReader, RawEntity
from lakehouse.marketplace.entities import (
    ENTITLEMENT,
    MARKETPLACE_AGREEMENT,
    MARKETPLACE_ENTITY,
    MARKETPLACE_OFFER,
    MARKETPLACE_PRODUCT,
    MARKETPLACE_SUBSCRIPTIONS,
    MARKETPLACE_USAGE,
    METER_USAGE,
)
from lakehouse.marketplace.store import from_spark_ts
from lakehouse.quality.monitor import observe_writes
from lakehouse.tenancy import TenantScope

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    """What a Marketplace sync did."""

    tenant_id: str
    run_id: str
    listed: dict[str, int] = field(default_factory=dict)
    fetched: dict[str, int] = field(default_factory=dict)
    landed: int = 0
    duplicates: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = ", ".join(f"{k}: {self.fetched.get(k, 0)}/{self.listed.get(k, 0)}" for k in self.listed)
        return (
            f"tenant {self.tenant_id}: fetched/listed {parts}; {self.landed} payload(s) landed, "
            f"{self.duplicates} unchanged; {len(self.errors)} error(s); api calls {dict(self.api_calls)}"
        )


def bronze_frame(
    spark: Any, tenant_id: str, records: Sequence[RawEntity], run_id: str, now: datetime
) -> DataFrame:
    """Raw records as rows of bronze.marketplace_entity."""
    rows = [
        (
            tenant_id,
            r.entity_type,
            r.entity_id,
            r.entity_arn,
            r.last_modified,
            r.payload,
            r.payload_sha256,
            run_id,
            now,
        )
        for r in records
    ]
    frame: DataFrame = spark.createDataFrame(rows, MARKETPLACE_ENTITY.schema)
    return frame


class MarketplaceSync:
    """Reads one seller tenant's Marketplace data into the lake."""

    def __init__(
        self,
        spark: Any,
        reader: MarketplaceReader,
        tenant_id: str,
        *,
        run_id: str,
        clock: Callable[[], datetime] | None = None,
        overlap: timedelta = timedelta(minutes=5),
    ) -> None:
        self.spark, self.reader, self.tenant_id, self.run_id = spark, reader, tenant_id, run_id
        self.scope = TenantScope.for_tenant(tenant_id)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.overlap = overlap
        self.result = SyncResult(tenant_id, run_id)

    # ------------------------------------------------------------------------------------------- bronze

    def _bronze(self) -> DataFrame:
        return io.read(self.spark, MARKETPLACE_ENTITY, self.scope)

    def _known(self, entity_type: str) -> tuple[set[tuple[str, datetime | None]], set[str]]:
        if not io.exists(MARKETPLACE_ENTITY):
            return set(), set()
        rows = (
            self._bronze()
            .where(F.col("entity_type") == F.lit(entity_type))
            .select("entity_id", "last_modified_at", "payload_sha256")
            .collect()
        )
        return (
            {(r["entity_id"], from_spark_ts(r["last_modified_at"])) for r in rows},
            {r["payload_sha256"] for r in rows},
        )

    def land(self, entity_type: str, records: Sequence[RawEntity]) -> int:
        """Append records whose payload is not in bronze yet; returns how many landed."""
        _, hashes = self._known(entity_type)
        fresh = {r.payload_sha256: r for r in records if r.payload_sha256 not in hashes}
        self.result.duplicates += len(records) - len(fresh)
        if fresh:
            df = bronze_frame(self.spark, self.tenant_id, list(fresh.values()), self.run_id, self.clock())
            io.append(self.spark, MARKETPLACE_ENTITY, df, self.scope, batch_id=f"{self.run_id}:{entity_type}")
        self.result.landed += len(fresh)
        return len(fresh)

    # ------------------------------------------------------------------------------------------- reads

    def sync_catalog(self, entity_types: Sequence[str] = CATALOG_ENTITY_TYPES) -> SyncResult:
        """List every entity; describe (20 per call) only the versions bronze doesn't have; land them."""
        for entity_type in entity_types:
            known, _ = self._known(entity_type)
            listed = list(self.reader.list_entity_ids(entity_type))
            todo = [i for i, modified in listed if (i, modified) not in known]
            records, errors = self.reader.describe_entities(todo)
            self.result.listed[entity_type] = len(listed)
            self.result.fetched[entity_type] = len(records)
            self.result.errors.update({f"{entity_type}/{k}": v for k, v in errors.items()})
            self.land(entity_type, records)
        self._calls()
        return self.result

    def agreement_watermark(self) -> datetime | None:
        """The newest lastUpdateTime among landed agreements (None before the first sync)."""
        if not io.exists(MARKETPLACE_ENTITY):
            return None
        row = (
            self._bronze()
            .where(F.col("entity_type") == F.lit("Agreement"))
            .agg(F.max("last_modified_at").alias("m"))
            .collect()[0]
        )
        return from_spark_ts(row["m"])

    def sync_agreements(
        self, *, offer_id: str | None = None, status: str | None = None, since: datetime | None = None
    ) -> SyncResult:
        """SearchAgreements after the watermark (minus an overlap) + GetAgreementTerms for each; land them."""
        mark = since or self.agreement_watermark()
        after = mark - self.overlap if mark is not None else None
        known, _ = self._known("Agreement")
        summaries = list(self.reader.search_agreements(after=after, offer_id=offer_id, status=status))
        todo = [s for s in summaries if (s["agreementId"], s.get("lastUpdateTime")) not in known]
        records = [self.reader.agreement_record(s) for s in todo]
        self.result.listed["Agreement"] = len(summaries)
        self.result.fetched["Agreement"] = len(records)
        self.land("Agreement", records)
        self._calls()
        return self.result

    def sync_entitlements(
        self,
        product_codes: Sequence[str],
        *,
        customer_aws_account_id: str | None = None,
        license_arn: str | None = None,
    ) -> SyncResult:
        """GetEntitlements for the products; land raw; replace the tenant's silver.entitlement partition."""
        records: list[RawEntity] = []
        for code in product_codes:
            for entitlement in self.reader.entitlements(
                code, customer_aws_account_id=customer_aws_account_id, license_arn=license_arn
            ):
                records.append(self.reader.entitlement_record(entitlement))
        self.result.listed["Entitlement"] = self.result.fetched["Entitlement"] = len(records)
        self.land("Entitlement", records)
        now = self.clock()
        raw = bronze_frame(self.spark, self.tenant_id, records, self.run_id, now)
        written = io.overwrite_partition(self.spark, ENTITLEMENT, T.silver_entitlements(raw, now), self.scope)
        observe_writes(self.spark, self.tenant_id, self.run_id, {ENTITLEMENT.qualified_name: written})
        self._calls()
        return self.result

    def _calls(self) -> None:
        self.result.api_calls = dict(self.reader.calls)

    # ------------------------------------------------------------------------------------------- silver/gold

    def build_silver(self) -> dict[str, int]:
        """Rebuild the tenant's product, offer and agreement silver tables from bronze (latest versions)."""
        if not io.exists(MARKETPLACE_ENTITY):
            return {}
        bronze = self._bronze()
        writes: dict[str, WriteResult] = {}
        for table, transform in (
            (MARKETPLACE_PRODUCT, T.silver_products),
            (MARKETPLACE_OFFER, T.silver_offers),
            (MARKETPLACE_AGREEMENT, T.silver_agreements),
        ):
            writes[table.qualified_name] = io.overwrite_partition(
                self.spark, table, transform(bronze), self.scope
            )
        observe_writes(self.spark, self.tenant_id, self.run_id, writes)
        return {name: w.rows for name, w in writes.items()}

    def build_subscriptions(self) -> int:
        """Rebuild gold.marketplace_subscriptions for the tenant."""
        agreements = io.read(self.spark, MARKETPLACE_AGREEMENT, self.scope)
        products = io.read(self.spark, MARKETPLACE_PRODUCT, self.scope)
        df = T.gold_subscriptions(agreements, products, self.clock())
        written = io.overwrite_partition(self.spark, MARKETPLACE_SUBSCRIPTIONS, df, self.scope)
        observe_writes(
            self.spark, self.tenant_id, self.run_id, {MARKETPLACE_SUBSCRIPTIONS.qualified_name: written}
        )
        return written.rows


def build_usage_gold(spark: Any, tenant_id: str, *, run_id: str | None = None) -> int:
    """Rebuild gold.marketplace_usage for a tenant from silver.meter_usage; returns the rows written.

    The written table is profiled under ``run_id`` (default: a new ``marketplace_usage-...`` id)."""
    scope = TenantScope.for_tenant(tenant_id)
    if not io.exists(METER_USAGE):
        return 0
    df = T.gold_usage(io.read(spark, METER_USAGE, scope))
    written = io.overwrite_partition(spark, MARKETPLACE_USAGE, df, scope)
    run = run_id or f"marketplace_usage-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    observe_writes(spark, tenant_id, run, {MARKETPLACE_USAGE.qualified_name: written})
    return written.rows
