"""Approval-gated Partner Central writes: each flow runs only with an approval id, and at most once.

Flows (the ``action`` of an approval, with the ``payload`` shape it was approved with):

* ``partner_central.create_opportunity`` — ``{"catalog", "opportunity": {CreateOpportunity members},
  "associations": [{"RelatedEntityType", "RelatedEntityIdentifier"}], "start_engagement": {"AwsSubmission": {...}}
  | null}``: CreateOpportunity → AssociateOpportunity (each) → StartEngagementFromOpportunityTask, whose task is
  polled (ListEngagementFromOpportunityTasks) until COMPLETE or FAILED; a FAILED task surfaces its ReasonCode.
* ``partner_central.update_opportunity`` — ``{"catalog", "opportunity_id", "last_modified_date", "changes"}``:
  UpdateOpportunity replaces the whole record, so the current record is read, the approved ``changes`` are
  deep-merged into it (``null`` clears a member) and it is sent with the approved ``last_modified_date`` as the
  optimistic lock. A ``ConflictException`` means someone changed it after approval: "changed since approval —
  re-approve".
* ``partner_central.accept_invitation`` / ``partner_central.reject_invitation`` — ``{"catalog",
  "invitation_id"[, "rejection_reason"]}`` (AWS referrals).

Exactly once: the approval is claimed through an ``ExecutionGate`` (approved, unexpired, not yet executed) and
every ``ClientToken`` is derived from the approval id. botocore fills an idempotency token with a random UUID per
API call when none is given, so an application-level retry (a rerun after a network failure) would otherwise create
a second opportunity; with the derived token Partner Central returns the original result. Every HTTP attempt of a
write, botocore's retries included, waits for a 1/s ``TokenBucket`` (the write quota). Each step's result goes to the audit log (``AuditSink``) and, when a results sink is
given, to ``bronze.partner_central_write_result``.

This module never imports the sandbox; a server-side ``validator`` (e.g. the sandbox's) can be passed in for
dry runs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from lakehouse.aws_operations import Declaration
from lakehouse.errors import BadInput, LakehouseError, Refused
from lakehouse.guardrails import ApprovalRefused, ApprovalTicket, AuditSink, ExecutionGate, TokenBucket
from lakehouse.partner_central import selling_writes as SW
from lakehouse.partner_central.entities.bronze import WRITE_RESULT

log = logging.getLogger(__name__)

SERVICE = "partnercentral-selling"
CATALOGS = ("AWS", "Sandbox")
ACTION_CREATE = "partner_central.create_opportunity"
ACTION_UPDATE = "partner_central.update_opportunity"
ACTION_ACCEPT = "partner_central.accept_invitation"
ACTION_REJECT = "partner_central.reject_invitation"
ACTIONS: tuple[str, ...] = (ACTION_CREATE, ACTION_UPDATE, ACTION_ACCEPT, ACTION_REJECT, *SW.ACTIONS)
ALIASES: dict[str, str] = {
    "create-opportunity": ACTION_CREATE,
    "update-opportunity": ACTION_UPDATE,
    "accept-invitation": ACTION_ACCEPT,
    "reject-invitation": ACTION_REJECT,
    **SW.ALIASES,
}
BULK_DONE = ("COMPLETED", "FAILED")
WRITE_RATE_PER_SECOND = 1.0
AUDITED_STEPS = 50  # a bulk job's per-record results land in bronze; the audit entry keeps the first ones
CHANGED_SINCE_APPROVAL = "changed since approval — re-approve"
TASK_DONE = ("COMPLETE", "FAILED")
# LifeCycle members Partner Central maintains itself; a full-replace update does not send them back.
SYSTEM_LIFECYCLE = ("ReviewStatus", "ReviewComments", "ReviewStatusReason", "NextStepsHistory")
_RETRYABLE = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
}
_PLACEHOLDER_OPPORTUNITY = "O1"
# What PartnerCentralWriter may call, under the Partner Central write role (tests/infra checks the IAM policy).
AWS_OPERATIONS: tuple[Declaration, ...] = (
    Declaration(
        "write",
        SERVICE,
        (
            "AcceptEngagementInvitation",
            "AssignOpportunity",
            "AssociateOpportunity",
            "CreateCustomerAccount",
            "CreateEngagement",
            "CreateEngagementContext",
            "CreateEngagementInvitation",
            "CreateOpportunity",
            "CreateResourceSnapshot",
            "CreateResourceSnapshotJob",
            "DeleteCustomerAccount",
            "DeleteResourceSnapshotJob",
            "DisassociateOpportunity",
            "GetEngagementInvitation",
            "GetOpportunity",
            "GetOpportunityBulkJobReportUrl",
            "ListEngagementByAcceptingInvitationTasks",
            "ListEngagementFromOpportunityTasks",
            "ListOpportunityBulkJobResults",
            "ListOpportunityBulkJobs",
            "ListOpportunityFromEngagementTasks",
            "PutSellingSystemSettings",
            "RejectEngagementInvitation",
            "StartCustomerAccountBulkJob",
            "StartEngagementByAcceptingInvitationTask",
            "StartEngagementFromOpportunityTask",
            "StartOpportunityBulkJob",
            "StartOpportunityFromEngagementTask",
            "StartProspectingFromEngagementTask",
            "StartResourceSnapshotJob",
            "StopResourceSnapshotJob",
            "SubmitOpportunity",
            "TagResource",
            "UntagResource",
            "UpdateCustomerAccount",
            "UpdateEngagementContext",
            "UpdateOpportunity",
        ),
    ),
)


def approval_session_tags(approval_id: str) -> tuple[tuple[str, str], ...]:
    """Session tags for assuming the write role (``ConnectorConfig.session_tags``): its trust policy requires them."""
    if not approval_id.strip():
        raise BadInput("an approval id is required to assume the Partner Central write role")
    return (("approval_id", approval_id),)


class WriteFailed(LakehouseError):
    """A Partner Central write failed; ``retryable`` says whether re-executing the same approval is safe and useful."""

    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class ChangedSinceApproval(WriteFailed, Refused):
    """The opportunity was modified after the update was approved; nothing was changed. Request a new approval."""

    exit_code = 4

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="ConflictException")


class EngagementTaskFailed(WriteFailed):
    """StartEngagementFromOpportunityTask ended FAILED; the message carries its ReasonCode."""

    def __init__(self, message: str, reason_code: str | None) -> None:
        super().__init__(message, retryable=False, code=reason_code)
        self.reason_code = reason_code


# ----------------------------------------------------------------------------------------------- preparation


def normalize_action(action: str) -> str:
    """``create-opportunity`` -> ``partner_central.create_opportunity`` (full names pass through)."""
    name = ALIASES.get(action, action)
    if name not in ACTIONS:
        known = ", ".join([*ALIASES, *ACTIONS])
        raise BadInput(f"unknown Partner Central write action {action!r}: use one of {known}")
    return name


def client_token(approval_id: str, step: str) -> str:
    """The idempotency token of one step of an approved action (the same on every retry, unique per approval)."""
    return "lh-" + hashlib.sha256(f"{approval_id}:{step}".encode()).hexdigest()[:48]


@functools.lru_cache(maxsize=1)
def service_model() -> Any:
    """botocore's model of ``partnercentral-selling`` (loaded once)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE)


