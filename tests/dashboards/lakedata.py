"""A small two-tenant lake for the dashboard and notebook tests, written through ``lakehouse.io``.

Silver rows are inline below; gold is built from them with the library's gold transforms (as the pipeline
does). The numbers the tests expect are in ``EXPECTED``, worked out by hand from the rows (not from gold).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

AS_OF = date(2026, 6, 15)
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

# (id, stage, target close date, review status, industry, country, [(amount, currency, frequency)], title)
OPPORTUNITIES: dict[str, list[tuple[Any, ...]]] = {
    "acme": [
        (
            "O-A1",
            "Prospect",
            date(2026, 5, 10),
            "Pending Submission",
            "Software and Internet",
            "US",
            [("1000.00", "USD", "Monthly")],
            "Data lake migration",
        ),
        (
            "O-A2",
            "Qualified",
            date(2026, 7, 1),
            "Approved",
            "Financial Services",
            "DE",
            [("2500.00", "USD", "Monthly"), ("300.00", "EUR", "Monthly")],
            "Fraud analytics",
        ),
        (
            "O-A3",
            "Committed",
            date(2026, 7, 20),
            "Action Required",
            "Software and Internet",
            "US",
            [("4000.00", "USD", "Monthly"), ("1200.00", "USD", "Annual")],
            "Contact centre",
        ),
        (
            "O-A4",
            "Launched",
            date(2026, 4, 30),
            "Approved",
            "Healthcare",
            "GB",
            [("800.00", "USD", "Monthly")],
            "Imaging archive",
        ),
        (
            "O-A5",
            "Closed Lost",
            date(2026, 3, 15),
            "Rejected",
            "Financial Services",
            "US",
            [],
            "Core banking",
        ),
        (
            "O-A6",
            "Technical Validation",
            None,
            "Action Required",
            "Healthcare",
            "DE",
            [("150.50", "USD", "Monthly")],
            "Genomics pipeline",
        ),
        (
            "O-A7",
            "Launched",
            date(2026, 8, 5),
            "Approved",
            "Software and Internet",
            "US",
            [("2000.00", "USD", "Monthly")],
            "SaaS replatform",
        ),
    ],
    "globex": [
        (
            "O-G1",
            "Qualified",
            date(2026, 6, 1),
            "Submitted",
            "Retail",
            "FR",
            [("50000.00", "USD", "Monthly")],
            "Store analytics",
        ),
        (
            "O-G2",
            "Closed Lost",
            date(2026, 5, 1),
            "Approved",
            "Retail",
            "FR",
            [("10.00", "USD", "Monthly")],
            "Loyalty app",
        ),
        (
            "O-G3",
            "Committed",
            date(2026, 9, 30),
            "In review",
            "Media and Entertainment",
            "JP",
            [("7777.00", "USD", "Monthly")],
            "Streaming edge",
        ),
    ],
}

EXPECTED: dict[str, dict[str, Any]] = {
    "acme": {
        "opportunities": 7,
        "spend": 10450.50,
        "won": 2,
        "lost": 1,
        "win_rate": 2 / 3,
        "stale": 1,
        "action_required": 2,
        "stale_ids": ["O-A1"],
        "action_ids": ["O-A3", "O-A6"],
        # stage filter Launched: O-A4 + O-A7
        "launched": {"opportunities": 2, "spend": 2800.00},
        # industry filter Software and Internet: O-A1, O-A3, O-A7; won 1 (A7), lost 0
        "software": {"opportunities": 3, "spend": 7000.00, "win_rate": 1.0, "action_required": 1, "stale": 1},
        # months 2026-07..2026-08, undated excluded: O-A2, O-A3, O-A7
        "jul_aug": {"opportunities": 3, "spend": 8500.00, "win_rate": 1.0},
        "quarantined": 2,
        "failing_latest": 1,
        "failing_all": 2,
        "dq_results": 6,
        "failed_runs": 1,
        "bronze_rows": 9,
        "silver_rows": None,
        "stage_counts": {
            "Prospect": 1,
            "Qualified": 1,
            "Technical Validation": 1,
            "Committed": 1,
            "Launched": 2,
            "Closed Lost": 1,
        },
    },
    "globex": {
        "opportunities": 3,
        "spend": 57787.00,
        "won": 0,
        "lost": 1,
        "win_rate": 0.0,
        "stale": 1,
        "action_required": 0,
        "stale_ids": ["O-G1"],
        "action_ids": [],
        "quarantined": 1,
        "failing_latest": 0,
        "failing_all": 0,
        "dq_results": 2,
        "failed_runs": 0,
        "bronze_rows": 3,
        "stage_counts": {"Qualified": 1, "Committed": 1, "Closed Lost": 1},
    },
}


def frame(spark: Any, table: str, rows: list[dict[str, Any]]) -> Any:
    """A DataFrame with the table's declared schema; columns missing from a row are null."""
    from lakehouse import catalog

    td = catalog.get(table)
    names = td.schema.fieldNames()
    return spark.createDataFrame([tuple(r.get(c) for c in names) for r in rows], td.schema)


