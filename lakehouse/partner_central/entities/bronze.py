"""Bronze tables for Partner Central, plus the ops tables that ingestion writes.

Bronze is append-only and keeps payloads exactly as received: one row per fetched payload version, identified by
``(tenant_id, catalog, entity_id, payload_sha256)``; landing an identical payload again adds nothing.
"""

from __future__ import annotations

from pyspark.sql.types import LongType, StringType, TimestampType

from lakehouse.catalog import TableDef, declare

_S, _TS, _L = StringType(), TimestampType(), LongType()


def _payload_table(entity: str, what: str, modified: str) -> TableDef:
    return declare(
        "bronze",
        f"partner_central_{entity}",
        [
            ("tenant_id", _S, "internal"),
            ("catalog", _S, "internal"),
            ("entity_id", _S, "internal"),
            ("last_modified_at", _TS, "internal"),
            ("payload", _S, "pii"),  # raw API JSON: contact names, emails and phones
            ("payload_sha256", _S, "internal"),
            ("ingestion_run_id", _S, "internal"),
            ("ingested_at", _TS, "internal"),
        ],
        keys=("tenant_id", "catalog", "entity_id", "payload_sha256"),
        grain=f"one row per fetched {what} payload version (append-only; identical payloads land once)",
        description=f"Partner Central {what} payloads exactly as received (JSON text); last_modified_at is "
        f"{modified}.",
    )


OPPORTUNITY = _payload_table("opportunity", "GetOpportunity", "the payload's LastModifiedDate")
SOLUTION = _payload_table(
    "solution", "ListSolutions item", "the solution's CreatedDate (solutions have no modified date)"
)
ENGAGEMENT_INVITATION = _payload_table(
    "engagement_invitation",
    "GetEngagementInvitation",
    "the InvitationDate (invitations have no modified date)",
)
ENGAGEMENT = _payload_table(
    "engagement", "GetEngagement (contexts included: leads are Lead contexts)", "the engagement's ModifiedAt"
)
CUSTOMER_ACCOUNT = _payload_table("customer_account", "GetCustomerAccount", "the account's LastModifiedDate")
AWS_OPPORTUNITY_SUMMARY = _payload_table(
    "aws_opportunity_summary",
    "GetAwsOpportunitySummary",
    "null (the summary has no modified date; entity_id is the partner's opportunity id)",
)

OPPORTUNITY_REJECTED = declare(
    "bronze",
    "partner_central_opportunity_rejected",
    [
        ("tenant_id", _S, "internal"),
        ("source_file", _S, "internal"),
        ("line_number", _L, "internal"),
        ("reason", _S, "internal"),
        ("raw_text", _S, "pii"),
        ("ingestion_run_id", _S, "internal"),
        ("rejected_at", _TS, "internal"),
    ],
    keys=("tenant_id", "source_file", "line_number", "raw_text"),
    grain="one row per rejected input line (the same line of the same file with the same text lands once)",
    description="Lines of bulk opportunity files that are not GetOpportunity-shaped JSON objects, kept verbatim.",
)

INGESTION_RUN = declare(
    "ops",
    "ingestion_run",
    [
        ("tenant_id", _S, "internal"),
        ("ingestion_run_id", _S, "internal"),
        ("source", _S, "internal"),
        ("catalog", _S, "internal"),
        ("status", _S, "internal"),  # succeeded | partial | failed
        ("started_at", _TS, "internal"),
        ("finished_at", _TS, "internal"),
        ("fetched", _L, "internal"),
        ("landed", _L, "internal"),
        ("duplicates", _L, "internal"),
        ("rejected", _L, "internal"),
        ("api_calls", _L, "internal"),
        ("watermark_before", _TS, "internal"),
        ("watermark_after", _TS, "internal"),
        ("error", _S, "internal"),
        ("details", _S, "internal"),  # JSON: per-entity counts, calls per operation, retries
    ],
    keys=("tenant_id", "ingestion_run_id"),
    grain="one row per finished ingestion run",
    description="Ingestion runs (API syncs and file loads): counts, watermarks, status; also the record of API "
    "calls spent, from which the rolling daily call budget is computed.",
)

SYNC_WATERMARK = declare(
    "ops",
    "sync_watermark",
    [
        ("tenant_id", _S, "internal"),
        ("source", _S, "internal"),
        ("catalog", _S, "internal"),
        ("entity", _S, "internal"),
        ("watermark_at", _TS, "internal"),
        ("ingestion_run_id", _S, "internal"),
        ("recorded_at", _TS, "internal"),
    ],
    keys=("tenant_id", "source", "catalog", "entity", "watermark_at"),
    grain="one row per watermark advance (append-only; the current watermark is the greatest watermark_at)",
    description="Incremental-sync watermarks, written only after the data they cover has landed in bronze.",
)

WRITE_RESULT = declare(
    "bronze",
    "partner_central_write_result",
    [
        ("tenant_id", _S, "internal"),
        ("catalog", _S, "internal"),
        ("approval_id", _S, "internal"),
        ("attempt", _L, "internal"),
        ("action", _S, "internal"),
        ("step", _S, "internal"),
        ("operation", _S, "internal"),
        ("status", _S, "internal"),
        ("entity_id", _S, "internal"),
        ("task_id", _S, "internal"),
        ("task_status", _S, "internal"),
        ("engagement_id", _S, "internal"),
        ("reason_code", _S, "internal"),
        ("error_code", _S, "internal"),
        ("error_message", _S, "confidential"),
        ("request", _S, "pii"),
        ("response", _S, "pii"),  # opportunity payloads carry customer contacts
        ("executed_by", _S, "internal"),
        ("executed_at", _TS, "internal"),
    ],
    keys=("tenant_id", "approval_id", "attempt", "step"),
    grain="one row per request sent (or validated, in dry-run mode) by one execution attempt of an approval",
    description="Results of approval-gated Partner Central writes: ids, task status, ReasonCode and errors, with "
    "the exact request and response JSON.",
)
