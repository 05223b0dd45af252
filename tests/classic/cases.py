"""Pure transforms run on both engines by the conformance test. Each case builds tiny inputs inline."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "partner_central" / "get_opportunity_response.json"
)
BRONZE_DDL = (
    "tenant_id string, catalog string, entity_id string, last_modified_at timestamp, payload string, "
    "payload_sha256 string, ingestion_run_id string, ingested_at timestamp"
)


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def _variants() -> list[tuple[str, str, datetime]]:
    """(tenant, payload text, ingested_at): the real fixture plus edge cases real data has."""
    base = _fixture()
    newer = copy.deepcopy(base)
    newer["LastModifiedDate"] = "2031-01-02T03:04:05Z"
    newer["LifeCycle"]["Stage"] = "Launched"
    other = copy.deepcopy(base)
    other["Id"] = "O9999999"
    other["LifeCycle"]["Stage"] = "Closed Lost"
    other["Project"]["ExpectedCustomerSpend"] = [
        {"Amount": "531", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"},
        {"Amount": "100.5", "CurrencyCode": "EUR", "Frequency": "Monthly", "TargetCompany": "AWS"},
    ]
    bad_amount = copy.deepcopy(base)
    bad_amount["Id"] = "O8888888"
    bad_amount["Project"]["ExpectedCustomerSpend"] = [
        {"Amount": "lots", "CurrencyCode": "USD", "Frequency": "Monthly"}
    ]
    no_id = copy.deepcopy(base)
    no_id.pop("Id", None)
    t1, t2 = datetime(2030, 1, 1, 12), datetime(2030, 1, 2, 12)
    return [
        ("acme", json.dumps(base), t1),
        ("acme", json.dumps(newer), t2),
        ("acme", json.dumps(other), t1),
        ("acme", json.dumps(bad_amount), t1),
        ("acme", json.dumps(no_id), t1),
        ("acme", "[not an object", t2),
    ]


def bronze(spark: SparkSession) -> DataFrame:
    rows = []
    for i, (tenant, payload, ingested) in enumerate(_variants()):
        try:
            doc = json.loads(payload)
        except ValueError:
            doc = {}
        rows.append(
            (
                tenant,
                "Sandbox",
                doc.get("Id"),
                None,
                payload,
                hashlib.sha256(payload.encode()).hexdigest(),
                f"run-{i % 2}",
                ingested,
            )
        )
    return spark.createDataFrame(rows, BRONZE_DDL)


def _silver(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    from lakehouse.partner_central.transforms import silver as s

    parsed = s.parse_opportunities(bronze(spark), email_key=b"conformance-key")
    good, _ = s.split_quarantine(parsed)
    latest = s.latest_versions(good, ["tenant_id", "opportunity_id"])
    return s.to_opportunity(latest), s.to_opportunity_spend(latest)


def parse_opportunities(spark: SparkSession) -> DataFrame:
    from lakehouse.partner_central.transforms import silver as s

    return s.parse_opportunities(bronze(spark), email_key=b"conformance-key").drop("_payload")


def silver_opportunity(spark: SparkSession) -> DataFrame:
    return _silver(spark)[0]


def gold_ace_pipeline(spark: SparkSession) -> DataFrame:
    from lakehouse.partner_central.transforms import gold as gold_ace

    return gold_ace.ace_pipeline(*_silver(spark))


def gold_ace_win_rate(spark: SparkSession) -> DataFrame:
    from lakehouse.partner_central.transforms import gold as gold_ace

    return gold_ace.ace_win_rate(_silver(spark)[0])


def gold_ace_pipeline_health(spark: SparkSession) -> DataFrame:
    from lakehouse.partner_central.transforms import gold as gold_ace

    return gold_ace.ace_pipeline_health(_silver(spark)[0], as_of=date(2031, 6, 1))


CASES: dict[str, Callable[[SparkSession], DataFrame]] = {
    f.__name__: f
    for f in (
        parse_opportunities,
        silver_opportunity,
        gold_ace_pipeline,
        gold_ace_win_rate,
        gold_ace_pipeline_health,
    )
}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"decimal:{value}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def result(df: DataFrame) -> dict[str, Any]:
    """Schema (names and types) and rows in a canonical, engine-independent form."""
    rows = sorted(json.dumps(_plain(r.asDict(recursive=True)), sort_keys=True) for r in df.collect())
    return {"schema": [(f.name, f.dataType.simpleString()) for f in df.schema.fields], "rows": rows}
