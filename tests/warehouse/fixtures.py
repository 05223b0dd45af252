"""Warehouse fixtures (a plugin of tests/conftest.py, so control-plane tests share the one session database):
PostgreSQL behind a pgbouncer this session starts, a throwaway database, gold marts.

PostgreSQL is found or started by ``pg_admin_url`` (tests/control_plane/conftest.py); pgbouncer is started by
``scripts/local_warehouse.sh`` on a free port. With ``CI=true`` a missing piece fails the run, never skips.
Roles are cluster-wide, so every tenant id and role carries this session's token and is dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.control_plane.conftest import _in_ci, _pg_connect, _with_db, pg_admin_url  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local_warehouse.sh"
TOKEN = uuid.uuid4().hex[:8]
PASSWORD = "wh-test-" + uuid.uuid4().hex


def tenant(name: str) -> str:
    """A tenant id unique to this test session (its role is dropped at the end)."""
    return f"wt{TOKEN}-{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pgbouncer_port(pg_admin_url: str) -> Iterator[int]:  # noqa: F811
    """A pgbouncer in front of the test PostgreSQL, for redshift_connector."""
    # not under pytest's tmp dir: pgbouncer runs as the postgres user when we are root and must reach it
    workdir = Path(tempfile.mkdtemp(prefix="lakehouse-pgbouncer-"))
    os.chmod(workdir, 0o755)
    port = _free_port()
    subprocess.run(["bash", str(SCRIPT), "install"], check=False, capture_output=True, timeout=600)
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", "--port", str(port), "--dir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if started.returncode != 0:
        message = f"could not start pgbouncer: {started.stderr.strip()}"
        if _in_ci():
            pytest.fail(message + " (CI=true: warehouse tests must run)")
        pytest.skip(message)
    try:
        yield port
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", "--dir", str(workdir)], check=False, timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class WarehouseDb:
    """A throwaway database: the loader's URL through pgbouncer, and a superuser URL for inspection."""

    name: str
    port: int
    loader_url: str
    admin_url: str

    def url_for(self, user: str) -> str:
        return f"postgresql://{user}:{PASSWORD}@127.0.0.1:{self.port}/{self.name}?sslmode=disable"

    def login_as_tenant(self, tenant_id: str) -> str:
        """A LOGIN user that is a member of the tenant's role (md5 password, as pgbouncer checks it)."""
        from lakehouse.warehouse.model import Isolation

        user = f"u_{tenant_id}".replace("-", "_")
        with _pg_connect(self.admin_url) as conn:
            conn.execute("SET password_encryption = 'md5'")
            conn.execute(f"DROP ROLE IF EXISTS {user}")
            role = Isolation(tenant_id, "schema").role
            conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{PASSWORD}' IN ROLE \"{role}\"")
        return self.url_for(user)


@pytest.fixture(scope="session")
def warehouse_db(pg_admin_url: str, pgbouncer_port: int) -> Iterator[WarehouseDb]:  # noqa: F811
    """A fresh database with a non-superuser loader role (CREATEROLE, CREATE on the database)."""
    name = f"wh_test_{TOKEN}"
    loader = f"wt{TOKEN}_loader"
    with _pg_connect(pg_admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute("SET password_encryption = 'md5'")
        conn.execute(f"CREATE ROLE {loader} LOGIN CREATEROLE PASSWORD '{PASSWORD}'")
        conn.execute(f'GRANT CREATE, CONNECT ON DATABASE "{name}" TO {loader}')
    db = WarehouseDb(
        name=name,
        port=pgbouncer_port,
        loader_url=f"postgresql://{loader}:{PASSWORD}@127.0.0.1:{pgbouncer_port}/{name}?sslmode=disable",
        admin_url=_with_db(pg_admin_url, name),
    )
    try:
        yield db
    finally:
        with _pg_connect(pg_admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            roles = [
                r[0]
                for r in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname LIKE %s OR rolname LIKE %s ORDER BY rolname DESC",
                    (f"%wt{TOKEN}%", f"u_wt{TOKEN}%"),
                ).fetchall()
            ]
            for role in roles:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


# ------------------------------------------------------------------------------------------- lake marts


def pipeline_rows(tenant_id: str, n: int, spend: str = "10.00") -> list[dict[str, Any]]:
    """``n`` rows of gold.ace_pipeline for one tenant."""
    from decimal import Decimal

    return [
        {
            "tenant_id": tenant_id,
            "stage": f"stage-{i}",
            "target_close_month": f"2026-{(i % 12) + 1:02d}",
            "opportunity_count": i + 1,
            "expected_monthly_spend_usd": Decimal(spend) * (i + 1),
        }
        for i in range(n)
    ]


def write_mart(table: str, rows: list[dict[str, Any]], *, mode: str = "overwrite") -> int:
    """Write rows into a gold mart as the gold step lays it out (Delta, partitioned by tenant_id); the version.

    ``overwrite`` replaces only the rows' tenant partitions (as io.overwrite_partition does)."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake
    from pyspark.sql.pandas.types import to_arrow_schema

    from lakehouse import catalog

    td = catalog.get(table)
    schema = to_arrow_schema(td.schema)
    data = pa.Table.from_pylist(rows, schema=schema)
    tenants = sorted({r["tenant_id"] for r in rows})
    path = td.path()
    exists = DeltaTable.is_deltatable(path)
    if mode == "overwrite" and exists:
        predicate = " OR ".join(f"tenant_id = '{t}'" for t in tenants)
        write_deltalake(path, data, mode="overwrite", predicate=predicate, partition_by=["tenant_id"])
    else:
        write_deltalake(path, data, mode="append", partition_by=["tenant_id"])
    return int(DeltaTable(path).version())
