"""``lakehouse dashboards``: serve the Streamlit dashboards on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Mapping

import typer

from lakehouse.errors import BadInput

CONTROL_PLANE_URL_ENV = "LAKEHOUSE_CONTROL_PLANE_URL"  # the same name as control_plane.client.URL_ENV


def locate_app() -> tuple[str, str]:
    """(path of dashboards/Home.py, the directory to put on PYTHONPATH so ``dashboards`` imports).

    Found through the import system, so it is the same for a checkout, an editable install and the wheel (which
    ships the ``dashboards`` package beside ``lakehouse``)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("dashboards")
    candidates = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) for p in spec.submodule_search_locations]
    for package in candidates:
        home = package / "Home.py"
        if home.is_file():
            return str(home), str(package.parent)
    raise BadInput(
        "the dashboards are not installed: no importable `dashboards` package with Home.py (install the project "
        "with `pip install partner-central-lakehouse` or run from the checkout)"
    )


def streamlit_command(port: int, home: str) -> list[str]:
    """The streamlit command line: loopback only, headless, no usage statistics, no file watcher."""
    import sys

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        home,
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--browser.serverAddress",
        "127.0.0.1",
        "--browser.serverPort",
        str(port),
    ]


# Settings of the control-plane server that the dashboards must not hold: they reach it through its API only.
WITHHELD_SETTINGS = (
    "LAKEHOUSE_DATABASE_URL",
    "LAKEHOUSE_MIGRATION_DATABASE_URL",
    "LAKEHOUSE_JWT_SECRET",
    "LAKEHOUSE_BOOTSTRAP_ADMIN_KEY",
    "LAKEHOUSE_CONTROL_PLANE_CREDENTIAL",
)


def streamlit_environment(environ: Mapping[str, str], root: str, api_url: str) -> dict[str, str]:
    """The Streamlit process's environment: ``environ`` without the control plane's database URLs and secrets,
    plus the API's URL and ``root`` on PYTHONPATH."""
    env = {k: v for k, v in environ.items() if k not in WITHHELD_SETTINGS}
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [environ.get("PYTHONPATH")])])
    env[CONTROL_PLANE_URL_ENV] = api_url
    return env


def check_control_plane(api_url: str | None) -> str:
    """The normalised API URL once its ``/health`` answers; ``BadInput`` saying what is missing otherwise."""
    from control_plane.client import ControlPlaneClient, ControlPlaneError

    if not api_url or not api_url.strip():
        raise BadInput(
            f"no control-plane URL: pass --api-url or set {CONTROL_PLANE_URL_ENV} (the dashboards sign users in "
            "through the control-plane API; `lakehouse api` serves it on http://127.0.0.1:8000)"
        )
    try:
        with ControlPlaneClient(api_url, timeout=5.0) as client:
            client.health()
            return client.base_url
    except ValueError as exc:
        raise BadInput(f"--api-url / {CONTROL_PLANE_URL_ENV}: {exc}") from None
    except ControlPlaneError as exc:
        raise BadInput(
            f"{exc} (start it with `lakehouse api`, or fix --api-url / {CONTROL_PLANE_URL_ENV})"
        ) from None


def dashboards(
    port: int = typer.Option(
        8501, "--port", "-p", min=1, max=65535, help="Port to listen on (127.0.0.1 only)"
    ),
    api_url: str | None = typer.Option(
        None,
        "--api-url",
        envvar=CONTROL_PLANE_URL_ENV,
        help="URL of the control-plane API the dashboards sign users in with (e.g. http://127.0.0.1:8000)",
    ),
) -> None:
    """Serve the dashboards (ACE KPI pack, pipeline health) at http://127.0.0.1:PORT until Ctrl-C."""
    import signal
    import subprocess

    from lakehouse.settings import get_settings

    home, root = locate_app()
    url = check_control_plane(api_url)
    env = streamlit_environment(os.environ, root, url)
    settings = get_settings()
    withheld = [k for k in WITHHELD_SETTINGS if k in os.environ]
    typer.echo(
        f"Dashboards for lake {settings.lake_root}, signing in through the control plane at {url}: open "
        f"http://127.0.0.1:{port} and sign in with a control-plane API key or token (Ctrl-C stops)."
    )
    if withheld:
        typer.echo(f"Not passed to the dashboards (they use the API only): {', '.join(withheld)}.")
    proc = subprocess.Popen(streamlit_command(port, home), env=env)
    # stopping this command stops the server too (no orphaned streamlit)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        code = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code and code != -signal.SIGTERM:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("dashboards")(dashboards)
