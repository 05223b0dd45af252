"""`lakehouse dashboards`: serves Home.py on 127.0.0.1 (the browser test runs it for real); imports stay lazy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lakehouse.cli import main
from lakehouse.commands.dashboards import (
    check_control_plane,
    locate_app,
    streamlit_command,
    streamlit_environment,
)
from tests.dashboards.conftest import DASHBOARDS, REPO, free_port

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`


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


def test_the_streamlit_environment_has_the_api_url_and_none_of_the_control_planes_secrets():
    operator = {
        "LAKEHOUSE_LAKE_ROOT": "/lake",
        "LAKEHOUSE_DATABASE_URL": "postgresql://cp@db/cp",
        "LAKEHOUSE_MIGRATION_DATABASE_URL": "postgresql://owner@db/cp",
        "LAKEHOUSE_JWT_SECRET": "s" * 40,
        "LAKEHOUSE_BOOTSTRAP_ADMIN_KEY": "lh._platform.k.s",
        "LAKEHOUSE_CONTROL_PLANE_CREDENTIAL": "lh.acme.k.s",
        "PYTHONPATH": "/elsewhere",
    }
    env = streamlit_environment(operator, "/src", "http://127.0.0.1:8000")
    assert env == {
        "LAKEHOUSE_LAKE_ROOT": "/lake",
        "LAKEHOUSE_CONTROL_PLANE_URL": "http://127.0.0.1:8000",
        "PYTHONPATH": os.pathsep.join(["/src", "/elsewhere"]),
    }


def test_without_a_control_plane_url_the_command_says_what_is_missing(capsys, monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_CONTROL_PLANE_URL", raising=False)
    assert main(["dashboards"]) == 2
    err = capsys.readouterr().err
    assert "--api-url" in err and "LAKEHOUSE_CONTROL_PLANE_URL" in err


def test_an_api_url_that_does_not_answer_is_refused_before_streamlit_starts(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["dashboards", "--api-url", url]) == 2
    err = capsys.readouterr().err
    assert url in err and "unreachable" in err and "lakehouse api" in err
    assert main(["dashboards", "--api-url", "localhost:8000"]) == 2
    assert "not an absolute http(s) URL" in capsys.readouterr().err


def test_check_control_plane_answers_the_normalised_url_of_a_live_api(cp_api):
    assert check_control_plane(cp_api + "/") == cp_api
