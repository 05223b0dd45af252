"""``lakehouse metering ...`` and ``lakehouse marketplace ...``: metering runs, syncs, packaging, the sandbox."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lakehouse.errors import BadInput, Refused

if TYPE_CHECKING:
    from lakehouse.marketplace.connector import MarketplaceConfig
    from lakehouse.marketplace.packaging import PackagedListing

metering_app = typer.Typer(help="Bill usage through AWS Marketplace metering.", no_args_is_help=True)
marketplace_app = typer.Typer(
    help="AWS Marketplace: sync, register buyers, package and publish the listing.", no_args_is_help=True
)

_ENDPOINT_HELP = (
    "Endpoint of the Marketplace services (the sandbox URL); default: boto3's (AWS_ENDPOINT_URL_*)"
)


@metering_app.command("run")
def metering_run(
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant whose usage to bill"),
    hour: str | None = typer.Option(
        None,
        "--hour",
        help="Bill only this usage hour (ISO-8601, UTC); default: "
        "every closed hour still inside Marketplace's 24-hour window",
    ),
    usage: str | None = typer.Option(
        None,
        "--usage-source",
        help="file:PATH (JSON Lines) or "
        "python:module:attr; default $LAKEHOUSE_MARKETPLACE_USAGE_SOURCE or "
        "<lake>/marketplace/usage.jsonl",
    ),
    buyers: str | None = typer.Option(
        None,
        "--buyers",
        help="file:PATH or python:module:attr; default "
        "$LAKEHOUSE_MARKETPLACE_BUYERS or <lake>/marketplace/buyers.json",
    ),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help=_ENDPOINT_HELP),
    zero_usage: str = typer.Option("skip", "--zero-usage", help="Hours without usage: skip, or send zeros"),
    identify_by: str = typer.Option(
        "license", "--identify-by", help="license (LicenseArn), account (ProductCode + account) or legacy"
    ),
    dimensions: str | None = typer.Option(
        None,
        "--dimensions",
        help="Comma-separated metered dimensions of the product (others are dead-lettered without a call)",
    ),
    run_id: str | None = typer.Option(None, "--run-id"),
) -> None:
    """Send a tenant's ledger usage to BatchMeterUsage, exactly once per usage hour."""
    from lakehouse.engine import get_spark
    from lakehouse.marketplace.runner import MeteringIncomplete, MeteringOptions, parse_hour, run_metering
    from lakehouse.tenancy import validate_tenant_id

    validate_tenant_id(tenant)
    options = MeteringOptions(
        hour=parse_hour(hour),
        usage_spec=usage,
        buyers_spec=buyers,
        endpoint_url=endpoint_url,
        zero_usage=zero_usage,
        identify_by=identify_by,
        dimensions=tuple(d.strip() for d in (dimensions or "").split(",") if d.strip()),
        run_id=run_id,
    )
    result, gold_rows = run_metering(get_spark(), tenant, options)
    typer.echo(result.summary())
    if gold_rows:
        typer.echo(f"gold.marketplace_usage: {gold_rows} row(s) for tenant {tenant}")
    if result.status == "incomplete":
        raise MeteringIncomplete(
            f"{result.still_pending} record(s) still pending for tenant {tenant}; they are "
            "re-sent identically by the next run" + (f" ({result.errors[0]})" if result.errors else "")
        )


def _config(endpoint_url: str | None) -> MarketplaceConfig:
    from lakehouse.marketplace.connector import MarketplaceConfig
    from lakehouse.settings import get_settings

    return MarketplaceConfig(region=get_settings().aws_region, endpoint_url=endpoint_url)


@marketplace_app.command("sync")
def sync(
    tenant: str = typer.Option(..., "--tenant", "-t", help="Seller tenant whose Marketplace data to read"),
    what: str = typer.Option(
        "catalog,agreements", "--what", help="Comma-separated: catalog, agreements, entitlements"
    ),
    product_code: list[str] = typer.Option([], "--product-code", help="Products whose entitlements to read"),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help=_ENDPOINT_HELP),
    run_id: str | None = typer.Option(None, "--run-id"),
) -> None:
    """Read catalog entities, agreements and entitlements into bronze, then rebuild silver and gold."""
    from datetime import datetime

    from lakehouse.engine import get_spark
    from lakehouse.marketplace.connector import MarketplaceReader
    from lakehouse.marketplace.sync import MarketplaceSync
    from lakehouse.tenancy import validate_tenant_id

    validate_tenant_id(tenant)
    parts = {p.strip() for p in what.split(",") if p.strip()}
    unknown = parts - {"catalog", "agreements", "entitlements"}
    if unknown:
        raise BadInput(f"--what: unknown part(s) {sorted(unknown)}; use catalog, agreements, entitlements")
    if "entitlements" in parts and not product_code:
        raise BadInput("--what entitlements needs at least one --product-code")
    spark = get_spark()
    job = MarketplaceSync(
        spark,
        MarketplaceReader.from_config(_config(endpoint_url)),
        tenant,
        run_id=run_id or f"mp-sync-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
    )
    if "catalog" in parts:
        job.sync_catalog()
    if "agreements" in parts:
        job.sync_agreements()
    if "entitlements" in parts:
        job.sync_entitlements(product_code)
    typer.echo(job.result.summary())
    built = job.build_silver()
    typer.echo("silver: " + ", ".join(f"{k} {v}" for k, v in built.items()))
    if "agreements" in parts:
        typer.echo(f"gold.marketplace_subscriptions: {job.build_subscriptions()} row(s)")


