"""``lakehouse api``: serve the control-plane API with uvicorn (``control_plane`` is imported lazily)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``lakehouse api [--host] [--port]`` and ``lakehouse api create-admin-key --reason``."""
    api_app = typer.Typer(
        help="Serve the control-plane API (tenants, auth, authz, audit, registry).",
        invoke_without_command=True,
    )

    @api_app.callback()
    def serve(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind"),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port"),
        log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
    ) -> None:
        """Serve the API (SQLite beside the lake unless LAKEHOUSE_DATABASE_URL is set). Migrates on start."""
        if ctx.invoked_subcommand is not None:
            return
        import uvicorn

        # asyncio sets TCP_NODELAY on accepted sockets; uvicorn writes each response itself.
        uvicorn.run(
            "control_plane.app:create_app",
            factory=True,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
        )

    @api_app.command("create-admin-key")
    def create_admin_key(
        reason: str = typer.Option(..., "--reason", help="Why (written to the audit log)"),
        name: str = typer.Option("bootstrap", "--name", help="A label for the key"),
    ) -> None:
        """Create a platform_admin API key and print it once (only its hash is stored)."""
        from control_plane.bootstrap import create_admin_key as create

        typer.echo(create(reason, name=name))

    app.add_typer(api_app, name="api")
