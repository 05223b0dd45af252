"""``lakehouse sandbox``: run the local Partner Central sandbox in the foreground."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def sandbox(
    port: int = typer.Option(4580, "--port", help="Port on 127.0.0.1 (0 picks a free one)."),
    tenant: list[str] = typer.Option(
        [], "--tenant", help="NAME[=OPPORTUNITIES], repeatable (default: the demo tenants)."
    ),
    throttle_rate: float = typer.Option(0.0, "--throttle-rate", min=0.0, max=1.0),
    error_rate: float = typer.Option(0.0, "--error-rate", min=0.0, max=1.0),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0.0),
) -> None:
    """Serve a seeded Partner Central sandbox (awsJson1_0 over HTTP) until interrupted; needs the dev extra."""
    from lakehouse.commands import _emulators

    emulator = _emulators.load("sandboxes.partner_central")
    try:
        tenants = emulator.parse_tenants(tenant) if tenant else emulator.DEMO_TENANTS
    except ValueError as exc:
        from lakehouse.errors import BadInput

        raise BadInput(f"--tenant takes NAME or NAME=COUNT: {exc}") from None
    server = emulator.SandboxServer(
        emulator.demo_state(tenants),
        port=port,
        faults=emulator.Faults(throttle_rate=throttle_rate, error_rate=error_rate, latency_ms=latency_ms),
    )
    console.print(f"Partner Central sandbox listening on [bold]{server.url}[/]", highlight=False)
    for account in server.state.tenants.values():
        c = account.credentials()
        console.print(f"\n# tenant {c['tenant_id']} (account {c['account_id']})", highlight=False)
        console.print(
            f"AWS_ACCESS_KEY_ID={c['aws_access_key_id']} AWS_SECRET_ACCESS_KEY={c['aws_secret_access_key']} "
            f"lakehouse ingest partner-central --tenant {c['tenant_id']} --endpoint-url {server.url}",
            highlight=False,
            soft_wrap=True,
        )
    console.print("\nCtrl-C to stop.")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add ``lakehouse sandbox``."""
    app.command("sandbox")(sandbox)
