"""Fixtures for the dashboard tests: a two-tenant lake (written once through lakehouse.io), a control-plane
database with API keys (made with the control plane's own service functions), the control-plane API serving it
from its own process (``lakehouse api`` on a loopback port), and AppTest helpers.

The dashboards run with ``LAKEHOUSE_CONTROL_PLANE_URL`` only: the database URL and the JWT secret belong to the
API process and are removed from the environment the dashboards see.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.dashboards.cpseed import Keys, seed
from tests.dashboards.lakedata import write_lake

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"


@pytest.fixture(scope="session")
def dash_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake root holding silver, gold, bronze and ops rows of tenants acme and globex."""
    from lakehouse.settings import get_settings

    root = tmp_path_factory.mktemp("dashboards") / "lake"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_LAKE_ROOT", str(root))
        get_settings.cache_clear()
        try:
            write_lake(spark)
        finally:
            get_settings.cache_clear()
    return root


@pytest.fixture(scope="session")
def cp_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A control-plane DB with tenants acme and globex, analyst and viewer keys of each, and a platform key."""
    return seed(tmp_path_factory.mktemp("control_plane"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, *, seconds: float = 90) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it exits or stays silent."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the server for {url} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"nothing answered on {url}:\n{log.read_text()}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def cp_api(cp_keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The control-plane API (``lakehouse api``) over the seeded database, in its own process; yields its URL.

    Only this process gets the database URL and the JWT secret.
    """
    port = free_port()
    root = Path(cp_keys.database_url.removeprefix("sqlite:///")).parent
    env = dict(
        os.environ,
        LAKEHOUSE_LAKE_ROOT=str(root),
        LAKEHOUSE_DATABASE_URL=cp_keys.database_url,
        LAKEHOUSE_JWT_SECRET=cp_keys.jwt_secret,
        LAKEHOUSE_ENVIRONMENT="test",
        LAKEHOUSE_SEED_REGISTRY="false",
    )
    log_path = tmp_path_factory.mktemp("cp-api") / "api.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakehouse.cli", "api", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# What the dashboards must not hold: the control plane's database URLs and secrets.
CONTROL_PLANE_SECRETS = (
    "LAKEHOUSE_DATABASE_URL",
    "LAKEHOUSE_MIGRATION_DATABASE_URL",
    "LAKEHOUSE_JWT_SECRET",
    "LAKEHOUSE_BOOTSTRAP_ADMIN_KEY",
)


def point_at(monkeypatch: pytest.MonkeyPatch, lake: Path, api_url: str) -> None:
    """The dashboards' environment: the lake and the control-plane URL, no database URL, no JWT secret."""
    from lakehouse.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(lake))
    monkeypatch.setenv("LAKEHOUSE_CONTROL_PLANE_URL", api_url)
    for name in CONTROL_PLANE_SECRETS:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


@pytest.fixture
def dash_env(dash_lake: Path, cp_keys: Keys, cp_api: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """Settings pointing at the two-tenant lake and the control-plane API; yields the keys."""
    from lakehouse.settings import get_settings

    point_at(monkeypatch, dash_lake, cp_api)
    yield cp_keys
    get_settings.cache_clear()


@pytest.fixture
def empty_env(tmp_path: Path, cp_keys: Keys, cp_api: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """Settings pointing at an empty lake (no table written) and the same control-plane API."""
    from lakehouse.settings import get_settings

    lake = tmp_path / "empty-lake"
    lake.mkdir()
    point_at(monkeypatch, lake, cp_api)
    yield cp_keys
    get_settings.cache_clear()


# ------------------------------------------------------------------------------------------ AppTest helpers


def open_page(page: str, credential: str, *, tenant: str | None = None):
    """Run a page in AppTest, sign in with ``credential`` and (optionally) switch to ``tenant``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(DASHBOARDS / page), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="signin_credential").input(credential)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    if tenant is not None:
        at.selectbox(key="tenant_picker").select(tenant).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at) -> dict[str, str]:
    """Metric label → displayed value."""
    return {m.label: m.value for m in at.metric}


def frames(at) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def shown_values(at) -> set[str]:
    """Every cell of every table, every metric, and every text element on the page, as strings."""
    values: set[str] = set()
    for frame in frames(at):
        for col in frame.columns:
            values.update(str(v) for v in frame[col].tolist())
    values.update(m.value for m in at.metric)
    for kind in ("markdown", "caption", "info", "error", "warning"):
        values.update(str(e.value) for e in getattr(at, kind))
    return values


def columns_shown(at) -> set[str]:
    return {c for frame in frames(at) for c in frame.columns}


def usd(value: float) -> str:
    return f"${value:,.2f}"


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"
