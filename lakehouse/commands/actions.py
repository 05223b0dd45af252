"""``lakehouse actions``: request, approve, reject, execute and list approval-gated Partner Central writes.

Also home of ``quota_gate``, the wiring through which ``lakehouse ingest partner-central`` and ``lakehouse
pipeline run`` reserve quota before they start. ``control_plane`` is imported lazily, inside command functions
only (``lakehouse`` itself never imports it).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.errors import BadInput

actions_app = typer.Typer(
    help="Approval-gated Partner Central writes: request → approve → execute, exactly once.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


class Status(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    executing = "executing"
    executed = "executed"
    failed = "failed"
    expired = "expired"


def _default_user() -> str:
    return os.environ.get("LAKEHOUSE_USER") or getpass.getuser()


AS_USER = typer.Option(
    None,
    "--as",
    help="Who is acting: a user of the tenant in the control plane "
    "(default: $LAKEHOUSE_USER, else the OS user).",
)


def quota_gate(tenant_id: str) -> Any:
    """The control plane's quota gate for a CLI run of ``tenant_id`` (warnings go to stderr)."""
    from control_plane.quotas.local import local_quota_gate

    return local_quota_gate(
        tenant_id, warn=lambda msg: err.print(f"[yellow]warning[/]: {msg}", soft_wrap=True, highlight=False)
    )


def release_warning(exc: Exception) -> None:
    """A run finished but its reservation could not be released (it expires with its lease)."""
    err.print(
        f"[yellow]warning[/]: could not release the quota reservation or record usage: {exc}",
        soft_wrap=True,
        highlight=False,
    )


def _bulk_uploader(bucket: str | None, region: str) -> Any:
    """Where a bulk job's CSV goes: the given S3 bucket (None: bulk actions fail, retryable, naming the option)."""
    if not bucket:
        return None
    import boto3

    from lakehouse.partner_central.selling_writes import S3Uploader

    return S3Uploader(boto3.client("s3", region_name=region), bucket)


