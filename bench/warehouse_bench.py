"""Benchmark of the warehouse sync: first load, no-op re-sync and a changed-version reload of one tenant's mart.

Loads N rows of gold.ace_pipeline for one tenant into the local PostgreSQL through redshift_connector behind
pgbouncer (started here on a free port with scripts/local_warehouse.sh, stopped at the end), in a throwaway
database with a non-superuser loader role. Usage: ``python bench/warehouse_bench.py [--rows 50000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    import psycopg
    import pyarrow as pa
    from deltalake import write_deltalake
    from pyspark.sql.pandas.types import to_arrow_schema

    lake = tempfile.mkdtemp(prefix="wh-bench-lake-")
    os.environ["LAKEHOUSE_LAKE_ROOT"] = lake
    from lakehouse import catalog
    from lakehouse.warehouse.model import Isolation, served_tables
    from lakehouse.warehouse.sync import open_warehouse

    token = uuid.uuid4().hex[:8]
    db, loader, password = f"wh_bench_{token}", f"wh_bench_{token}_loader", uuid.uuid4().hex
    tenant = f"bench{token}"
    workdir = Path(tempfile.mkdtemp(prefix="wh-bench-pgbouncer-"))
    os.chmod(workdir, 0o755)
    port = _free_port()
    script = str(REPO / "scripts" / "local_warehouse.sh")
    subprocess.run(["bash", script, "start", "--port", str(port), "--dir", str(workdir)], check=True)
    admin = psycopg.connect(args.admin_url, autocommit=True)
    try:
        admin.execute(f'CREATE DATABASE "{db}"')
        admin.execute("SET password_encryption = 'md5'")
        admin.execute(f"CREATE ROLE {loader} LOGIN CREATEROLE PASSWORD '{password}'")
        admin.execute(f'GRANT CREATE, CONNECT ON DATABASE "{db}" TO {loader}')
        url = f"postgresql://{loader}:{password}@127.0.0.1:{port}/{db}?sslmode=disable"

        td = catalog.get("gold.ace_pipeline")

        def write(spend: str) -> None:
            rows = [
                {
                    "tenant_id": tenant,
                    "stage": f"stage-{i % 7}",
                    "target_close_month": f"m-{i}",
                    "opportunity_count": i,
                    "expected_monthly_spend_usd": Decimal(spend),
                }
                for i in range(args.rows)
            ]
            data = pa.Table.from_pylist(rows, schema=to_arrow_schema(td.schema))
            write_deltalake(td.path(), data, mode="overwrite", partition_by=["tenant_id"])

        iso, tables = Isolation.of(tenant, "pooled"), served_tables(("gold.ace_pipeline",))
        results = []
        for label, spend in (
            ("first sync", "1.00"),
            ("re-sync, no new version", None),
            ("new version", "2.00"),
        ):
            if spend is not None:
                write(spend)
            with open_warehouse(url) as wh:
                started = time.perf_counter()
                result = wh.sync(iso, tables)
                seconds = time.perf_counter() - started
            rows = sum(t.rows for t in result.tables if t.action == "loaded")
            results.append((label, result.tables[0].action, rows, seconds))

        print(f"warehouse sync, {args.rows:,} rows of gold.ace_pipeline, one pooled (RLS) tenant")
        print(f"{'step':<26} {'action':<10} {'rows':>10} {'seconds':>8} {'rows/s':>10}")
        for label, action, rows, seconds in results:
            rate = f"{rows / seconds:,.0f}" if rows else "-"
            print(f"{label:<26} {action:<10} {rows:>10,} {seconds:>8.2f} {rate:>10}")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (f"t_{tenant}", loader):
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()
        subprocess.run(["bash", script, "stop", "--dir", str(workdir)], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(lake, ignore_errors=True)


if __name__ == "__main__":
    main()
