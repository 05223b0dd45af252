"""The approval payloads of the Selling API writes beyond create/update/accept/reject, and the bulk-job CSV.

Each action maps an approved payload (snake_case keys, checked here) to one request; ``writes.PartnerCentralWriter``
sends it once, with a ``ClientToken`` derived from the approval id where the operation takes one, and polls the
tasks the operation starts. Bulk create/update goes through ``StartOpportunityBulkJob``: the approved change
list becomes a CSV (``bulk_csv``) stored through an ``Uploader`` (S3 in production), and the per-record results
and the failed-records report are read back.

The CSV layout is ours: AWS's bulk template is a column-per-field spreadsheet whose column list is not in the
botocore model, so each row carries ``RequestId, Operation, Identifier, LastModifiedDate`` and the record as the
JSON of the CreateOpportunity/UpdateOpportunity members (``Payload``). The emulator reads the same layout.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lakehouse.errors import BadInput

ACTION_SUBMIT = "partner_central.submit_opportunity"
ACTION_ASSIGN = "partner_central.assign_opportunity"
ACTION_DISASSOCIATE = "partner_central.disassociate_opportunity"
ACTION_ACCEPT_TASK = "partner_central.start_engagement_by_accepting_invitation"
ACTION_CREATE_ENGAGEMENT = "partner_central.create_engagement"
ACTION_CREATE_CONTEXT = "partner_central.create_engagement_context"
ACTION_UPDATE_CONTEXT = "partner_central.update_engagement_context"
ACTION_OPPORTUNITY_FROM_ENGAGEMENT = "partner_central.start_opportunity_from_engagement"
ACTION_CREATE_ACCOUNT = "partner_central.create_customer_account"
ACTION_UPDATE_ACCOUNT = "partner_central.update_customer_account"
ACTION_BULK = "partner_central.bulk_opportunities"
BULK_COLUMNS = ("RequestId", "Operation", "Identifier", "LastModifiedDate", "Payload")
BULK_OPERATIONS = ("CREATE", "UPDATE")
ACTION_INVITE = "partner_central.create_engagement_invitation"
ACTION_SNAPSHOT = "partner_central.create_resource_snapshot"
ACTION_SNAPSHOT_JOB = "partner_central.create_resource_snapshot_job"
ACTION_START_SNAPSHOT_JOB = "partner_central.start_resource_snapshot_job"
ACTION_STOP_SNAPSHOT_JOB = "partner_central.stop_resource_snapshot_job"
ACTION_DELETE_SNAPSHOT_JOB = "partner_central.delete_resource_snapshot_job"
ACTION_DELETE_ACCOUNT = "partner_central.delete_customer_account"
ACTION_ACCOUNT_BULK = "partner_central.start_customer_account_bulk_job"
ACTION_PROSPECTING = "partner_central.start_prospecting_from_engagement"
ACTION_TAG = "partner_central.tag_resource"
ACTION_UNTAG = "partner_central.untag_resource"
ACTION_SETTINGS = "partner_central.put_selling_system_settings"
_SNAPSHOT_MEMBERS = {
    "engagement_id": "EngagementIdentifier",
    "resource_type": "ResourceType",
    "resource_id": "ResourceIdentifier",
    "template": "ResourceSnapshotTemplateIdentifier",
}
_JOB = {"job_id": "ResourceSnapshotJobIdentifier"}
MAX_BULK_RECORDS = 10_000  # the daily write quota: a larger change list could never be applied in one day


@dataclass(frozen=True)
class Spec:
    """One approved action: its operation, payload keys, how they become request members, and follow-ups.

    ``members``: payload key -> request member; ``token``: the operation takes a ClientToken; ``poll``: the task
    list operation to poll until COMPLETE/FAILED and the request member that filters it by task id;
    ``target``: how the action's target is named from the payload; ``conflict``: a ConflictException means the
    resource changed after approval.
    """

    operation: str
    members: Mapping[str, str]
    required: tuple[str, ...]
    target: Callable[[Mapping[str, Any]], str]
    token: bool = False
    poll: str | None = None
    conflict: bool = False
    catalog: bool = True  # the operation takes a Catalog member (tag operations name an ARN instead)


def _t(kind: str, key: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda p: f"{p['catalog']}/{kind}/{p.get(key) or 'new'}"


SPECS: dict[str, Spec] = {
    ACTION_SUBMIT: Spec(
        "SubmitOpportunity",
        {"opportunity_id": "Identifier", "involvement_type": "InvolvementType", "visibility": "Visibility"},
        ("opportunity_id", "involvement_type"),
        _t("opportunity", "opportunity_id"),
    ),
    ACTION_ASSIGN: Spec(
        "AssignOpportunity",
        {"opportunity_id": "Identifier", "assignee": "Assignee"},
        ("opportunity_id", "assignee"),
        _t("opportunity", "opportunity_id"),
    ),
    ACTION_DISASSOCIATE: Spec(
        "DisassociateOpportunity",
        {
            "opportunity_id": "OpportunityIdentifier",
            "related_entity_type": "RelatedEntityType",
            "related_entity_id": "RelatedEntityIdentifier",
        },
        ("opportunity_id", "related_entity_type", "related_entity_id"),
        _t("opportunity", "opportunity_id"),
    ),
    ACTION_ACCEPT_TASK: Spec(
        "StartEngagementByAcceptingInvitationTask",
        {"invitation_id": "Identifier"},
        ("invitation_id",),
        _t("engagement-invitation", "invitation_id"),
        token=True,
        poll="ListEngagementByAcceptingInvitationTasks",
    ),
    ACTION_CREATE_ENGAGEMENT: Spec(
        "CreateEngagement",
        {"title": "Title", "description": "Description", "contexts": "Contexts"},
        ("title",),
        _t("engagement", "engagement_id"),
        token=True,
    ),
    ACTION_CREATE_CONTEXT: Spec(
        "CreateEngagementContext",
        {"engagement_id": "EngagementIdentifier", "type": "Type", "payload": "Payload"},
        ("engagement_id", "type", "payload"),
        _t("engagement", "engagement_id"),
        token=True,
    ),
    ACTION_UPDATE_CONTEXT: Spec(
        "UpdateEngagementContext",
        {
            "engagement_id": "EngagementIdentifier",
            "context_id": "ContextIdentifier",
            "engagement_last_modified_at": "EngagementLastModifiedAt",
            "type": "Type",
            "payload": "Payload",
        },
        ("engagement_id", "context_id", "engagement_last_modified_at", "type", "payload"),
        _t("engagement", "engagement_id"),
        conflict=True,
    ),
    ACTION_OPPORTUNITY_FROM_ENGAGEMENT: Spec(
        "StartOpportunityFromEngagementTask",
        {"engagement_id": "Identifier", "context_id": "ContextIdentifier"},
        ("engagement_id", "context_id"),
        _t("engagement", "engagement_id"),
        token=True,
        poll="ListOpportunityFromEngagementTasks",
    ),
    ACTION_CREATE_ACCOUNT: Spec(
        "CreateCustomerAccount",
        {"account": "Account", "partner_account_id": "PartnerAccountIdentifier", "tags": "Tags"},
        ("account",),
        _t("customer-account", "customer_account_id"),
        token=True,
    ),
    ACTION_UPDATE_ACCOUNT: Spec(
        "UpdateCustomerAccount",
        {
            "customer_account_id": "Identifier",
            "account": "Account",
            "last_modified_date": "LastModifiedDate",
            "partner_account_id": "PartnerAccountIdentifier",
        },
        ("customer_account_id", "account", "last_modified_date"),
        _t("customer-account", "customer_account_id"),
        conflict=True,
    ),
    ACTION_INVITE: Spec(
        "CreateEngagementInvitation",
        {"engagement_id": "EngagementIdentifier", "invitation": "Invitation"},
        ("engagement_id", "invitation"),
        _t("engagement", "engagement_id"),
        token=True,
    ),
    ACTION_SNAPSHOT: Spec(
        "CreateResourceSnapshot",
        _SNAPSHOT_MEMBERS,
        tuple(_SNAPSHOT_MEMBERS),
        _t("engagement", "engagement_id"),
        token=True,
    ),
    ACTION_SNAPSHOT_JOB: Spec(
        "CreateResourceSnapshotJob",
        {**_SNAPSHOT_MEMBERS, "tags": "Tags"},
        tuple(_SNAPSHOT_MEMBERS),
        _t("engagement", "engagement_id"),
        token=True,
    ),
    ACTION_START_SNAPSHOT_JOB: Spec(
        "StartResourceSnapshotJob", _JOB, ("job_id",), _t("resource-snapshot-job", "job_id")
    ),
    ACTION_STOP_SNAPSHOT_JOB: Spec(
        "StopResourceSnapshotJob", _JOB, ("job_id",), _t("resource-snapshot-job", "job_id")
    ),
    ACTION_DELETE_SNAPSHOT_JOB: Spec(
        "DeleteResourceSnapshotJob", _JOB, ("job_id",), _t("resource-snapshot-job", "job_id")
    ),
    ACTION_DELETE_ACCOUNT: Spec(
        "DeleteCustomerAccount",
        {"customer_account_id": "Identifier"},
        ("customer_account_id",),
        _t("customer-account", "customer_account_id"),
    ),
    ACTION_ACCOUNT_BULK: Spec(
        "StartCustomerAccountBulkJob",
        {"file_uri": "FileUri"},
        ("file_uri",),
        _t("customer-account-bulk-job", "file_uri"),
        token=True,
    ),
    ACTION_PROSPECTING: Spec(
        "StartProspectingFromEngagementTask",
        {"engagement_ids": "Identifiers", "task_name": "TaskName"},
        ("engagement_ids", "task_name"),
        lambda p: f"{p['catalog']}/prospecting/{p.get('task_name')}",
        token=True,
    ),
    ACTION_TAG: Spec(
        "TagResource",
        {"resource_arn": "ResourceArn", "tags": "Tags"},
        ("resource_arn", "tags"),
        lambda p: f"{p['catalog']}/tags/{p.get('resource_arn')}",
        catalog=False,
    ),
    ACTION_UNTAG: Spec(
        "UntagResource",
        {"resource_arn": "ResourceArn", "tag_keys": "TagKeys"},
        ("resource_arn", "tag_keys"),
        lambda p: f"{p['catalog']}/tags/{p.get('resource_arn')}",
        catalog=False,
    ),
    ACTION_SETTINGS: Spec(
        "PutSellingSystemSettings",
        {"resource_snapshot_job_role": "ResourceSnapshotJobRoleIdentifier"},
        (),
        lambda p: f"{p['catalog']}/selling-system-settings",
    ),
}
ACTIONS: tuple[str, ...] = (*SPECS, ACTION_BULK)
ALIASES: dict[str, str] = {a.removeprefix("partner_central.").replace("_", "-"): a for a in ACTIONS}


def request_of(action: str, payload: Mapping[str, Any], catalog: str) -> dict[str, Any]:
    """The request one approved payload stands for (no ClientToken yet); ``BadInput`` names what is wrong."""
    spec = SPECS[action]
    allowed = ("catalog", *spec.members)
    extra = sorted(set(payload) - set(allowed))
    if extra:
        raise BadInput(f"{action} payload: unknown key(s) {extra}; allowed: {', '.join(allowed)}")
    missing = [k for k in spec.required if payload.get(k) in (None, "", {}, [])]
    if missing:
        raise BadInput(f"{action} payload: {', '.join(missing)} required")
    params: dict[str, Any] = {"Catalog": catalog} if spec.catalog else {}
    for key, member in spec.members.items():
        if payload.get(key) is not None:
            params[member] = payload[key]
    return params


# ----------------------------------------------------------------------------------------------- bulk


class Uploader(Protocol):
    """Where a bulk job's CSV goes and its reports come from (S3 in production; the emulator's file store here)."""

    def put(self, key: str, content: bytes) -> str:
        """Store ``content`` under ``key``; returns the URI to give the bulk job (``s3://...``)."""

    def get(self, uri: str) -> bytes:
        """The bytes at ``uri`` (a report the service wrote)."""


class S3Uploader:
    """``Uploader`` on an S3 bucket and prefix (a boto3 S3 client; reports fetched from their presigned URL)."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str = "partner-central/bulk/") -> None:
        self.s3, self.bucket, self.prefix = s3_client, bucket, prefix

    def put(self, key: str, content: bytes) -> str:
        full = f"{self.prefix}{key}"
        self.s3.put_object(Bucket=self.bucket, Key=full, Body=content, ContentType="text/csv")
        return f"s3://{self.bucket}/{full}"

    def get(self, uri: str) -> bytes:
        if uri.startswith("s3://"):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return body
        import urllib.request

        with urllib.request.urlopen(uri, timeout=30) as response:
            data: bytes = response.read()
            return data


def bulk_records(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The approved change list of a bulk action, checked: each record has a unique ``request_id``, an
    ``operation`` (CREATE/UPDATE), UPDATEs name the opportunity and its approved ``last_modified_date``."""
    allowed = ("catalog", "changes")
    extra = sorted(set(payload) - set(allowed))
    if extra:
        raise BadInput(f"{ACTION_BULK} payload: unknown key(s) {extra}; allowed: {', '.join(allowed)}")
    changes = payload.get("changes")
    if not isinstance(changes, list) or not changes:
        raise BadInput(f"{ACTION_BULK} payload: changes must be a non-empty list of records")
    if len(changes) > MAX_BULK_RECORDS:
        raise BadInput(f"{ACTION_BULK} payload: {len(changes)} records, more than {MAX_BULK_RECORDS} per job")
    problems: list[str] = []
    seen: set[str] = set()
    for i, record in enumerate(changes):
        if not isinstance(record, dict):
            problems.append(f"changes[{i}] is not an object")
            continue
        rid = record.get("request_id")
        if not isinstance(rid, str) or not rid.strip() or rid in seen:
            problems.append(f"changes[{i}].request_id must be a unique non-empty string")
        seen.add(str(rid))
        operation = record.get("operation")
        if operation not in BULK_OPERATIONS:
            problems.append(f"changes[{i}].operation must be one of {', '.join(BULK_OPERATIONS)}")
        if operation == "UPDATE" and not (record.get("opportunity_id") and record.get("last_modified_date")):
            problems.append(f"changes[{i}]: an UPDATE needs opportunity_id and last_modified_date")
        if not isinstance(record.get("opportunity"), dict):
            problems.append(f"changes[{i}].opportunity must be an object of opportunity members")
    if problems:
        raise BadInput(f"{ACTION_BULK} payload: " + "; ".join(problems))
    return list(changes)


def bulk_csv(records: list[dict[str, Any]]) -> bytes:
    """The bulk job's input file for an approved change list (one row per record, ``BULK_COLUMNS``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BULK_COLUMNS)
    for r in records:
        writer.writerow(
            [
                r["request_id"],
                r["operation"],
                r.get("opportunity_id") or "",
                r.get("last_modified_date") or "",
                json.dumps(r["opportunity"], separators=(",", ":"), sort_keys=True),
            ]
        )
    return buffer.getvalue().encode()


def parse_report(content: bytes) -> list[dict[str, str]]:
    """The rows of a bulk job report (CSV with a header row)."""
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
