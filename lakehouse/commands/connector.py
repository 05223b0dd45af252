"""``lakehouse connector``: link a tenant's AWS account (a role per service) and sync tenants with their roles.

``add``, ``verify``, ``list`` and ``disable`` are clients of the API (``control_plane.client``), like
``lakehouse dashboards``: they hold neither the control plane's database nor its secrets, and the API
authenticates, authorizes and audits each change. ``ingest`` is the orchestrator's side: it reads each tenant's
verified role and ExternalId from the control-plane database (the API never answers an ExternalId again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.errors import BadInput, LakehouseError, Refused

CONTROL_PLANE_URL_ENV = "LAKEHOUSE_CONTROL_PLANE_URL"  # the same names as control_plane.client
CONTROL_PLANE_CREDENTIAL_ENV = "LAKEHOUSE_CONTROL_PLANE_CREDENTIAL"

connector_app = typer.Typer(
    help="Link a tenant's AWS account: a role per service, assumed with an ExternalId the platform issues.",
    no_args_is_help=True,
)
console = Console()


class Service(str, Enum):
    partner_central_selling = "partner-central-selling"
    marketplace_catalog = "marketplace-catalog"
    marketplace_metering = "marketplace-metering"
    marketplace_agreement = "marketplace-agreement"
    marketplace_entitlement = "marketplace-entitlement"


class Format(str, Enum):
    table = "table"
    json = "json"


ApiUrl = typer.Option(
    None,
    "--api-url",
    envvar=CONTROL_PLANE_URL_ENV,
    help="The control-plane API (e.g. http://127.0.0.1:8000).",
)
Credential = typer.Option(
    None,
    "--credential",
    envvar=CONTROL_PLANE_CREDENTIAL_ENV,
    help="An API key (lh.…) or bearer token of a tenant admin.",
    show_default=False,
)
TenantOpt = typer.Option(..., "--tenant", help="Tenant id.")


@contextmanager
def api(api_url: str | None, credential: str | None) -> Iterator[Any]:
    """A control-plane client; the API's refusals become the CLI's exit codes (2 bad input, 4 refused)."""
    from control_plane.client import (
        AuthenticationFailed,
        ControlPlaneClient,
        ControlPlaneError,
        ControlPlaneUnavailable,
        PermissionDenied,
    )

    if not api_url or not api_url.strip():
        raise BadInput(f"no control-plane URL: pass --api-url or set {CONTROL_PLANE_URL_ENV}")
    if not credential:
        raise BadInput(f"no credential: pass --credential or set {CONTROL_PLANE_CREDENTIAL_ENV}")
    try:
        client = ControlPlaneClient(api_url, credential=credential)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    try:
        yield client
    except (AuthenticationFailed, PermissionDenied) as exc:
        raise Refused(str(exc)) from None
    except ControlPlaneUnavailable as exc:
        raise LakehouseError(str(exc)) from None
    except ControlPlaneError as exc:
        raise BadInput(str(exc)) from None
    finally:
        client.close()


def _row(c: Any) -> dict[str, Any]:
    row: dict[str, Any] = c.model_dump(mode="json")
    return row


@connector_app.command("add")
def add(
    tenant: str = TenantOpt,
    service: Service = typer.Option(..., "--service", help="The AWS service the role is used for."),
    account: str = typer.Option(..., "--account", help="The tenant's linked AWS account id (12 digits)."),
    role_arn: str = typer.Option(..., "--role-arn", help="The role in that account the platform assumes."),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Verify at once (fails until the trust policy has the ExternalId)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (written to the audit trail)."),
    api_url: str | None = ApiUrl,
    credential: str | None = Credential,
) -> None:
    """Register a role and print the ExternalId to put in its trust policy (shown this once)."""
    with api(api_url, credential) as client:
        created = client.add_connector(
            tenant,
            service=service.value,
            aws_account_id=account,
            role_arn=role_arn,
            verify=verify,
            reason=reason,
        )
    console.print(f"connector {created.id} for {created.service}: {created.status}", soft_wrap=True)
    console.print(
        f"ExternalId (shown once): {created.external_id}\n"
        "Put it in the role's trust policy (condition StringEquals sts:ExternalId; "
        "terraform/modules/iam/tenant_linked_account takes it as external_id).",
        soft_wrap=True,
    )
    if created.status != "verified":
        detail = f" ({created.last_error})" if created.last_error else ""
        console.print(
            f"[yellow]not verified yet[/]{detail}; then run: lakehouse connector verify --tenant {tenant} "
            f"{created.id}",
            soft_wrap=True,
        )


@connector_app.command("verify")
def verify(
    connector_id: str = typer.Argument(..., help="The connector's id (con-…)."),
    tenant: str = TenantOpt,
    api_url: str | None = ApiUrl,
    credential: str | None = Credential,
) -> None:
    """Assume the connector's role with its ExternalId now; exits 4 when the role cannot be assumed."""
    with api(api_url, credential) as client:
        checked = client.verify_connector(tenant, connector_id)
    if checked.status != "verified":
        raise Refused(f"connector {checked.id} is {checked.status}: {checked.last_error}")
    console.print(f"connector {checked.id} verified at {checked.last_verified_at:%Y-%m-%d %H:%M:%S} UTC")


