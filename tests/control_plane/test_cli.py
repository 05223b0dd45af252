"""``lakehouse api``: serves the API with uvicorn on 127.0.0.1; ``create-admin-key`` bootstraps the first admin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_lakehouse_api_serves_and_bootstraps_an_admin(tmp_path):
    env = {**os.environ, "LAKEHOUSE_LAKE_ROOT": str(tmp_path), "LAKEHOUSE_ENVIRONMENT": "test"}
    env.pop("LAKEHOUSE_DATABASE_URL", None)
    cli = [sys.executable, "-c", "import sys; from lakehouse.cli import main; sys.exit(main())"]
    created = subprocess.run(
        [*cli, "api", "create-admin-key", "--reason", "first admin"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("lh._platform.")
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "api", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                status, body = _get(f"{base}/health")
                break
            except OSError:
                if server.poll() is not None:
                    raise AssertionError(server.stdout.read()) from None
                time.sleep(0.1)
        else:
            raise AssertionError("the API did not start within 15 s")
        assert (status, body) == (200, {"status": "ok", "database": "sqlite"})
        assert _get(f"{base}/auth/whoami")[0] == 401
        status, who = _get(f"{base}/auth/whoami", {"X-API-Key": key})
        assert status == 200 and who["role"] == "platform_admin"
        assert (tmp_path / "control_plane.db").is_file()
    finally:
        server.terminate()
        server.wait(timeout=10)