def _ts(days_ago: float, hour: int = 0) -> datetime:
    return NOW - timedelta(days=days_ago) + timedelta(hours=hour)


def silver_rows(tenant: str) -> dict[str, list[dict[str, Any]]]:
    opps, spend = [], []
    for oid, stage, close, review, industry, country, entries, title in OPPORTUNITIES[tenant]:
        opps.append(
            {
                "tenant_id": tenant,
                "opportunity_id": oid,
                "catalog": "Sandbox",
                "stage": stage,
                "target_close_date": close,
                "review_status": review,
                "customer_industry": industry,
                "customer_country_code": country,
                "project_title": title,
                "opportunity_type": "Net New Business",
                "customer_company_name": f"Customer of {oid}",
                "created_at": _ts(30),
                "last_modified_at": _ts(1),
                "expected_customer_spend_count": len(entries),
                "source_ingestion_run_id": f"{tenant}-ing-1",
                "source_ingested_at": _ts(1),
            }
        )
        for i, (amount, currency, frequency) in enumerate(entries):
            spend.append(
                {
                    "tenant_id": tenant,
                    "opportunity_id": oid,
                    "spend_index": i,
                    "amount": Decimal(amount),
                    "currency_code": currency,
                    "frequency": frequency,
                    "last_modified_at": _ts(1),
                    "source_ingestion_run_id": f"{tenant}-ing-1",
                }
            )
    quarantine = [
        {
            "tenant_id": tenant,
            "opportunity_id": None,
            "entity": "opportunity",
            "entity_id": f"{tenant}-bad-{i}",
            "reason": reason,
            "payload": "{}",
            "payload_sha256": f"{tenant}-sha-{i}",
            "ingestion_run_id": f"{tenant}-ing-1",
            "ingested_at": _ts(1),
            "quarantine_run_id": f"{tenant}-run-2",
        }
        for i, reason in enumerate(
            ["missing Identifier", "invalid TargetCloseDate"][: EXPECTED[tenant]["quarantined"]]
        )
    ]
    return {
        "silver.opportunity": opps,
        "silver.opportunity_spend": spend,
        "silver.opportunity_quarantine": quarantine,
    }


def bronze_rows(tenant: str) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant,
            "catalog": "Sandbox",
            "entity_id": f"{tenant}-b{i}",
            "last_modified_at": _ts(2),
            "payload": "{}",
            "payload_sha256": f"{tenant}-p{i}",
            "ingestion_run_id": f"{tenant}-ing-1",
            "ingested_at": _ts(2),
        }
        for i in range(EXPECTED[tenant]["bronze_rows"])
    ]


