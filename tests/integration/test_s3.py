"""The lake on S3: the I/O layer with s3:// paths against a moto server in a separate process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

ROOT = Path(__file__).resolve().parents[2]
CREDS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_s3():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto server did not start within 30 s")
    yield url
    proc.terminate()
    proc.wait(10)


def test_the_io_layer_works_on_s3_paths(moto_s3, tmp_path):
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="lake-test")
    env = {
        **os.environ,
        **CREDS,
        "AWS_ENDPOINT_URL": moto_s3,
        "AWS_ALLOW_HTTP": "true",
        "LAKEHOUSE_LAKE_ROOT": "s3://lake-test/tenants-lake",
        "PYTHONPATH": str(ROOT),
        "RUST_LOG": "error",
    }

    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.s3_worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["path"] == "s3://lake-test/tenants-lake/silver/it_event"
    assert out["retry_skipped"] is True
    assert "'globex': 1 row" in out["violation"]
    assert out["acme"] == [[1, "1.00", "a"], [2, "20.00", "b2"], [3, "3.00", "c"]]
    assert out["globex"] == [[5, "5.00", "g5"]]
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="lake-test", Prefix="tenants-lake/silver/it_event/")["Contents"]
    ]
    assert any(k.startswith("tenants-lake/silver/it_event/tenant_id=acme/") for k in keys)
    assert any(k.startswith("tenants-lake/silver/it_event/_delta_log/") for k in keys)
    assert out["operations"][0] == "WRITE" and len(out["operations"]) == out["version"] + 1
