"""A separate process that merges rows into the shared test table (used by test_concurrency.py)."""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    start_at, tenant, first, count, rounds = (
        float(sys.argv[1]),
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]),
        int(sys.argv[5]),
    )
    import logging
    from decimal import Decimal

    from lakehouse import io
    from lakehouse.engine import get_spark
    from lakehouse.tenancy import TenantScope
    from tests.integration.shared_tables import EVENTS

    conflicts: list[str] = []

    class _Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "commit conflict" in record.getMessage():
                conflicts.append(record.getMessage())

    logging.getLogger("lakehouse.io").addHandler(_Count())
    logging.getLogger("lakehouse.io").setLevel(logging.INFO)
    spark = get_spark()
    spark.range(1).collect()  # warm up before the synchronized start
    time.sleep(max(0.0, start_at - time.time()))
    results = []
    for r in range(rounds):
        ids = range(first + r * count, first + (r + 1) * count)
        df = spark.createDataFrame([(tenant, i, Decimal(i), f"w{first}") for i in ids], EVENTS.schema)
        results.append(io.merge(spark, EVENTS, df, TenantScope.for_tenant(tenant)).version)
    print(json.dumps({"versions": results, "conflicts_retried": len(conflicts)}))


if __name__ == "__main__":
    main()
