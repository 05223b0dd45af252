"""Fixtures shared with other suites: the seeded control-plane DB, the notebook kernel, PostgreSQL."""

from __future__ import annotations

from tests.control_plane.conftest import pg_admin_url  # noqa: F401 - re-exported fixture
from tests.dashboards.conftest import cp_keys  # noqa: F401 - re-exported fixture
from tests.dashboards.test_notebooks import kernel_path  # noqa: F401 - re-exported fixture
