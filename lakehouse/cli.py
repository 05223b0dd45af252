"""The ``lakehouse`` command.

Commands live in ``lakehouse/commands/<name>.py``; each module exposes ``register(app)``. Exit codes follow
DESIGN.md: 0 success, 2 bad usage or input, 3 a quality gate failed the run, 4 a tenancy/authorization/quota
refusal. Errors print one line naming what was wrong; ``LAKEHOUSE_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

import typer
from rich.console import Console
from rich.markup import escape

from lakehouse.errors import LakehouseError

app = typer.Typer(
    name="lakehouse",
    help="Partner Central Lakehouse: governed, multi-tenant Delta lake for AWS Partner Central and Marketplace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True)
_registered = False


def _register_commands() -> None:
    """Import every module of ``lakehouse.commands`` and let it add its commands."""
    global _registered
    if _registered:
        return
    import lakehouse.commands as commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is None:
            raise RuntimeError(f"lakehouse.commands.{mod.name} has no register(app) function")
        register(app)
    _registered = True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    _register_commands()
    try:
        result = app(
            args=list(argv) if argv is not None else None, prog_name="lakehouse", standalone_mode=False
        )
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 130
    except typer.TyperException as exc:  # usage errors (Typer vendors click; these are its ClickExceptions)
        show = getattr(exc, "show", None)
        show() if show else err.print(f"error: {exc.format_message()}", highlight=False)
        return 2
    except LakehouseError as exc:
        if os.environ.get("LAKEHOUSE_DEBUG"):
            err.print_exception()
        # the message is text, not markup: "pip install -e '.[dev]'" must not lose its "[dev]"
        err.print(f"[bold red]error[/]: {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