def ops_rows(tenant: str) -> dict[str, list[dict[str, Any]]]:
    def result(run: str, days: float, exp: str, ok: bool, col: str, unexpected: int) -> dict[str, Any]:
        return {
            "tenant_id": tenant,
            "run_id": run,
            "table_name": "silver.opportunity",
            "suite": "silver.opportunity",
            "expectation": exp,
            "expectation_type": "expect_column_values_to_not_be_null",
            "column_name": col,
            "action": "quarantine",
            "success": ok,
            "element_count": 7,
            "unexpected_count": unexpected,
            "result_json": "{}",
            "validated_at": _ts(days),
        }

    if tenant == "acme":
        results = [
            result("acme-run-1", 40, "opportunity_id not null", True, "opportunity_id", 0),
            result("acme-run-1", 40, "stage in STAGES", False, "stage", 3),
            result("acme-run-1", 40, "close date parses", True, "target_close_date", 0),
            result("acme-run-2", 1, "opportunity_id not null", True, "opportunity_id", 0),
            result("acme-run-2", 1, "stage in STAGES", True, "stage", 0),
            result("acme-run-2", 1, "close date parses", False, "target_close_date", 2),
        ]
        runs = [
            {
                "ingestion_run_id": "acme-ing-0",
                "status": "failed",
                "started_at": _ts(3),
                "finished_at": _ts(3),
                "fetched": 0,
                "landed": 0,
                "error": "ThrottlingException: Rate exceeded (ListOpportunities)",
            },
            {
                "ingestion_run_id": "acme-ing-1",
                "status": "succeeded",
                "started_at": _ts(2),
                "finished_at": _ts(2),
                "fetched": 9,
                "landed": 9,
                "error": None,
            },
        ]
    else:
        results = [
            result("globex-run-1", 2, "opportunity_id not null", True, "opportunity_id", 0),
            result("globex-run-1", 2, "stage in STAGES", True, "stage", 0),
        ]
        runs = [
            {
                "ingestion_run_id": "globex-ing-1",
                "status": "succeeded",
                "started_at": _ts(2),
                "finished_at": _ts(2),
                "fetched": 3,
                "landed": 3,
                "error": None,
            },
        ]
    issues = [
        {
            "tenant_id": tenant,
            "run_id": r["run_id"],
            "table_name": r["table_name"],
            "suite": r["suite"],
            "expectation": r["expectation"],
            "expectation_type": r["expectation_type"],
            "column_name": r["column_name"],
            "action": r["action"],
            "unexpected_count": r["unexpected_count"],
            "element_count": r["element_count"],
            "sample_keys": [f"{tenant}-bad-0"],
            "observed_at": r["validated_at"],
        }
        for r in results
        if not r["success"]
    ]
    run = f"{tenant}-run-2"
    lineage = [
        {
            "tenant_id": tenant,
            "run_id": run,
            "job_name": "silver_partner_central",
            "input_table": "bronze.partner_central_opportunity",
            "input_version": 0,
            "output_table": "silver.opportunity",
            "output_version": 0,
            "recorded_at": _ts(1),
        },
        {
            "tenant_id": tenant,
            "run_id": run,
            "job_name": "silver_partner_central",
            "input_table": "bronze.partner_central_opportunity",
            "input_version": 0,
            "output_table": "silver.opportunity_spend",
            "output_version": 0,
            "recorded_at": _ts(1),
        },
        *[
            {
                "tenant_id": tenant,
                "run_id": run,
                "job_name": "gold_ace",
                "input_table": "silver.opportunity",
                "input_version": 0,
                "output_table": g,
                "output_version": 0,
                "recorded_at": _ts(1, 1),
            }
            for g in ("gold.ace_pipeline", "gold.ace_win_rate", "gold.ace_pipeline_health")
        ],
        {
            "tenant_id": tenant,
            "run_id": run,
            "job_name": "gold_ace",
            "input_table": "silver.opportunity_spend",
            "input_version": 0,
            "output_table": "gold.ace_pipeline",
            "output_version": 0,
            "recorded_at": _ts(1, 1),
        },
    ]
    ingestion = [
        {
            "tenant_id": tenant,
            "source": "partner-central",
            "catalog": "Sandbox",
            "duplicates": 0,
            "rejected": 0,
            "api_calls": 3,
            **r,
        }
        for r in runs
    ]
    watermark = [
        {
            "tenant_id": tenant,
            "pipeline": "gold_ace",
            "source_table": "silver.opportunity",
            "source_version": 0,
            "as_of_date": AS_OF,
            "updated_run_id": run,
            "updated_at": _ts(1, 1),
        }
    ]
    if tenant == "acme":  # anomaly detection found a volume drop in the latest run
        issues.append(
            {
                "tenant_id": tenant,
                "run_id": f"{tenant}-run-2",
                "table_name": "silver.opportunity",
                "suite": "anomaly",
                "expectation": "volume_anomaly",
                "expectation_type": "volume_anomaly",
                "column_name": None,
                "action": "warn",
                "unexpected_count": 0,
                "sample_keys": ["volume drop: 7 rows written, expected about 40 (same-weekday, z -9.0)"],
                "observed_at": _ts(1, 1),
                "severity": "critical",
                "details": '{"method": "modified z-score", "observed": 7.0, "expected": 40.0}',
            }
        )
    profiles = [
        {
            "tenant_id": tenant,
            "run_id": f"{tenant}-run-{run}",
            "table_name": "silver.opportunity",
            "table_version": run,
            "profiled_at": _ts(days, 1),
            "row_count": rows,
            "rows_written": written,
            "column_name": column,
            "data_type": "string",
            "null_count": 0,
            "null_rate": 0.0,
            "distinct_count": distinct,
            "distinct_rate": distinct / rows,
            "min_value": low,
            "max_value": high,
            "quantiles": None,
            "top_values": top,
        }
        for run, days, rows, written in ((1, 2, 40, 40), (2, 1, 47, 7))
        for column, distinct, low, high, top in (
            ("opportunity_id", rows, f"{tenant}-O-000", f"{tenant}-O-{rows:03d}", None),
            (
                "stage",
                2,
                "Launched",
                "Prospect",
                [{"value": "Prospect", "count": rows - 5}, {"value": "Launched", "count": 5}],
            ),
        )
    ]
    return {
        "ops.dq_result": results,
        "ops.dq_issue": issues,
        "ops.dq_profile": profiles,
        "ops.lineage_edge": lineage,
        "ops.ingestion_run": ingestion,
        "ops.pipeline_watermark": watermark,
    }


