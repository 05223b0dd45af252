"""`lakehouse dashboards`: serves Home.py on 127.0.0.1 (the browser test runs it for real); imports stay lazy."""

from __future__ import annotations

import subprocess
import sys

from lakehouse.cli import main
from lakehouse.commands.dashboards import locate_app, streamlit_command
from tests.dashboards.conftest import DASHBOARDS, REPO


def test_help_and_bad_port(capsys):
    assert main(["dashboards", "--help"]) == 0
    assert "--port" in capsys.readouterr().out
    assert main(["dashboards", "--port", "0"]) == 2


def test_the_server_binds_loopback_only():
    home, root = locate_app()
    assert home == str(DASHBOARDS / "Home.py") and root == str(REPO)
    argv = streamlit_command(8765, home)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8765"
    assert argv[argv.index("--server.headless") + 1] == "true"


def test_importing_the_command_loads_neither_streamlit_nor_the_dashboards():
    code = (
        "import sys, typer, lakehouse.commands.dashboards as d; d.register(typer.Typer()); "
        "print(sorted(m for m in ('streamlit', 'dashboards', 'control_plane') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
