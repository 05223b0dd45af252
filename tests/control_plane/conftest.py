"""Control-plane fixtures: the same app on SQLite and on a throwaway PostgreSQL database, plus tenant factories.

PostgreSQL is found at 127.0.0.1:5432 (``LAKEHOUSE_TEST_PG_ADMIN_URL`` overrides) or started with
``pg_ctlcluster``; with ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get("LAKEHOUSE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APP_LOGIN_ROLE = "lakehouse_api_test"  # a LOGIN role that is only a member of the app and platform roles
JWT_SECRET = "test-secret-" + "x" * 40
AUDIT_HMAC_KEY = "audit-key-" + "y" * 40
# The suite drives the API much faster than a real client: limits out of the way except where tested.
HIGH_LIMITS: dict[str, Any] = {
    "rate_limit_per_ip": 1_000_000.0,
    "rate_limit_per_plan": {"free": 1_000_000.0, "team": 1_000_000.0, "enterprise": 1_000_000.0},
    "auth_failure_threshold": 1_000_000,
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def _pg_reachable() -> str | None:
    try:
        with _pg_connect(PG_ADMIN_URL) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _start_pg() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    for _ in range(50):
        if _pg_reachable() is None:
            return
        time.sleep(0.2)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The URL of a reachable PostgreSQL superuser connection (started if needed)."""
    error = _pg_reachable()
    if error is not None:
        _start_pg()
        error = _pg_reachable()
    if error is not None:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {error}"
        if _in_ci():
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_ADMIN_URL