def write_lake(spark: Any, tenants: tuple[str, ...] = ("acme", "globex")) -> None:
    """Write silver, gold, bronze and ops rows of ``tenants`` under the current LAKEHOUSE_LAKE_ROOT."""
    from lakehouse import io
    from lakehouse.partner_central.transforms import gold as gold_ace
    from lakehouse.tenancy import TenantScope

    for tenant in tenants:
        scope = TenantScope.for_tenant(tenant)
        for table, rows in {
            **silver_rows(tenant),
            **ops_rows(tenant),
            "bronze.partner_central_opportunity": bronze_rows(tenant),
        }.items():
            io.append(spark, table, frame(spark, table, rows), scope)
        opp = io.read(spark, "silver.opportunity", scope)
        spend = io.read(spark, "silver.opportunity_spend", scope)
        io.overwrite_partition(spark, "gold.ace_pipeline", gold_ace.ace_pipeline(opp, spend), scope)
        io.overwrite_partition(spark, "gold.ace_facts", gold_ace.ace_facts(opp, spend, as_of=AS_OF), scope)
        io.overwrite_partition(spark, "gold.ace_win_rate", gold_ace.ace_win_rate(opp), scope)
        io.overwrite_partition(
            spark, "gold.ace_pipeline_health", gold_ace.ace_pipeline_health(opp, as_of=AS_OF), scope
        )
