"""Fixtures for the dashboard tests: a two-tenant lake (written once through lakehouse.io), a control-plane
database with API keys (made with the control plane's own service functions), and AppTest helpers."""

from __future__ import annotations

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


def _point_at(monkeypatch: pytest.MonkeyPatch, lake: Path, keys: Keys) -> None:
    from lakehouse.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(lake))
    monkeypatch.setenv("LAKEHOUSE_DATABASE_URL", keys.database_url)
    monkeypatch.setenv("LAKEHOUSE_JWT_SECRET", keys.jwt_secret)
    monkeypatch.setenv("LAKEHOUSE_ENVIRONMENT", "test")
    get_settings.cache_clear()


@pytest.fixture
def dash_env(dash_lake: Path, cp_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """Settings pointing at the two-tenant lake and the control-plane DB; yields the keys."""
    from lakehouse.settings import get_settings

    _point_at(monkeypatch, dash_lake, cp_keys)
    yield cp_keys
    get_settings.cache_clear()


@pytest.fixture
def empty_env(tmp_path: Path, cp_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """Settings pointing at an empty lake (no table written) and the same control-plane DB."""
    from lakehouse.settings import get_settings

    lake = tmp_path / "empty-lake"
    lake.mkdir()
    _point_at(monkeypatch, lake, cp_keys)
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
