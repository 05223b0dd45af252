"""`lakehouse metering run`, `lakehouse marketplace package|register|sync` and jobs/metering_hourly.py."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.marketplace.store import MeterStore
from sandboxes.marketplace import PLATFORM_SELLER, SandboxState, seed_demo, serve_in_thread

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live(monkeypatch, lake):
    """A sandbox on the real clock, with the platform seller's keys in the environment."""
    state = SandboxState()
    world = seed_demo(state)
    sandbox = serve_in_thread(state)
    creds = sandbox.credentials(PLATFORM_SELLER)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield sandbox, world
    finally:
        sandbox.stop()


def _usage_file(path: Path, tenant: str, hours_ago: int, count: int = 1) -> Path:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    lines = [
        json.dumps(
            {
                "tenant_id": tenant,
                "workspace_id": "ws-1",
                "dimension": "api_calls",
                "usage_at": (hour - timedelta(hours=hours_ago + h)).isoformat(),
                "quantity": "5",
                "run_id": f"r{h}",
            }
        )
        for h in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_register_then_metering_run_bills_and_builds_gold(live, lake, tmp_path, spark, capsys):
    sandbox, world = live
    buyers = f"file:{tmp_path / 'buyers.json'}"
    assert (
        main(
            [
                "marketplace",
                "register",
                "--tenant",
                "acme",
                "--token",
                world.buyers["acme"]["registration_token"],
                "--buyers",
                buyers,
                "--endpoint-url",
                sandbox.url,
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["customer_aws_account_id"] == "210000000001"
    usage = f"file:{_usage_file(tmp_path / 'usage.jsonl', 'acme', 2, count=3)}"
    args = [
        "metering",
        "run",
        "--tenant",
        "acme",
        "--usage-source",
        usage,
        "--buyers",
        buyers,
        "--endpoint-url",
        sandbox.url,
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 new, 3 sent" in out and "gold.marketplace_usage" in out
    assert sandbox.count("BatchMeterUsage") == 1
    assert main(args) == 0
    assert "[nothing_to_do]" in capsys.readouterr().out
    assert sandbox.count("BatchMeterUsage") == 1
    assert main(["table", "show", "gold.marketplace_usage", "--tenant", "acme", "--format", "json"]) == 0
    gold = json.loads(capsys.readouterr().out)
    assert sum(float(r["quantity_sent"]) for r in gold) == 15.0
    assert {r["estimated_revenue"] for r in gold} <= {"0.030000", "0.020000", "0.010000"}


def test_metering_run_refuses_a_bad_hour_with_exit_2(live, capsys):
    assert main(["metering", "run", "--tenant", "acme", "--hour", "yesterday-ish"]) == 2
    assert "--hour 'yesterday-ish' is not an ISO-8601 hour" in capsys.readouterr().err


def test_the_hourly_job_meters_one_hour(live, lake, tmp_path, spark):
    sandbox, world = live
    b = world.buyers["globex"]
    (tmp_path / "buyers.json").write_text(
        json.dumps(
            [
                {
                    "tenant_id": "globex",
                    "product_code": b["product_code"],
                    "customer_aws_account_id": "210000000002",
                    "license_arn": b["license_arn"],
                    "customer_identifier": None,
                    "agreement_id": b["agreement_id"],
                    "currency_code": "USD",
                    "rate_card": {},
                    "linked_at": None,
                }
            ]
        )
    )
    usage = _usage_file(tmp_path / "usage.jsonl", "globex", 3, count=2)
    hour = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:00Z")
    spec = importlib.util.spec_from_file_location("metering_hourly", ROOT / "jobs" / "metering_hourly.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    assert (
        job.main(
            [
                "--tenant-id",
                "globex",
                "--run-id",
                "job-1",
                "--hour",
                hour,
                "--usage-source",
                f"file:{usage}",
                "--buyers",
                f"file:{tmp_path / 'buyers.json'}",
                "--endpoint-url",
                sandbox.url,
            ]
        )
        == 0
    )
    (row,) = MeterStore(spark, "globex").rows()  # only the requested hour
    assert (row["state"], row["metering_run_id"], row["usage_hour"].strftime("%Y-%m-%dT%H:00Z")) == (
        "sent",
        "job-1",
        hour,
    )


def test_package_writes_the_change_set_and_validates_it(live, tmp_path, capsys):
    sandbox, _ = live
    out = tmp_path / "listing.json"
    assert main(["marketplace", "package", "--out", str(out), "--endpoint-url", sandbox.url]) == 0
    packaged = json.loads(out.read_text())
    assert len(packaged["changes"]) == 10 and packaged["action"] == "marketplace.change_set.apply"
    assert "VALIDATE" in capsys.readouterr().err and sandbox.count("StartChangeSet") == 1
    plans = tmp_path / "plans.json"
    plans.write_text(
        json.dumps(
            [
                {
                    "id": "pro",
                    "name": "Pro",
                    "metered_dimensions": [
                        {"key": "bad key", "name": "Bad", "unit": "Units", "price_usd": "1"}
                    ],
                }
            ]
        )
    )
    assert main(["marketplace", "package", "--plans", str(plans), "--endpoint-url", sandbox.url]) == 2
    err = capsys.readouterr().err
    assert "INVALID_DIMENSION_KEY" in err and "FAILED" in err
