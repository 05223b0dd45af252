"""Two processes, each with its own embedded Sail server, merging into one Delta table at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse import io
from lakehouse.tenancy import TenantScope
from tests.integration.shared_tables import EVENTS

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_merging_into_one_table_at_the_same_time_both_land(spark, lake):
    from decimal import Decimal

    seed = spark.createDataFrame([("acme", 0, Decimal(0), "seed")], EVENTS.schema)
    io.append(spark, EVENTS, seed, TenantScope.for_tenant("acme"))
    env = {**os.environ, "LAKEHOUSE_LAKE_ROOT": str(lake), "PYTHONPATH": str(ROOT), "RUST_LOG": "error"}
    start_at = time.time() + 6
    rounds, count = 4, 25
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.merge_worker",
                str(start_at),
                "acme",
                str(first),
                str(count),
                str(rounds),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in (1000, 2000)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (_out, errs) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, errs[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    versions = [v for r in reports for v in r["versions"]]
    print("commit conflicts retried:", [r["conflicts_retried"] for r in reports])

    got = sorted(r.event_id for r in io.read(spark, EVENTS, TenantScope.for_tenant("acme")).collect())
    expected = [0] + [first + i for first in (1000, 2000) for i in range(rounds * count)]
    assert got == sorted(expected)
    assert len(set(versions)) == len(versions) == 2 * rounds  # every merge made its own commit