@marketplace_app.command("register")
def register_cmd(
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant to link the buyer to"),
    token: str = typer.Option(..., "--token", help="The x-amzn-marketplace-token from the fulfillment URL"),
    buyers: str | None = typer.Option(None, "--buyers", help="file:PATH or python:module:attr"),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help=_ENDPOINT_HELP),
) -> None:
    """Resolve a registration token (ResolveCustomer) and link the buyer to the tenant (idempotent)."""
    from lakehouse.marketplace.connector import MarketplaceReader
    from lakehouse.marketplace.registration import register_buyer
    from lakehouse.marketplace.runner import buyer_directory

    buyer = register_buyer(
        token,
        tenant_id=tenant,
        reader=MarketplaceReader.from_config(_config(endpoint_url)),
        directory=buyer_directory(buyers),
    )
    typer.echo(
        json.dumps(
            {
                "tenant_id": buyer.tenant_id,
                "product_code": buyer.product_code,
                "customer_aws_account_id": buyer.customer_aws_account_id,
                "license_arn": buyer.license_arn,
                "agreement_id": buyer.agreement_id,
            },
            indent=2,
        )
    )


def _packaged(plans: Path | None, listing: Path | None, name: str) -> PackagedListing:
    from lakehouse.marketplace.packaging import DEFAULT_PLANS, Listing, listing_from_json, load_plans, package

    chosen = load_plans(plans) if plans else list(DEFAULT_PLANS)
    spec = Listing()
    if listing:
        try:
            spec = listing_from_json(json.loads(listing.read_text()))
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot read the listing from {listing}: {exc}") from None
    return package(chosen, spec, name=name)


@marketplace_app.command("package")
def package_cmd(
    plans: Path | None = typer.Option(
        None,
        "--plans",
        help="The control plane's plans export (JSON); default: the built-in standard/pro plans",
    ),
    listing: Path | None = typer.Option(
        None, "--listing", help="Listing fields (JSON) overriding the defaults"
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the change set JSON here"),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Run it with Intent=VALIDATE"),
    name: str = typer.Option("lakehouse-listing", "--name", help="Change set name"),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help=_ENDPOINT_HELP),
) -> None:
    """Turn the plans into the SaaS product + public offer change set, and validate it (never applies)."""
    from lakehouse.marketplace.connector import ChangeSetFailed, ChangeSets

    packaged = _packaged(plans, listing, name)
    text = packaged.as_json()
    if out:
        out.write_text(text + "\n")
        typer.echo(f"change set with {len(packaged.changes)} change(s) written to {out}")
    else:
        typer.echo(text)
    typer.echo(
        f"an APPLY needs an approval for action {packaged.action!r} and payload sha256 "
        f"{packaged.payload_sha256}",
        err=True,
    )
    if validate:
        result = ChangeSets.from_config(_config(endpoint_url)).validate(packaged.changes, name=name)
        typer.echo(f"VALIDATE {result.change_set_id}: {result.status}", err=True)
        if result.status != "SUCCEEDED":
            from lakehouse.marketplace.connector import _failure_text

            raise ChangeSetFailed(_failure_text("VALIDATE", result), result)


@marketplace_app.command("apply")
def apply_cmd(
    change_set: Path = typer.Option(..., "--change-set", help="A change set file written by `package --out`"),
    approval_id: str = typer.Option(..., "--approval-id", help="The approved approval for this change set"),
    approvals: str | None = typer.Option(
        None,
        "--approvals",
        help="python:module:attr of the approvals service; default $LAKEHOUSE_MARKETPLACE_APPROVALS",
    ),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help=_ENDPOINT_HELP),
) -> None:
    """APPLY a packaged change set through an approval (validate first; exactly once per approval)."""
    from lakehouse.marketplace.connector import ChangeSets
    from lakehouse.marketplace.runner import approval_gate

    gate = approval_gate(approvals)
    if gate is None:
        raise Refused(
            "no approvals service is configured (--approvals / $LAKEHOUSE_MARKETPLACE_APPROVALS); "
            "a change set can only be applied through an approval"
        )
    try:
        data = json.loads(change_set.read_text())
        changes, name = data["changes"], data.get("change_set_name")
    except (OSError, ValueError, KeyError) as exc:
        raise BadInput(f"{change_set} is not a packaged change set: {exc}") from None
    result = ChangeSets.from_config(_config(endpoint_url)).apply(
        changes, approval_id=approval_id, gate=gate, name=name
    )
    typer.echo(json.dumps(result.as_dict(), indent=2))


@marketplace_app.command("demo")
def demo(
    tenant: list[str] = typer.Option(["acme", "globex"], "--tenant", "-t", help="Buyer tenants to meter"),
) -> None:
    """Register buyers, meter synthetic usage and build the Marketplace marts against the local emulator."""
    from lakehouse.commands import _emulators
    from lakehouse.engine import get_spark
    from lakehouse.marketplace.demo import run_demo

    with _emulators.marketplace() as endpoint:
        report = run_demo(get_spark(), endpoint, tenant)
    for line in report.lines():
        typer.echo(line)


@marketplace_app.command("sandbox")
def sandbox(
    port: int = typer.Option(4700, "--port", help="Port on 127.0.0.1 (0 picks a free one)"),
) -> None:
    """Run the seeded Marketplace sandbox in the foreground (prints its URL and seller credentials as JSON)."""
    from lakehouse.commands import _emulators

    main = _emulators.load("sandboxes.marketplace.__main__").main
    raise typer.Exit(main(["--port", str(port), "--ready-json"]))


def register(app: typer.Typer) -> None:
    app.add_typer(metering_app, name="metering")
    app.add_typer(marketplace_app, name="marketplace")
