"""Runs the I/O layer against s3:// paths (a separate process: Sail reads the S3 endpoint from its environment)."""

from __future__ import annotations

import json
from decimal import Decimal


def main() -> None:
    from lakehouse import io
    from lakehouse.engine import get_spark
    from lakehouse.tenancy import TenantScope, TenantViolation
    from tests.integration.shared_tables import EVENTS

    spark = get_spark()
    a, b = TenantScope.for_tenant("acme"), TenantScope.for_tenant("globex")

    def frame(*rows):
        return spark.createDataFrame([(t, i, Decimal(x), n) for t, i, x, n in rows], EVENTS.schema)

    out: dict = {"path": EVENTS.path()}
    io.append(spark, EVENTS, frame(("acme", 1, "1", "a"), ("acme", 2, "2", "b")), a, batch_id="b1")
    io.append(spark, EVENTS, frame(("globex", 1, "9", "g")), b)
    out["retry_skipped"] = io.append(
        spark, EVENTS, frame(("acme", 1, "1", "a"), ("acme", 2, "2", "b")), a, batch_id="b1"
    ).skipped
    io.merge(spark, EVENTS, frame(("acme", 2, "20", "b2"), ("acme", 3, "3", "c")), a)
    io.overwrite_partition(spark, EVENTS, frame(("globex", 5, "5", "g5")), b)
    try:
        io.append(spark, EVENTS, frame(("acme", 9, "9", "x"), ("globex", 9, "9", "y")), a)
        out["violation"] = None
    except TenantViolation as exc:
        out["violation"] = str(exc)
    out["acme"] = sorted([r.event_id, str(r.amount), r.note] for r in io.read(spark, EVENTS, a).collect())
    out["globex"] = sorted([r.event_id, str(r.amount), r.note] for r in io.read(spark, EVENTS, b).collect())
    out["version"] = io.table_version(EVENTS)
    out["operations"] = [h["operation"] for h in io.history(EVENTS)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
