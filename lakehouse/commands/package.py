"""``lakehouse package``: build the Glue bundle (wheel + job scripts) and regenerate what Terraform reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def package(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the wheel, job scripts and manifest.")
    ] = Path("dist/glue"),
    no_wheel: Annotated[
        bool, typer.Option("--no-wheel", help="Reuse the wheel already in --out (scripts and manifest only).")
    ] = False,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="The project checkout (pyproject.toml, jobs/, terraform/) to package; by default the checkout "
            "this package runs from, or the one at or above the current directory.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only check that the generated Terraform inputs match the pipeline steps."
        ),
    ] = False,
) -> None:
    """Build dist/glue for the Glue jobs and regenerate the state machine and Glue job list from the step list."""
    from rich.console import Console

    from lakehouse.deploy.generate import check_generated, project_root, write_generated
    from lakehouse.deploy.package import build_bundle
    from lakehouse.errors import BadInput
    from lakehouse.quality.suites import check_suites

    console = Console()
    root = root.resolve() if root else project_root()
    if check:
        stale = check_generated(root)
        if stale:
            raise BadInput("out of date (run `lakehouse package`): " + ", ".join(stale))
        console.print("generated Terraform inputs match lakehouse/pipeline_steps.py")
        return
    problems = check_suites()
    if problems:  # a Glue job would gate a table without a suite; refuse to ship that
        raise BadInput(
            "cannot package, quality suites and table declarations disagree: " + "; ".join(problems)
        )
    with console.status("regenerating the state machine and the Glue job list"):
        written = write_generated(root)
    for path in written:
        console.print(f"[green]generated[/green] {path.relative_to(root)}")
    target = out if out.is_absolute() else Path.cwd() / out
    with console.status(f"building the Glue bundle in {target}"):
        bundle = build_bundle(target, root, wheel=not no_wheel)
    console.print(f"[green]wheel[/green]    {bundle.wheel.name}")
    for name, script in bundle.scripts.items():
        console.print(f"[green]job[/green]      {name:<28} {script.relative_to(target)}")
    console.print(f"[green]manifest[/green] {bundle.manifest}")
    console.print("next: terraform -chdir=terraform/envs/<env> apply  (see docs/deploy.md)")


def register(app: typer.Typer) -> None:
    """Add ``lakehouse package`` to the CLI."""
    app.command("package")(package)