def _payload(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise BadInput(f"cannot read the payload {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"the payload {path} is not JSON: {exc.msg} at line {exc.lineno}") from None


def _row(row: Any) -> dict[str, Any]:
    from control_plane.approvals.service import effective_status

    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "action": row.action,
        "target": row.target,
        "status": effective_status(row),
        "mode": row.mode,
        "requested_by": row.requested_by,
        "decided_by": row.decided_by,
        "expires_at": row.expires_at.isoformat(),
        "attempts": row.attempts,
        "payload_sha256": row.payload_sha256,
        "reason": row.reason,
        "last_error": row.last_error,
        "result": row.result,
    }


def _show(rows: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    columns = ("id", "action", "target", "status", "requested_by", "decided_by", "expires_at", "attempts")
    for column in columns:
        table.add_column(column)
    for r in rows:
        table.add_row(*(str(r[c]) if r[c] is not None else "" for c in columns))
    console.print(table)


@actions_app.command("request")
def request(
    tenant: str = typer.Option(
        ..., "--tenant", help="Tenant whose Partner Central account the action changes."
    ),
    action: str = typer.Option(
        ...,
        "--action",
        help="create-opportunity, update-opportunity, accept-invitation or "
        "reject-invitation (or the full partner_central.* name).",
    ),
    payload: str = typer.Option(
        ..., "--payload", help="JSON file with the action's payload ('-' for stdin)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (audited)."),
    target: str | None = typer.Option(
        None, "--target", help="What the action changes (default: from the payload)."
    ),
    user: str | None = AS_USER,
) -> None:
    """Request approval for an action; prints the approval id an approver decides on."""
    from control_plane.approvals.local import LocalApprovals

    body = _payload(payload)
    with LocalApprovals.open() as local:
        row = local.request(
            tenant, action=action, payload=body, target=target, reason=reason, user_id=user or _default_user()
        )
        data = _row(row)
    console.print(
        f"approval [bold]{data['id']}[/] {data['status']} · {data['action']} on {data['target']} · "
        f"payload sha256 {data['payload_sha256'][:16]}… · expires {data['expires_at']}",
        highlight=False,
        soft_wrap=True,
    )


def _decide(approval_id: str, approve: bool, user: str | None, reason: str | None) -> None:
    from control_plane.approvals.local import LocalApprovals

    with LocalApprovals.open() as local:
        row = local.decide(approval_id, approve=approve, user_id=user or _default_user(), reason=reason)
        data = _row(row)
    console.print(f"approval [bold]{data['id']}[/] {data['status']} by {data['decided_by']}", highlight=False)


@actions_app.command("approve")
def approve(
    approval_id: str = typer.Argument(..., help="The approval id."),
    reason: str | None = typer.Option(None, "--reason", help="Why (audited)."),
    user: str | None = AS_USER,
) -> None:
    """Approve a pending request (a user with the approver role who is not the requester)."""
    _decide(approval_id, True, user, reason)


@actions_app.command("reject")
def reject(
    approval_id: str = typer.Argument(..., help="The approval id."),
    reason: str = typer.Option(..., "--reason", help="Why (audited)."),
    user: str | None = AS_USER,
) -> None:
    """Reject a pending request (approver role; not the requester)."""
    _decide(approval_id, False, user, reason)


@actions_app.command("list")
def list_(
    tenant: Annotated[str, typer.Option("--tenant")],
    status: Annotated[Status | None, typer.Option("--status", help="Only requests in this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """The tenant's approval requests, newest first."""
    from control_plane.approvals.local import LocalApprovals

    with LocalApprovals.open() as local:
        rows = [_row(r) for r in local.list(tenant, status.value if status else None)]
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, sort_keys=True, default=str))
    else:
        _show(rows, f"approvals · tenant {tenant}")


@actions_app.command("execute")
def execute(
    approval_id: str = typer.Argument(..., help="The approval id."),
    user: str | None = AS_USER,
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        envvar="LAKEHOUSE_PARTNER_CENTRAL_ENDPOINT_URL",
        help="Partner Central endpoint (e.g. the local sandbox).",
    ),
    role_arn: str | None = typer.Option(None, "--role-arn", envvar="LAKEHOUSE_PARTNER_CENTRAL_ROLE_ARN"),
    external_id: str | None = typer.Option(
        None, "--external-id", envvar="LAKEHOUSE_PARTNER_CENTRAL_EXTERNAL_ID"
    ),
    sts_endpoint_url: str | None = typer.Option(
        None, "--sts-endpoint-url", envvar="LAKEHOUSE_PARTNER_CENTRAL_STS_ENDPOINT_URL"
    ),
    region: str = typer.Option("us-east-1", "--region"),
    bronze: bool = typer.Option(
        True, "--bronze/--no-bronze", help="Land the step results in bronze.partner_central_write_result."
    ),
    bulk_bucket: str | None = typer.Option(
        None,
        "--bulk-bucket",
        envvar="LAKEHOUSE_PARTNER_CENTRAL_BULK_BUCKET",
        help="S3 bucket for a bulk job's input CSV (partner_central.bulk_opportunities).",
    ),
) -> None:
    """Execute an approved action once (Create → Associate → Start engagement, Update, Accept/Reject)."""
    from control_plane.approvals.local import LocalApprovals
    from lakehouse.guardrails import Usage, guarded_run
    from lakehouse.partner_central.writes import BronzeWriteResults, PartnerCentralWriter
    from lakehouse.tenancy import TenantScope

    with LocalApprovals.open() as local:
        row, who = local.executor(approval_id, user or _default_user())
        tenant = row.tenant_id
        reader = validator = results = None
        if row.mode == "dry_run":
            from lakehouse.aws_validation import RequestCheck

            validator = RequestCheck("partnercentral-selling")
        else:
            from lakehouse.partner_central.connector import ConnectorConfig, PartnerCentralReader

            reader = PartnerCentralReader.from_config(
                ConnectorConfig(
                    region=region,
                    endpoint_url=endpoint_url,
                    role_arn=role_arn,
                    external_id=external_id,
                    sts_endpoint_url=(sts_endpoint_url or endpoint_url) if role_arn else None,
                )
            )
        with guarded_run(
            quota_gate(tenant),
            tenant,
            "partner_central_write",
            run_id=f"{approval_id}.{row.attempts + 1}",
            source="partner_central_write",
            on_release_error=release_warning,
        ) as guard:
            if bronze:
                from lakehouse.engine import get_spark

                results = BronzeWriteResults(get_spark(), TenantScope.for_tenant(tenant))
            writer = PartnerCentralWriter(
                reader,
                tenant_id=tenant,
                gate=local.gate(tenant),
                audit=local.audit(),
                results=results,
                validator=validator,
                uploader=_bulk_uploader(bulk_bucket, region),
            )
            try:
                outcome = writer.execute(approval_id, executor=who.subject)
            finally:
                guard.usage = Usage(api_calls=reader.stats.total if reader is not None else 0)
    table = Table(title=f"approval {approval_id} · {outcome.action} · {outcome.status}")
    for column in (
        "step",
        "operation",
        "status",
        "entity",
        "task",
        "task status",
        "engagement",
        "reason code",
    ):
        table.add_column(column)
    for s in outcome.steps:
        table.add_row(
            s.step,
            s.operation,
            s.status,
            s.entity_id or "",
            s.task_id or "",
            s.task_status or "",
            s.engagement_id or "",
            s.reason_code or "",
        )
    console.print(table)
    console.print(
        f"{outcome.api_calls} API call(s); result: {json.dumps(outcome.result, sort_keys=True, default=str)}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``lakehouse actions ...``."""
    app.add_typer(actions_app, name="actions")
