"""Benchmark of the tenant-scoped I/O layer: append and merge of N rows on embedded Sail + Delta.

Prints rows/s per operation and the peak RSS of this process (the embedded Sail server runs in-process, so it
is included). Usage: ``python bench/io_bench.py [--rows 1000000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--merge-fraction", type=float, default=0.1, help="share of merge rows that update")
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="io-bench-")
    os.environ["LAKEHOUSE_LAKE_ROOT"] = root
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType, LongType, StringType, StructField, StructType, TimestampType

    from lakehouse import io
    from lakehouse.catalog import TableDef, register
    from lakehouse.engine import get_spark
    from lakehouse.tenancy import TenantScope

    table = register(
        TableDef(
            layer="silver",
            name="bench_event",
            schema=StructType(
                [
                    StructField("tenant_id", StringType()),
                    StructField("event_id", LongType()),
                    StructField("amount", DecimalType(18, 2)),
                    StructField("stage", StringType()),
                    StructField("updated_at", TimestampType()),
                ]
            ),
            keys=("tenant_id", "event_id"),
            grain="one row per tenant and event",
            classification=dict.fromkeys(("tenant_id", "event_id", "amount", "stage", "updated_at"), "internal"),
        )
    )
    spark = get_spark()
    scope = TenantScope.for_tenant("bench")
    n = args.rows

    def frame(start: int, count: int, stage: str):
        return spark.range(start, start + count).select(
            F.lit("bench").alias("tenant_id"),
            F.col("id").alias("event_id"),
            (F.col("id") % 100000 / 100).cast("decimal(18,2)").alias("amount"),
            F.lit(stage).alias("stage"),
            F.current_timestamp().alias("updated_at"),
        )

    results = []
    t = time.perf_counter()
    io.append(spark, table, frame(0, n, "Prospect"), scope, batch_id="bench-append")
    results.append(("append", n, time.perf_counter() - t))

    t = time.perf_counter()
    skipped = io.append(spark, table, frame(0, n, "Prospect"), scope, batch_id="bench-append").skipped
    results.append(
        ("append retry (skipped)" if skipped else "append retry (NOT skipped)", n, time.perf_counter() - t)
    )

    updates = int(n * args.merge_fraction)
    merge_rows = n  # half update existing keys, half new: a 1M-row merge batch
    start = n - updates
    t = time.perf_counter()
    io.merge(spark, table, frame(start, merge_rows, "Qualified"), scope)
    results.append(
        (
            f"merge ({updates:,} updates + {merge_rows - updates:,} inserts)",
            merge_rows,
            time.perf_counter() - t,
        )
    )

    total = io.read(spark, table, scope).count()
    assert total == start + merge_rows, total
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"engine: Sail (pysail) + Delta, lake: local disk"
    )
    print(f"{'operation':<48} {'rows':>10} {'seconds':>8} {'rows/s':>12}")
    for name, rows, secs in results:
        print(f"{name:<48} {rows:>10,} {secs:>8.2f} {rows / secs:>12,.0f}")
    print(f"peak RSS (this process, incl. embedded Sail): {peak_rss_mb():,.0f} MB")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
