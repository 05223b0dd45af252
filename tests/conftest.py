"""Session-wide fixtures: one Spark session per test session, and a fresh lake per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of the test session (embedded Sail unless LAKEHOUSE_ENGINE says otherwise)."""
    from lakehouse.engine import get_spark, stop_spark

    session = get_spark()
    yield session
    stop_spark()


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty lake root for one test (LAKEHOUSE_LAKE_ROOT points at it; settings a job installed go)."""
    from lakehouse.settings import install_settings

    root = tmp_path / "lake"
    root.mkdir()
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(root))
    install_settings(None)
    yield root
    install_settings(None)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("RUST_LOG", "error")
