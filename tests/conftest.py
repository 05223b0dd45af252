"""Session-wide fixtures: one Spark session per test session, and a fresh lake per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The warehouse's PostgreSQL-behind-pgbouncer fixtures (shared by the warehouse and control-plane tests), and the
# recorder of the AWS operations project code sends (checked against the IAM declarations).
pytest_plugins = ["tests.warehouse.fixtures", "tests.infra.aws_call_recorder"]


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


# Fixtures that reach PostgreSQL: a test using any of them is marked ``postgres`` (deselected by test-fast).
_POSTGRES_FIXTURES = {
    "pg_admin_url",
    "pg_database",
    "pg_stack",
    "pg_backend",
    "pgbouncer_port",
    "warehouse_db",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by what they need, so ``make test-fast`` can leave out PostgreSQL without per-test markers."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        uses_pg = (
            bool(_POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ()))) or "postgres" in params.values()
        )
        if uses_pg and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True, scope="session")
def _fast_botocore_backoff() -> Iterator[None]:
    """Scale botocore's retry backoff down for the test session (emulators inject throttling on purpose).

    The clients keep botocore's retry modes and attempt counts; only the sleep between attempts shrinks from
    up to seconds (1 s base for throttling) to milliseconds, which is what the tests' timing does not depend on.
    """
    from botocore.retries import standard

    original = standard.ExponentialBackoff._DEFAULT_BACKOFF_CONFIG
    standard.ExponentialBackoff._DEFAULT_BACKOFF_CONFIG = {
        "throttling_base_scale": 0.01,
        "non_throttling_base_scale": 0.005,
    }
    yield
    standard.ExponentialBackoff._DEFAULT_BACKOFF_CONFIG = original
