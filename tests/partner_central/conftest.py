"""Helpers for the Partner Central silver/gold tests: bronze rows written the way bronze ingestion lands them."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "partner_central"
BRONZE = {
    "opportunity": "bronze.partner_central_opportunity",
    "solution": "bronze.partner_central_solution",
    "engagement_invitation": "bronze.partner_central_engagement_invitation",
}
# the bronze shape ingestion lands, used only if the bronze module has not declared these tables yet
_BRONZE_SCHEMA = StructType(
    [
        StructField("tenant_id", StringType()),
        StructField("catalog", StringType()),
        StructField("entity_id", StringType()),
        StructField("last_modified_at", TimestampType()),
        StructField("payload", StringType()),
        StructField("payload_sha256", StringType()),
        StructField("ingestion_run_id", StringType()),
        StructField("ingested_at", TimestampType()),
    ]
)
PII_SECRET = "test-pii-secret-0123456789abcdef"


def ensure_bronze_tables() -> None:
    """Declare the bronze tables with the ingestion shape unless the bronze module already does."""
    from lakehouse import catalog
    from lakehouse.catalog import TableDef, register

    catalog.all_tables()
    for entity, name in BRONZE.items():
        try:
            catalog.get(name)
        except catalog.UnknownTable:
            register(
                TableDef(
                    layer="bronze",
                    name=name.split(".", 1)[1],
                    schema=_BRONZE_SCHEMA,
                    keys=("tenant_id", "entity_id", "payload_sha256"),
                    grain=f"one row per fetched {entity} payload version",
                    classification={
                        "tenant_id": "internal",
                        "catalog": "internal",
                        "entity_id": "internal",
                        "last_modified_at": "internal",
                        "payload": "pii",
                        "payload_sha256": "internal",
                        "ingestion_run_id": "internal",
                        "ingested_at": "internal",
                    },
                )
            )


def fixture_opportunity() -> dict[str, Any]:
    """The AWS sample GetOpportunity response."""
    return json.loads((FIXTURES / "get_opportunity_response.json").read_text())


def opportunity(
    opp_id: str | None,
    *,
    modified: str = "2025-01-10T10:00:00Z",
    stage: str | None = "Prospect",
    review: str | None = "Approved",
    close: str | None = "2025-06-15",
    spend: Iterable[tuple[str | None, str, str]] = (("100", "USD", "Monthly"),),
    contacts: Iterable[dict[str, Any]] = (),
    team: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A GetOpportunity-shaped payload derived from the AWS fixture with the given fields replaced."""
    doc = copy.deepcopy(fixture_opportunity())
    doc["Id"] = opp_id
    if opp_id is None:
        del doc["Id"]
    doc["LastModifiedDate"] = modified
    doc["LifeCycle"]["Stage"] = stage
    doc["LifeCycle"]["ReviewStatus"] = review
    doc["LifeCycle"]["TargetCloseDate"] = close
    doc["Project"]["ExpectedCustomerSpend"] = [
        {"Amount": a, "CurrencyCode": c, "EstimationUrl": None, "Frequency": f, "TargetCompany": "AWS"}
        for a, c, f in spend
    ]
    doc["Customer"]["Contacts"] = list(contacts)
    doc["OpportunityTeam"] = list(team)
    return doc


def bronze_rows(
    tenant: str,
    payloads: Iterable[dict[str, Any] | str],
    *,
    run_id: str,
    ingested_at: datetime,
    catalog: str = "AWS",
) -> list[dict[str, Any]]:
    """Bronze rows as ingestion lands them: payload text verbatim, sha256 of it, ids from the payload."""
    rows = []
    for p in payloads:
        text = p if isinstance(p, str) else json.dumps(p)
        doc: Any
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        entity_id = doc.get("Id") if isinstance(doc, dict) else None
        modified = None
        if isinstance(doc, dict):
            stamp = doc.get("LastModifiedDate") or doc.get("InvitationDate") or doc.get("CreatedDate")
            try:
                modified = datetime.fromisoformat(str(stamp)) if stamp else None
            except ValueError:
                modified = None
        rows.append(
            {
                "tenant_id": tenant,
                "catalog": catalog,
                "entity_id": entity_id,
                "last_modified_at": modified,
                "payload": text,
                "payload_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "ingestion_run_id": run_id,
                "ingested_at": ingested_at,
            }
        )
    return rows


def write_bronze(spark, entity: str, rows: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """Append rows to a bronze table through lakehouse.io (columns the bronze module adds are left null)."""
    from lakehouse import catalog, io
    from lakehouse.tenancy import TenantScope

    td = catalog.get(BRONZE[entity])
    names = td.schema.fieldNames()
    df = spark.createDataFrame([tuple(r.get(n) for n in names) for r in rows], td.schema)
    io.append(spark, td, df, TenantScope.for_tenant(rows[0]["tenant_id"]))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def pipeline_lake(lake, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh lake with bronze tables declared, a fixed PII secret and lineage events in the lake."""
    monkeypatch.setenv("LAKEHOUSE_PII_SECRET", PII_SECRET)
    monkeypatch.setenv("LAKEHOUSE_OPENLINEAGE_FILE", str(lake / "_lineage" / "events.jsonl"))
    ensure_bronze_tables()
    return lake