def _with_db(url: str, dbname: str, user: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(database=dbname)
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class PgDatabase:
    """A throwaway database: ``admin_url`` (superuser, migrations) and ``app_url`` (the API's login role)."""

    name: str
    admin_url: str
    app_url: str


@pytest.fixture(scope="session")
def pg_database(pg_admin_url: str) -> Iterator[PgDatabase]:
    """A fresh, migrated database for this test session; dropped afterwards."""
    from control_plane.db import migrate

    name = f"cp_test_{uuid.uuid4().hex[:12]}"
    with _pg_connect(pg_admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A throwaway database: durability of each commit is not what these tests check.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_LOGIN_ROLE}') THEN "
            f"CREATE ROLE {APP_LOGIN_ROLE} LOGIN NOINHERIT; END IF; "
            f"EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    admin_url = _with_db(pg_admin_url, name)
    try:
        migrate(admin_url)
        with _pg_connect(admin_url) as conn:
            conn.execute(f"GRANT lakehouse_app, lakehouse_platform TO {APP_LOGIN_ROLE}")
            conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO {APP_LOGIN_ROLE}')
        yield PgDatabase(name=name, admin_url=admin_url, app_url=_with_db(pg_admin_url, name, APP_LOGIN_ROLE))
    finally:
        with _pg_connect(pg_admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Backend:
    """One database backend under test."""

    kind: str  # "sqlite" or "postgres"
    app_url: str
    admin_url: str
    lake_root: Path


def make_settings(backend: Backend, **overrides: Any):
    """Settings for an app on ``backend`` (test environment, fixed JWT secret)."""
    from control_plane.settings import ControlPlaneSettings

    values: dict[str, Any] = {
        "database_url": backend.app_url,
        "migration_database_url": backend.admin_url,
        "lake_root": str(backend.lake_root),
        "environment": "test",
        "jwt_secret": JWT_SECRET,
        "audit_hmac_key": AUDIT_HMAC_KEY,
        "db_pool_size": 5,
        **HIGH_LIMITS,
    }
    values.update(overrides)
    return ControlPlaneSettings(**values)


@dataclass
class Stack:
    """Backend, app, test client and platform-admin headers: built once per backend per session."""

    backend: Backend
    app: Any
    client: Any
    admin: dict[str, str]


@pytest.fixture(scope="session")
def _stacks() -> Iterator[dict[str, Stack]]:
    stacks: dict[str, Stack] = {}
    yield stacks
    for stack in stacks.values():
        stack.client.__exit__(None, None, None)
        stack.app.state.cp.db.dispose()
        warehouse = stack.app.state.cp.provisioner.warehouse
        if hasattr(warehouse, "close"):
            warehouse.close()


def _stack(kind: str, request: pytest.FixtureRequest, stacks: dict[str, Stack]) -> Stack:
    if kind in stacks:
        return stacks[kind]
    from fastapi.testclient import TestClient

    from control_plane.app import create_app
    from control_plane.bootstrap import create_admin_key

    lake = request.getfixturevalue("tmp_path_factory").mktemp(f"lake-{kind}")
    if kind == "sqlite":
        url = f"sqlite:///{lake / 'control_plane.db'}"
        backend = Backend("sqlite", url, url, lake)
    else:
        pg: PgDatabase = request.getfixturevalue("pg_database")
        backend = Backend("postgres", pg.app_url, pg.admin_url, lake)
    app = create_app(make_settings(backend))
    _offline_agents(app, request)
    client = TestClient(app).__enter__()
    key = create_admin_key("test suite bootstrap", database_url=backend.app_url, run_migrations=False)
    stacks[kind] = Stack(backend, app, client, {"X-API-Key": key})
    return stacks[kind]


def _offline_agents(app: Any, request: pytest.FixtureRequest) -> None:
    """Agents of the test app answer through the Bedrock Runtime emulator over an empty lake (no AWS, no Spark)."""
    import boto3

    from lakehouse.agents.data import MemoryData
    from lakehouse.agents.provider import BedrockConverse
    from sandboxes.bedrock import serve_in_thread

    server = serve_in_thread()
    request.session.config.add_cleanup(server.stop)
    app.state.agent_provider = BedrockConverse(boto3.client("bedrock-runtime", **server.credentials()))
    app.state.agent_data = MemoryData()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, _stacks: dict[str, Stack]) -> Stack:
    """Each API test runs once per backend."""
    return _stack(request.param, request, _stacks)


@pytest.fixture(scope="session")
def pg_stack(request: pytest.FixtureRequest, _stacks: dict[str, Stack]) -> Stack:
    """The PostgreSQL stack alone (for tests of database-level guarantees)."""
    return _stack("postgres", request, _stacks)


@pytest.fixture(scope="session")
def backend(stack: Stack) -> Backend:
    return stack.backend


@pytest.fixture(scope="session")
def app(stack: Stack):
    return stack.app


@pytest.fixture(scope="session")
def client(stack: Stack):
    return stack.client


@pytest.fixture(scope="session")
def admin(stack: Stack) -> dict[str, str]:
    """Headers of a platform_admin API key (created with the bootstrap function)."""
    return stack.admin


def uid() -> str:
    return uuid.uuid4().hex[:8]


@dataclass
class Tree:
    """An enterprise → org → workspace, with one API key per role at each level (headers)."""

    enterprise: str
    org: str
    workspace: str
    keys: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def h(self, level: str, role: str = "tenant_admin") -> dict[str, str]:
        return self.keys[(level, role)]


def reasoned(headers: dict[str, str], reason: str = "test") -> dict[str, str]:
    return {**headers, "X-Audit-Reason": reason}


def create_key(client, headers: dict[str, str], tenant: str, role: str) -> dict[str, str]:
    resp = client.post(
        f"/tenants/{tenant}/api-keys", json={"name": f"{role} key", "role": role}, headers=reasoned(headers)
    )
    assert resp.status_code == 201, resp.text
    return {"X-API-Key": resp.json()["key"]}


def make_tree(
    client,
    admin: dict[str, str],
    *,
    roles: tuple[str, ...] = ("tenant_admin",),
    levels: tuple[str, ...] = ("enterprise", "org", "workspace"),
) -> Tree:
    """Provision a fresh three-level tree and keys for the given roles/levels."""
    suffix = uid()
    tree = Tree(enterprise=f"ent-{suffix}", org=f"org-{suffix}", workspace=f"ws-{suffix}")
    specs = [
        (tree.enterprise, {"kind": "enterprise", "name": "Enterprise"}),
        (tree.org, {"kind": "org", "name": "Org", "parent_id": tree.enterprise}),
        (tree.workspace, {"kind": "workspace", "name": "Workspace", "parent_id": tree.org}),
    ]
    for tenant_id, spec in specs:
        resp = client.put(f"/tenants/{tenant_id}", json=spec, headers=admin)
        assert resp.status_code == 201, resp.text
    ids = {"enterprise": tree.enterprise, "org": tree.org, "workspace": tree.workspace}
    for level in levels:
        for role in roles:
            tree.keys[(level, role)] = create_key(client, admin, ids[level], role)
    return tree


@pytest.fixture
def tree(client, admin) -> Tree:
    return make_tree(client, admin)


@pytest.fixture
def pg_tree(pg_stack: Stack) -> Tree:
    return make_tree(pg_stack.client, pg_stack.admin)
