"""CLI command modules; each exposes ``register(app: typer.Typer)`` and is discovered by lakehouse.cli."""
