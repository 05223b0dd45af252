"""Fixtures shared with the dashboard tests: the seeded control-plane DB and the notebook kernel."""

from __future__ import annotations

from tests.dashboards.conftest import cp_keys  # noqa: F401 - re-exported fixture
from tests.dashboards.test_notebooks import kernel_path  # noqa: F401 - re-exported fixture