@dataclass(frozen=True)
class PlannedCall:
    """One request of a flow as planned from the payload (ids of earlier steps are placeholders)."""

    step: str
    operation: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class PreparedAction:
    """A validated action: its catalog, canonical target and the requests it will send."""

    action: str
    catalog: str
    target: str
    calls: tuple[PlannedCall, ...]


def _require(payload: Mapping[str, Any], key: str, kind: type, action: str) -> Any:
    value = payload.get(key)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise BadInput(f"{action} payload: {key!r} is required and must be a {kind.__name__}")
    return value


def _check_keys(payload: Mapping[str, Any], allowed: Sequence[str], action: str) -> None:
    extra = sorted(set(payload) - set(allowed))
    if extra:
        raise BadInput(f"{action} payload: unknown key(s) {extra}; allowed: {', '.join(allowed)}")


def param_problems(operation: str, params: Mapping[str, Any]) -> list[str]:
    """What botocore's own validator says about a request (types, required and unknown members, minimums)."""
    from botocore.validate import ParamValidator

    shape = service_model().operation_model(operation).input_shape
    report = ParamValidator().validate(dict(params), shape)
    problems = (
        [line.strip() for line in report.generate_report().splitlines() if line.strip()]
        if report.has_errors()
        else []
    )
    _enums(params, shape, "", problems)
    return problems


