"""``lakehouse demo``: end to end on embedded defaults (what ``make run`` calls)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table


def demo() -> None:
    """Sandbox → bronze → silver → gold for three demo tenants; prints KPIs read back from the gold tables.

    Needs the AWS emulators of the dev extra (``pip install -e '.[dev]'``); the CLI starts them and hands their
    endpoints to the library, which never loads an emulator itself.
    """
    from control_plane.costs.demo import record_demo_usage  # the CLI wires the control plane in
    from lakehouse.commands import _emulators
    from lakehouse.demo import as_rows, cosell_rows, next_steps, run_demo

    console = Console(width=max(Console().width, 140))
    started = time.perf_counter()
    with (
        console.status("starting the embedded engine and the AWS emulators...") as status,
        _emulators.partner_central() as connections,
        _emulators.marketplace() as marketplace,
    ):
        summaries = run_demo(
            connections, status.update, usage_recorder=record_demo_usage, marketplace=marketplace
        )
    title = f"Partner Central Lakehouse demo · {time.perf_counter() - started:.1f}s"
    for rows, heading in (
        (as_rows(summaries), title),
        (cosell_rows(summaries), "Co-sell · gold.ace_lead_funnel and gold.ace_engagement_health"),
    ):
        table = Table(title=heading)
        for column in rows[0]:
            table.add_column(column, justify="left" if column == "tenant" else "right")
        for row in rows:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
    _advisor_answer(console, summaries[0].tenant_id if summaries else "acme")
    console.print("[bold]Where to look next[/]")
    for line in next_steps():
        console.print(f"  {line}", highlight=False, soft_wrap=True)


ADVISOR_QUESTION = "Which opportunities need attention and why?"


def _advisor_answer(console: Console, tenant: str) -> None:
    """One partner-advisor answer for a demo tenant, with its citations (Bedrock Runtime emulator)."""
    from contextlib import ExitStack

    from control_plane.agents.local import local_hub
    from lakehouse.agents.data import LakeData
    from lakehouse.commands.agent import print_answer, sandbox_provider
    from lakehouse.errors import LakehouseError

    console.print(f"[bold]Partner advisor · {tenant}[/]: {ADVISOR_QUESTION}", highlight=False)
    try:
        with ExitStack() as stack:
            hub = local_hub(
                tenant, user_id=None, operator="demo", provider=sandbox_provider(stack), data=LakeData()
            )
            print_answer(hub.ask(tenant, "advisor", ADVISOR_QUESTION))
    except LakehouseError as exc:
        console.print(f"[yellow]the advisor did not answer[/]: {exc}", highlight=False, soft_wrap=True)
    console.print(
        f'  ask more: lakehouse agent ask --tenant {tenant} --sandbox "<question>"', highlight=False
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
