"""``lakehouse dashboards``: serve the Streamlit dashboards on 127.0.0.1."""

from __future__ import annotations

import typer

from lakehouse.errors import BadInput


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


def dashboards(
    port: int = typer.Option(
        8501, "--port", "-p", min=1, max=65535, help="Port to listen on (127.0.0.1 only)"
    ),
) -> None:
    """Serve the dashboards (ACE KPI pack, pipeline health) at http://127.0.0.1:PORT until Ctrl-C."""
    import os
    import signal
    import subprocess

    from lakehouse.settings import get_settings

    home, root = locate_app()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    settings = get_settings()
    typer.echo(
        f"Dashboards for lake {settings.lake_root}: open http://127.0.0.1:{port} and sign in with a "
        "control-plane API key or token (Ctrl-C stops)."
    )
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