@connector_app.command("list")
def list_(
    tenant: str = TenantOpt,
    include_disabled: bool = typer.Option(False, "--all", help="Also list disabled connectors."),
    output: Format = typer.Option(Format.table, "--format", help="table or json."),
    api_url: str | None = ApiUrl,
    credential: str | None = Credential,
) -> None:
    """The tenant's connectors (never their ExternalIds)."""
    with api(api_url, credential) as client:
        connectors = client.list_connectors(tenant, include_disabled=include_disabled)
    if output is Format.json:
        typer.echo(json.dumps([_row(c) for c in connectors], indent=2))
        return
    table = Table(title=f"connectors of {tenant}")
    columns: dict[str, Callable[[Any], str]] = {
        "id": lambda c: c.id,
        "service": lambda c: c.service,
        "account": lambda c: c.aws_account_id,
        "role": lambda c: c.role_arn,
        "status": lambda c: c.status,
        "last verified": lambda c: f"{c.last_verified_at:%Y-%m-%d %H:%M}" if c.last_verified_at else "-",
        "last error": lambda c: c.last_error or "",
    }
    for name in columns:
        table.add_column(name, overflow="fold")
    for c in connectors:
        table.add_row(*(render(c) for render in columns.values()))
    console.print(table if connectors else f"tenant {tenant} has no connectors")


@connector_app.command("disable")
def disable(
    connector_id: str = typer.Argument(..., help="The connector's id (con-…)."),
    tenant: str = TenantOpt,
    reason: str | None = typer.Option(None, "--reason", help="Why (written to the audit trail)."),
    api_url: str | None = ApiUrl,
    credential: str | None = Credential,
) -> None:
    """Disable a connector: its role is never assumed again (kept for the audit trail)."""
    with api(api_url, credential) as client:
        disabled = client.disable_connector(tenant, connector_id, reason=reason)
    console.print(f"connector {disabled.id} is {disabled.status}")


@connector_app.command("ingest")
def ingest(
    tenants: list[str] = typer.Option(..., "--tenant", help="A tenant to sync (repeat for several)."),
    catalog: str = typer.Option("Sandbox", "--catalog", help="Partner Central catalog: Sandbox or AWS."),
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        envvar="LAKEHOUSE_PARTNER_CENTRAL_ENDPOINT_URL",
        help="Partner Central endpoint (e.g. the local sandbox).",
    ),
    sts_endpoint_url: str | None = typer.Option(
        None, "--sts-endpoint-url", envvar="LAKEHOUSE_PARTNER_CENTRAL_STS_ENDPOINT_URL"
    ),
    region: str = typer.Option("us-east-1", "--region"),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="LAKEHOUSE_DATABASE_URL",
        help="The control-plane database the verified roles are read from (default: beside the lake).",
    ),
) -> None:
    """Sync each tenant's Partner Central data into bronze with that tenant's own verified role.

    A tenant without a verified connector is skipped and named; the others carry on. Exit code: 0 all synced,
    4 some were skipped, otherwise the failure's. The ExternalIds are read from the control-plane database
    (platform scope), which the API never answers: this runs where the orchestrator runs.
    """
    from control_plane.connectors.flows import ConnectorDirectory
    from control_plane.quotas.local import open_database
    from lakehouse.engine import get_spark
    from lakehouse.linked_accounts import ingest_partner_central
    from lakehouse.partner_central.connector import ConnectorConfig

    if catalog not in ("Sandbox", "AWS"):
        raise BadInput(f"--catalog must be Sandbox or AWS, got {catalog!r}")
    db = open_database(database_url)
    try:
        base = ConnectorConfig(region=region, endpoint_url=endpoint_url, sts_endpoint_url=sts_endpoint_url)
        run = ingest_partner_central(get_spark(), tenants, ConnectorDirectory(db), base, catalog=catalog)
    finally:
        db.dispose()
    table = Table(title=f"Partner Central sync over {len(run.outcomes)} tenant(s)")
    for name in ("tenant", "status", "landed", "API calls", "reason"):
        table.add_column(name, overflow="fold")
    for o in run.outcomes:
        landed = str(o.result.landed) if o.result is not None else "-"
        calls = str(o.result.api_calls) if o.result is not None else "-"
        table.add_row(o.tenant_id, o.status, landed, calls, o.reason or "")
    console.print(table)
    if run.exit_code:
        raise typer.Exit(run.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``lakehouse connector ...``."""
    app.add_typer(connector_app, name="connector")