def _enums(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    """Enum members and maximum lengths, which botocore leaves to the service (a refused write costs a call)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for key, item in value.items():
            if key in shape.members and item is not None:
                _enums(item, shape.members[key], f"{path}.{key}" if path else key, problems)
    elif kind == "list" and isinstance(value, list):
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{path} has {len(value)} items, more than the maximum {maximum}")
        for i, item in enumerate(value):
            _enums(item, shape.member, f"{path}[{i}]", problems)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path} is {value!r}, not one of: {', '.join(shape.enum)}")
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{path} is {len(value)} characters long, more than the maximum {maximum}")


def prepare(action: str, payload: Any) -> PreparedAction:
    """Validate an action's payload and plan its requests (no network); raises ``BadInput`` naming every problem."""
    action = normalize_action(action)
    if not isinstance(payload, Mapping):
        raise BadInput(f"{action} payload must be a JSON object")
    catalog = _require(payload, "catalog", str, action)
    if catalog not in CATALOGS:
        raise BadInput(f"{action} payload: catalog {catalog!r} is not one of {', '.join(CATALOGS)}")
    calls: list[PlannedCall] = []
    if action == ACTION_CREATE:
        _check_keys(payload, ("catalog", "opportunity", "associations", "start_engagement"), action)
        opportunity = _require(payload, "opportunity", dict, action)
        if {"Catalog", "ClientToken"} & set(opportunity):
            raise BadInput(
                f"{action} payload: opportunity must not carry Catalog or ClientToken (set from the "
                "payload's catalog and derived from the approval id)"
            )
        calls.append(
            PlannedCall(
                "create",
                "CreateOpportunity",
                {"Catalog": catalog, "ClientToken": client_token("plan", "create"), **opportunity},
            )
        )
        associations = payload.get("associations") or []
        if not isinstance(associations, list) or not all(isinstance(a, dict) for a in associations):
            raise BadInput(f"{action} payload: associations must be a list of objects")
        for i, assoc in enumerate(associations):
            calls.append(
                PlannedCall(
                    f"associate-{i + 1}",
                    "AssociateOpportunity",
                    {"Catalog": catalog, "OpportunityIdentifier": _PLACEHOLDER_OPPORTUNITY, **assoc},
                )
            )
        start = payload.get("start_engagement")
        if start is not None:
            if not isinstance(start, dict):
                raise BadInput(f"{action} payload: start_engagement must be an object or null")
            calls.append(
                PlannedCall(
                    "start-engagement",
                    "StartEngagementFromOpportunityTask",
                    {
                        "Catalog": catalog,
                        "ClientToken": client_token("plan", "start"),
                        "Identifier": _PLACEHOLDER_OPPORTUNITY,
                        **start,
                    },
                )
            )
        target = f"{catalog}/opportunity/new"
    elif action == ACTION_UPDATE:
        _check_keys(payload, ("catalog", "opportunity_id", "last_modified_date", "changes"), action)
        opp_id = _require(payload, "opportunity_id", str, action)
        lmd = _require(payload, "last_modified_date", str, action)
        parse_time(lmd, "last_modified_date")
        changes = _require(payload, "changes", dict, action)
        if not changes:
            raise BadInput(f"{action} payload: changes is empty; nothing to update")
        forbidden = sorted({"Catalog", "Identifier", "LastModifiedDate"} & set(changes))
        if forbidden:
            raise BadInput(f"{action} payload: changes must not set {forbidden} (they come from the payload)")
        calls.append(
            PlannedCall(
                "update",
                "UpdateOpportunity",
                {"Catalog": catalog, "Identifier": opp_id, "LastModifiedDate": lmd, **strip_nulls(changes)},
            )
        )
        target = f"{catalog}/opportunity/{opp_id}"
    elif action in SW.SPECS:
        spec = SW.SPECS[action]
        request = SW.request_of(action, payload, catalog)
        if spec.token:
            request["ClientToken"] = client_token("plan", spec.operation)
        calls.append(PlannedCall(spec.operation, spec.operation, request))
        target = spec.target(payload)
    elif action == SW.ACTION_BULK:
        records = SW.bulk_records(payload)
        for record in records:  # each record is checked as the request it becomes, before anything is sent
            operation = "CreateOpportunity" if record["operation"] == "CREATE" else "UpdateOpportunity"
            extra: dict[str, Any] = (
                {"ClientToken": "planned"}
                if operation == "CreateOpportunity"
                else {
                    "Identifier": record["opportunity_id"],
                    "LastModifiedDate": record["last_modified_date"],
                }
            )
            body = {"Catalog": catalog, **extra, **record["opportunity"]}
            calls.append(PlannedCall(f"record-{record['request_id']}", operation, body))
        calls.insert(
            0,
            PlannedCall(
                "StartOpportunityBulkJob",
                "StartOpportunityBulkJob",
                {
                    "Catalog": catalog,
                    "ClientToken": client_token("plan", "StartOpportunityBulkJob"),
                    "FileURI": "s3://planned/bulk.csv",
                    "FileFormat": "CSV",
                },
            ),
        )
        target = f"{catalog}/opportunity/bulk-{len(records)}"
    else:
        allowed = ("catalog", "invitation_id") + (("rejection_reason",) if action == ACTION_REJECT else ())
        _check_keys(payload, allowed, action)
        inv_id = _require(payload, "invitation_id", str, action)
        params: dict[str, Any] = {"Catalog": catalog, "Identifier": inv_id}
        operation = "AcceptEngagementInvitation"
        if action == ACTION_REJECT:
            operation = "RejectEngagementInvitation"
            if payload.get("rejection_reason") is not None:
                params["RejectionReason"] = payload["rejection_reason"]
        calls.append(PlannedCall("accept" if action == ACTION_ACCEPT else "reject", operation, params))
        target = f"{catalog}/engagement-invitation/{inv_id}"
    problems = [f"{c.operation}: {p}" for c in calls for p in param_problems(c.operation, c.params)]
    if problems:
        raise BadInput(f"{action} payload is not a valid request: " + "; ".join(problems))
    return PreparedAction(action, catalog, target, tuple(calls))


def parse_time(text: str, what: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (BadInput naming ``what`` otherwise)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise BadInput(f"{what} {text!r} is not an ISO-8601 timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------------------------- record helpers


def strip_nulls(value: Any) -> Any:
    """``value`` without null members."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value if v is not None]
    return value


def conform(value: Any, shape: Any) -> Any:
    """``value`` restricted to the members of a botocore input ``shape`` (read-only output members dropped)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return None
        out = {}
        for key, item in value.items():
            if key in shape.members:
                kept = conform(item, shape.members[key])
                if kept is not None:
                    out[key] = kept
        return out
    if kind == "list":
        return (
            [kept for kept in (conform(v, shape.member) for v in value) if kept is not None]
            if isinstance(value, list)
            else None
        )
    return value


def deep_merge(base: Any, changes: Any) -> Any:
    """``changes`` applied onto ``base``: objects merge member by member, anything else replaces; ``None`` clears."""
    if not isinstance(base, dict) or not isinstance(changes, dict):
        return copy.deepcopy(changes)
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = deep_merge(out.get(key), value)
    return out


def contains(record: Any, changes: Any) -> bool:
    """Whether ``record`` already holds every approved change (a retried update that was applied before)."""
    if isinstance(changes, dict):
        if not isinstance(record, dict):
            return False
        return all(
            (record.get(k) is None) if v is None else contains(record.get(k), v) for k, v in changes.items()
        )
    same: bool = _jsonable(record) == _jsonable(changes)
    return same


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def full_replace_body(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The UpdateOpportunity members for a full replace: the current record (input members only, system-managed
    LifeCycle members dropped) with the approved changes merged in."""
    shape = service_model().operation_model("UpdateOpportunity").input_shape
    base = {
        k: conform(current.get(k), shape.members[k])
        for k in shape.members
        if k not in ("Catalog", "Identifier", "LastModifiedDate") and current.get(k) is not None
    }
    base = {k: v for k, v in base.items() if v is not None}
    if isinstance(base.get("LifeCycle"), dict):
        base["LifeCycle"] = {k: v for k, v in base["LifeCycle"].items() if k not in SYSTEM_LIFECYCLE}
    merged = deep_merge(base, dict(changes))
    return {k: v for k, v in strip_nulls(merged).items() if v not in ({}, [])}


# ----------------------------------------------------------------------------------------------- results


@dataclass
class StepResult:
    """One request of an execution and what came back (a row of ``bronze.partner_central_write_result``)."""

    step: str
    operation: str
    status: str  # succeeded | failed | validated | invalid | already_applied
    request: Mapping[str, Any] = field(default_factory=dict)
    response: Mapping[str, Any] | None = None
    entity_id: str | None = None
    task_id: str | None = None
    task_status: str | None = None
    engagement_id: str | None = None
    reason_code: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def summary(self) -> dict[str, Any]:
        """The ids and statuses (what the audit log and the approval's result keep)."""
        keys = (
            "step",
            "operation",
            "status",
            "entity_id",
            "task_id",
            "task_status",
            "engagement_id",
            "reason_code",
            "error_code",
            "error_message",
        )
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


@dataclass
class WriteOutcome:
    """What one execution of an approval did."""

    approval_id: str
    action: str
    status: str  # executed | dry_run | failed
    steps: list[StepResult] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    api_calls: int = 0
    error: str | None = None


class WriteResultSink(Protocol):
    """Where execution results land (``BronzeWriteResults`` on the lake)."""

    def land_results(
        self, ticket: ApprovalTicket, catalog: str, action: str, executor: str, steps: Sequence[StepResult]
    ) -> int:
        """Append one row per step; returns rows written (0 when this attempt already landed)."""


class BronzeWriteResults:
    """``WriteResultSink`` on ``bronze.partner_central_write_result`` (append, idempotent per attempt)."""

    def __init__(self, spark: Any, scope: Any) -> None:
        self.spark, self.scope = spark, scope

    def land_results(
        self, ticket: ApprovalTicket, catalog: str, action: str, executor: str, steps: Sequence[StepResult]
    ) -> int:
        from lakehouse import io

        if not steps:
            return 0
        rows = [
            (
                ticket.tenant_id,
                catalog,
                ticket.approval_id,
                ticket.attempt,
                action,
                s.step,
                s.operation,
                s.status,
                s.entity_id,
                s.task_id,
                s.task_status,
                s.engagement_id,
                s.reason_code,
                s.error_code,
                s.error_message,
                json.dumps(_jsonable(s.request), sort_keys=True),
                json.dumps(_jsonable(s.response), sort_keys=True) if s.response is not None else None,
                executor,
                s.at,
            )
            for s in steps
        ]
        df = self.spark.createDataFrame(rows, WRITE_RESULT.schema)
        written = io.append(
            self.spark, WRITE_RESULT, df, self.scope, batch_id=f"write-{ticket.approval_id}-{ticket.attempt}"
        )
        return 0 if written.skipped else written.rows


# ----------------------------------------------------------------------------------------------- the writer


Validator = Callable[[str, dict[str, Any]], list[dict[str, str]]]


class PartnerCentralWriter:
    """Executes approved Partner Central writes for one tenant.

    ``reader`` is the tenant's ``PartnerCentralReader`` (its client carries the retries, read limiter and call
    budget; ``None`` is only allowed for dry runs). Writes additionally pass ``write_limiter`` (1/s).
    """

    def __init__(
        self,
        reader: Any,
        *,
        tenant_id: str,
        gate: ExecutionGate,
        audit: AuditSink,
        results: WriteResultSink | None = None,
        write_limiter: TokenBucket | None = None,
        validator: Validator | None = None,
        uploader: SW.Uploader | None = None,
        poll_interval_s: float = 2.0,
        poll_timeout_s: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.tenant_id = tenant_id
        self.gate, self.audit, self.results = gate, audit, results
        self.write_limiter = write_limiter or TokenBucket(WRITE_RATE_PER_SECOND, 1)
        self.validator = validator
        self.uploader = uploader
        self.poll_interval_s, self.poll_timeout_s = poll_interval_s, poll_timeout_s
        self._sleep, self._clock = sleep, clock
        self._writing = (
            False  # set while a write's request is in flight (its attempts pass the write limiter)
        )
        if reader is not None:
            reader.client.meta.events.register(
                f"before-send.{reader.client.meta.service_model.service_id.hyphenize()}",
                self._pace_write,
                unique_id=f"lakehouse-pc-writer-{id(self)}",
            )

    def _pace_write(self, **kwargs: Any) -> None:
        """Every HTTP attempt of a write (botocore's retries included) waits for the write limiter."""
        if self._writing:
            self.write_limiter.acquire()

    # ------------------------------------------------------------------------------------- entry point

    def execute(self, approval_id: str, *, executor: str) -> WriteOutcome:
        """Claim the approval, run its flow once, record every step; raises on refusal or failure."""
        ticket = self.gate.begin(approval_id, executor=executor)
        outcome = WriteOutcome(ticket.approval_id, ticket.action, "failed")
        calls_before = self._calls()
        catalog = ""
        try:
            if ticket.tenant_id != self.tenant_id:
                raise WriteFailed(
                    f"approval {approval_id} belongs to tenant {ticket.tenant_id!r}, not "
                    f"{self.tenant_id!r}; nothing was sent",
                    retryable=True,
                )
            try:
                ticket.check_payload()
                prepared = prepare(ticket.action, ticket.payload)
            except (ApprovalRefused, BadInput) as exc:
                raise WriteFailed(str(exc), retryable=False, code="InvalidApproval") from exc
            catalog = prepared.catalog
            if ticket.mode == "dry_run":
                outcome.result = self._dry_run(ticket, prepared, outcome.steps)
                outcome.status = "dry_run"
            else:
                if self.reader is None:
                    raise WriteFailed("no Partner Central client to send with", retryable=True)
                handler = {
                    ACTION_CREATE: self._create,
                    ACTION_UPDATE: self._update,
                    ACTION_ACCEPT: self._decide,
                    ACTION_REJECT: self._decide,
                    SW.ACTION_BULK: self._bulk,
                }.get(prepared.action, self._single)
                outcome.result = handler(ticket, prepared, outcome.steps)
                outcome.status = "executed"
        except WriteFailed as exc:
            outcome.error = str(exc)
            outcome.api_calls = self._calls() - calls_before
            result = {
                "status": "failed",
                "error": str(exc),
                "error_code": exc.code,
                "retryable": exc.retryable,
                "steps": [s.summary() for s in outcome.steps],
                "api_calls": outcome.api_calls,
            }
            self._finish(ticket, catalog, executor, outcome, failed=True)
            self.gate.fail(approval_id, error=str(exc), retryable=exc.retryable, result=result)
            raise
        except BaseException as exc:  # anything unexpected: keep the approval retryable, then re-raise
            outcome.error = f"{type(exc).__name__}: {exc}"
            self.gate.fail(
                approval_id,
                error=outcome.error,
                retryable=True,
                result={
                    "status": "failed",
                    "error": outcome.error,
                    "steps": [s.summary() for s in outcome.steps],
                },
            )
            raise
        outcome.api_calls = self._calls() - calls_before
        outcome.result.update(
            {
                "status": outcome.status,
                "api_calls": outcome.api_calls,
                "steps": [s.summary() for s in outcome.steps],
            }
        )
        self._finish(ticket, catalog, executor, outcome, failed=False)
        self.gate.complete(approval_id, result=outcome.result)
        return outcome

    def _finish(
        self, ticket: ApprovalTicket, catalog: str, executor: str, outcome: WriteOutcome, failed: bool
    ) -> None:
        """Audit the outcome and land the step results in bronze (failures to land are logged, not fatal)."""
        self.audit.record(
            ticket.tenant_id,
            f"{ticket.action}.{'failed' if failed else outcome.status}",
            f"partner-central/{ticket.target}",
            actor=executor,
            reason=f"approval {ticket.approval_id}" + (f": {ticket.reason}" if ticket.reason else ""),
            detail={
                "approval_id": ticket.approval_id,
                "attempt": ticket.attempt,
                "error": outcome.error,
                "steps": [s.summary() for s in outcome.steps[:AUDITED_STEPS]],
                "step_count": len(outcome.steps),
            },
        )
        if self.results is not None and outcome.steps:
            try:
                self.results.land_results(ticket, catalog, ticket.action, executor, outcome.steps)
            except Exception:  # the audit log already holds the result; bronze is a copy
                log.exception("could not land the write results of approval %s in bronze", ticket.approval_id)

    def _calls(self) -> int:
        return self.reader.stats.total if self.reader is not None else 0

    # ------------------------------------------------------------------------------------- calls

    def _audit_step(self, ticket: ApprovalTicket, step: StepResult) -> None:
        resource = (
            f"partner-central/{ticket.target}"
            if step.entity_id is None
            else f"partner-central/{ticket.target.rsplit('/', 1)[0]}/{step.entity_id}"
        )
        self.audit.record(
            ticket.tenant_id,
            f"partner_central.{step.operation}.{step.status}",
            resource,
            actor=f"approval:{ticket.approval_id}",
            reason=f"approval {ticket.approval_id}",
            detail=step.summary(),
        )

    def _send(
        self,
        ticket: ApprovalTicket,
        steps: list[StepResult],
        step: str,
        operation: str,
        params: dict[str, Any],
        *,
        write: bool = True,
    ) -> dict[str, Any]:
        """Send one request (writes wait for the write limiter); records the step, maps errors to WriteFailed."""
        from botocore.exceptions import BotoCoreError, ClientError

        from lakehouse.partner_central.connector import BudgetExhausted

        record = StepResult(step, operation, "succeeded", request=params)
        method = getattr(self.reader.client, _snake(operation))
        self._writing = write
        try:
            response = method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            record.status, record.error_code = "failed", error.get("Code")
            record.error_message = error.get("Message") or str(exc)
            if write:
                steps.append(record)
                self._audit_step(ticket, record)
            raise WriteFailed(
                f"Partner Central {operation} failed: {record.error_code}: {record.error_message}",
                retryable=record.error_code in _RETRYABLE,
                code=record.error_code,
            ) from exc
        except (BotoCoreError, BudgetExhausted) as exc:
            record.status, record.error_code, record.error_message = "failed", type(exc).__name__, str(exc)
            if write:
                steps.append(record)
                self._audit_step(ticket, record)
            raise WriteFailed(
                f"Partner Central {operation} failed: {exc} (retrying this approval is safe)",
                retryable=True,
                code=type(exc).__name__,
            ) from exc
        finally:
            self._writing = False
        response = {k: v for k, v in response.items() if k not in ("ResponseMetadata", "__raw_body__")}
        record.response = response
        if write:
            steps.append(record)
        return response

    def _mark(self, ticket: ApprovalTicket, steps: list[StepResult], **ids: Any) -> None:
        """Attach ids to the last step and audit it."""
        for key, value in ids.items():
            setattr(steps[-1], key, value)
        self._audit_step(ticket, steps[-1])

    # ------------------------------------------------------------------------------------- flows

    def _create(
        self, ticket: ApprovalTicket, prepared: PreparedAction, steps: list[StepResult]
    ) -> dict[str, Any]:
        payload, catalog = ticket.payload, prepared.catalog
        response = self._send(
            ticket,
            steps,
            "create",
            "CreateOpportunity",
            {
                "Catalog": catalog,
                "ClientToken": client_token(ticket.approval_id, "create"),
                **payload["opportunity"],
            },
        )
        opp_id = response["Id"]
        self._mark(ticket, steps, entity_id=opp_id)
        result: dict[str, Any] = {"opportunity_id": opp_id, "associations": []}
        for i, assoc in enumerate(payload.get("associations") or []):
            self._send(
                ticket,
                steps,
                f"associate-{i + 1}",
                "AssociateOpportunity",
                {"Catalog": catalog, "OpportunityIdentifier": opp_id, **assoc},
            )
            self._mark(ticket, steps, entity_id=opp_id)
            result["associations"].append(dict(assoc))
        start = payload.get("start_engagement")
        if start is not None:
            task = self._send(
                ticket,
                steps,
                "start-engagement",
                "StartEngagementFromOpportunityTask",
                {
                    "Catalog": catalog,
                    "ClientToken": client_token(ticket.approval_id, "start-engagement"),
                    "Identifier": opp_id,
                    **start,
                },
            )
            if task.get("TaskStatus") not in TASK_DONE:
                task = self._poll(ticket, catalog, task["TaskId"], task)
            self._mark(
                ticket,
                steps,
                entity_id=opp_id,
                task_id=task.get("TaskId"),
                task_status=task.get("TaskStatus"),
                engagement_id=task.get("EngagementId"),
                reason_code=task.get("ReasonCode"),
            )
            result.update(
                task_id=task.get("TaskId"),
                task_status=task.get("TaskStatus"),
                engagement_id=task.get("EngagementId"),
                reason_code=task.get("ReasonCode"),
            )
            if task.get("TaskStatus") == "FAILED":
                raise EngagementTaskFailed(
                    f"StartEngagementFromOpportunityTask {task.get('TaskId')} for opportunity {opp_id} FAILED with "
                    f"ReasonCode {task.get('ReasonCode')}: {task.get('Message')} (the opportunity was created; a new "
                    "approval is needed to start the engagement)",
                    task.get("ReasonCode"),
                )
        return result

    def _poll(
        self, ticket: ApprovalTicket, catalog: str, task_id: str, first: dict[str, Any]
    ) -> dict[str, Any]:
        """Poll the engagement task until COMPLETE or FAILED (a timeout is retryable: the token finds it again)."""
        deadline = self._clock() + self.poll_timeout_s
        task = first
        while task.get("TaskStatus") not in TASK_DONE:
            if self._clock() >= deadline:
                raise WriteFailed(
                    f"engagement task {task_id} still {task.get('TaskStatus')} after "
                    f"{self.poll_timeout_s:.0f} s; executing the approval again resumes polling",
                    retryable=True,
                    code="TaskTimeout",
                )
            self._sleep(self.poll_interval_s)
            listed = self._send(
                ticket,
                [],
                "poll",
                "ListEngagementFromOpportunityTasks",
                {"Catalog": catalog, "TaskIdentifier": [task_id]},
                write=False,
            )
            summaries = listed.get("TaskSummaries") or []
            if summaries:
                task = summaries[0]
        return task

    def _update(
        self, ticket: ApprovalTicket, prepared: PreparedAction, steps: list[StepResult]
    ) -> dict[str, Any]:
        payload, catalog = ticket.payload, prepared.catalog
        opp_id, changes = payload["opportunity_id"], payload["changes"]
        approved_lmd = parse_time(payload["last_modified_date"], "last_modified_date")
        current = self._send(
            ticket, steps, "read", "GetOpportunity", {"Catalog": catalog, "Identifier": opp_id}, write=False
        )
        body = full_replace_body(current, changes)
        sent_before = self.reader.stats.attempts.get("UpdateOpportunity", 0)
        try:
            response = self._send(
                ticket,
                steps,
                "update",
                "UpdateOpportunity",
                {"Catalog": catalog, "Identifier": opp_id, "LastModifiedDate": approved_lmd, **body},
            )
        except WriteFailed as exc:
            if exc.code != "ConflictException":
                raise
            resent = (
                ticket.attempt > 1 or self.reader.stats.attempts.get("UpdateOpportunity", 0) - sent_before > 1
            )
            now = self._send(
                ticket,
                [],
                "reread",
                "GetOpportunity",
                {"Catalog": catalog, "Identifier": opp_id},
                write=False,
            )
            if resent and contains(now, strip_nulls(changes)) and contains(full_replace_body(now, {}), body):
                steps[-1].status = "already_applied"
                self._mark(ticket, steps, entity_id=opp_id)
                return {
                    "opportunity_id": opp_id,
                    "last_modified_date": _iso(now.get("LastModifiedDate")),
                    "already_applied": True,
                }
            raise ChangedSinceApproval(
                f"opportunity {opp_id} {CHANGED_SINCE_APPROVAL}: it was modified at "
                f"{_iso(now.get('LastModifiedDate'))}, after the version approved "
                f"({payload['last_modified_date']}); nothing was changed"
            ) from exc
        self._mark(ticket, steps, entity_id=opp_id)
        return {"opportunity_id": opp_id, "last_modified_date": _iso(response.get("LastModifiedDate"))}

    def _decide(
        self, ticket: ApprovalTicket, prepared: PreparedAction, steps: list[StepResult]
    ) -> dict[str, Any]:
        call = prepared.calls[0]
        wanted = "ACCEPTED" if prepared.action == ACTION_ACCEPT else "REJECTED"
        inv_id = call.params["Identifier"]
        sent_before = self.reader.stats.attempts.get(call.operation, 0)
        try:
            self._send(ticket, steps, call.step, call.operation, dict(call.params))
        except WriteFailed as exc:
            if exc.retryable:
                raise
            resent = ticket.attempt > 1 or self.reader.stats.attempts.get(call.operation, 0) - sent_before > 1
            if not resent:
                raise
            invitation = self._send(
                ticket,
                [],
                "reread",
                "GetEngagementInvitation",
                {"Catalog": prepared.catalog, "Identifier": inv_id},
                write=False,
            )
            if invitation.get("Status") != wanted:
                raise
            steps[-1].status = "already_applied"
        self._mark(ticket, steps, entity_id=inv_id)
        return {"invitation_id": inv_id, "invitation_status": wanted}

    def _dry_run(
        self, ticket: ApprovalTicket, prepared: PreparedAction, steps: list[StepResult]
    ) -> dict[str, Any]:
        """Validate every planned request with botocore (and the server-side ``validator``); send nothing."""
        problems: list[str] = []
        for call in prepared.calls:
            params = dict(call.params)
            if "ClientToken" in params:
                params["ClientToken"] = client_token(ticket.approval_id, call.step)
            found = param_problems(call.operation, params)
            if self.validator is not None:
                found += [e.get("Message", str(e)) for e in self.validator(call.operation, _jsonable(params))]
            steps.append(
                StepResult(
                    call.step,
                    call.operation,
                    "invalid" if found else "validated",
                    request=params,
                    error_message="; ".join(found) or None,
                )
            )
            problems += [f"{call.operation}: {p}" for p in found]
        for step in steps:
            self._audit_step(ticket, step)
        if problems:
            raise WriteFailed(
                "dry run: the request would be refused: " + "; ".join(problems),
                retryable=False,
                code="ValidationException",
            )
        return {
            "dry_run": True,
            "requests": [{"operation": s.operation, "params": _jsonable(s.request)} for s in steps],
        }

    # ------------------------------------------------------------------------------------- the other writes

    def _poll_task(
        self, ticket: ApprovalTicket, operation: str, catalog: str, task: dict[str, Any]
    ) -> dict[str, Any]:
        """Poll a task list operation until the task is COMPLETE or FAILED (a timeout is retryable)."""
        deadline = self._clock() + self.poll_timeout_s
        while task.get("TaskStatus") not in TASK_DONE:
            if self._clock() >= deadline:
                raise WriteFailed(
                    f"task {task.get('TaskId')} still {task.get('TaskStatus')} after {self.poll_timeout_s:.0f} s; "
                    "executing the approval again resumes polling",
                    retryable=True,
                    code="TaskTimeout",
                )
            self._sleep(self.poll_interval_s)
            listed = self._send(
                ticket,
                [],
                "poll",
                operation,
                {"Catalog": catalog, "TaskIdentifier": [task["TaskId"]]},
                write=False,
            )
            task = next(iter(listed.get("TaskSummaries") or []), task)
        return task

    def _already_applied(self, ticket: ApprovalTicket, prepared: PreparedAction, code: str | None) -> bool:
        """After a resent write was refused, whether the first attempt had applied it (read back, no write)."""
        call = prepared.calls[0]
        if call.operation == "SubmitOpportunity" and code == "ValidationException":
            current = self._send(
                ticket,
                [],
                "reread",
                "GetOpportunity",
                {"Catalog": prepared.catalog, "Identifier": call.params["Identifier"]},
                write=False,
            )
            status = (current.get("LifeCycle") or {}).get("ReviewStatus")
            return status in ("Submitted", "In review", "Approved")
        return call.operation == "DisassociateOpportunity" and code == "ResourceNotFoundException"

    def _single(
        self, ticket: ApprovalTicket, prepared: PreparedAction, steps: list[StepResult]
    ) -> dict[str, Any]:
        """One approved request (ClientToken from the approval id where the operation takes one), its task polled."""
        spec = SW.SPECS[prepared.action]
        call = prepared.calls[0]
        params = dict(call.params)
        if spec.token:
            params["ClientToken"] = client_token(ticket.approval_id, call.step)
        sent_before = self.reader.stats.attempts.get(spec.operation, 0)
        try:
            response = self._send(ticket, steps, call.step, spec.operation, params)
        except WriteFailed as exc:
            if spec.conflict and exc.code == "ConflictException":
                raise ChangedSinceApproval(
                    f"{prepared.target} {CHANGED_SINCE_APPROVAL}: it was modified after the version approved; "
                    "nothing was changed"
                ) from exc
            resent = ticket.attempt > 1 or self.reader.stats.attempts.get(spec.operation, 0) - sent_before > 1
            if exc.retryable or not resent or not self._already_applied(ticket, prepared, exc.code):
                raise
            steps[-1].status = "already_applied"
            response = {}
        if spec.poll and response.get("TaskId") and response.get("TaskStatus") not in TASK_DONE:
            response = self._poll_task(ticket, spec.poll, prepared.catalog, response)
        entity = (
            response.get("OpportunityId")
            or response.get("Id")
            or response.get("EngagementId")
            or prepared.target.rsplit("/", 1)[-1]
        )
        self._mark(
            ticket,
            steps,
            entity_id=str(entity),
            task_id=response.get("TaskId"),
            task_status=response.get("TaskStatus"),
            engagement_id=response.get("EngagementId"),
            reason_code=response.get("ReasonCode"),
        )
        if response.get("TaskStatus") == "FAILED":
            raise EngagementTaskFailed(
                f"{spec.operation} task {response.get('TaskId')} FAILED with ReasonCode "
                f"{response.get('ReasonCode')}: {response.get('Message')}",
                response.get("ReasonCode"),
            )
        result: dict[str, Any] = _jsonable(response)
        result["operation"] = spec.operation
        return result

    def _bulk(
        self, ticket: ApprovalTicket, prepared: PreparedAction, steps: list[StepResult]
    ) -> dict[str, Any]:
        """Bulk create/update through StartOpportunityBulkJob: the approved change list as a CSV, the job polled,
        one result step per record (they land in bronze), and the failed-records report fetched."""
        if self.uploader is None:
            raise WriteFailed(
                "a bulk job needs an uploader for its CSV: give the S3 bucket (--bulk-bucket or "
                "LAKEHOUSE_PARTNER_CENTRAL_BULK_BUCKET); nothing was sent",
                retryable=True,
            )
        records = SW.bulk_records(ticket.payload)
        catalog = prepared.catalog
        uri = self.uploader.put(f"{ticket.tenant_id}/{ticket.approval_id}.csv", SW.bulk_csv(records))
        started = self._send(
            ticket,
            steps,
            "bulk",
            "StartOpportunityBulkJob",
            {
                "Catalog": catalog,
                "ClientToken": client_token(ticket.approval_id, "StartOpportunityBulkJob"),
                "FileURI": uri,
                "FileFormat": "CSV",
            },
        )
        job_id = started["JobId"]
        self._mark(ticket, steps, entity_id=job_id)
        deadline = self._clock() + self.poll_timeout_s
        while True:
            jobs = self._send(
                ticket,
                [],
                "poll",
                "ListOpportunityBulkJobs",
                {"Catalog": catalog, "JobId": job_id},
                write=False,
            )
            job: dict[str, Any] = next(iter(jobs.get("OpportunityBulkJobSummaries") or []), {})
            if job.get("Status") in BULK_DONE:
                break
            if self._clock() >= deadline:
                raise WriteFailed(
                    f"bulk job {job_id} still {job.get('Status')} after {self.poll_timeout_s:.0f} s; executing "
                    "the approval again resumes it (same ClientToken)",
                    retryable=True,
                    code="TaskTimeout",
                )
            self._sleep(self.poll_interval_s)
        by_request = {r["request_id"]: r for r in records}
        results: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self._send(
                ticket,
                [],
                "results",
                "ListOpportunityBulkJobResults",
                {
                    "Catalog": catalog,
                    "JobId": job_id,
                    "MaxResults": 1000,
                    **({"NextToken": token} if token else {}),
                },
                write=False,
            )
            results += page.get("Results") or []
            token = page.get("NextToken")
            if not token:
                break
        for r in results:
            steps.append(
                StepResult(
                    f"record-{r['RequestId']}",
                    "StartOpportunityBulkJob",
                    "succeeded" if r["Status"] == "SUCCEEDED" else "failed",
                    request=by_request.get(r["RequestId"], {}),
                    response=r,
                    entity_id=r.get("ResourceIdentifier"),
                    task_id=job_id,
                    task_status=job.get("Status"),
                    error_code=r.get("ErrorCode"),
                    error_message=r.get("ErrorMessage"),
                )
            )
        failed = [r for r in results if r["Status"] == "FAILED"]
        report: dict[str, Any] = {}
        failed_records: list[dict[str, str]] = []
        if failed:
            report = self._send(
                ticket,
                [],
                "report",
                "GetOpportunityBulkJobReportUrl",
                {"Catalog": catalog, "JobId": job_id, "ReportFormat": "CSV", "ReportType": "FAILED_RECORDS"},
                write=False,
            )
            if report.get("ReportStatus") == "AVAILABLE" and report.get("Url"):
                failed_records = SW.parse_report(self.uploader.get(report["Url"]))
        return {
            "job_id": job_id,
            "job_status": job.get("Status"),
            "input_uri": uri,
            "records": len(records),
            "succeeded": len(results) - len(failed),
            "failed": len(failed),
            "failed_report_url": report.get("Url"),
            "failed_records": failed_records,
        }


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return None if value is None else str(value)
