"""Pure transforms give identical results on Sail and on classic JVM Spark 3.5.6 (the Glue runtime).

Runs in its own pytest process (`-m classic`): a classic and a Spark Connect session cannot share one process,
so the Sail side runs in a subprocess and reports its results as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.classic.cases import CASES, result

pytestmark = pytest.mark.classic
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classic_spark():
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("conformance")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def sail_results():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUST_LOG": "error", "LAKEHOUSE_ENGINE": "sail"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.classic.sail_runner"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_gives_identical_results_on_sail_and_classic_spark(classic_spark, sail_results, name):
    classic = result(CASES[name](classic_spark))
    sail = sail_results[name]

    assert classic["rows"], f"{name} produced no rows: the comparison would prove nothing"
    assert classic["schema"] == [tuple(c) for c in sail["schema"]]
    assert classic["rows"] == sail["rows"]
