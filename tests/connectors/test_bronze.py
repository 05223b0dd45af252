"""Partner Central into bronze on Spark: exactly-once landing, resumable watermark, file ingest, CLI and job."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lakehouse.errors import BadInput
from lakehouse.partner_central.connector import PartnerCentralSync
from lakehouse.partner_central.ingest import (
    BronzeSink,
    handle_partner_central_event,
    ingest_file,
    read_bronze,
    sync_partner_central,
)
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope
from sandboxes.partner_central import Faults, serve_in_thread

from .conftest import SIZES, reader_for, seeded_state

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "sandboxes" / "partner_central" / "fixtures" / "get_opportunity_response.json"
SAMPLE = ROOT / "tests" / "fixtures" / "partner_central" / "get_opportunity_response.json"
ACME = TenantScope.for_tenant("acme")


def versions(spark, scope=ACME, entity="opportunity") -> list[tuple]:
    """Bronze content that must match across runs (run ids and ingestion times legitimately differ)."""
    rows = (
        read_bronze(spark, scope, entity)
        .select(
            "tenant_id",
            "catalog",
            "entity_id",
            F.unix_micros("last_modified_at").alias("lmd"),
            "payload_sha256",
            "payload",
        )
        .collect()
    )
    return sorted(tuple(r) for r in rows)


def served(server, tenant="acme", catalog="Sandbox") -> list[tuple[str, str]]:
    return sorted(
        (i, server.state.opportunity_body(tenant, catalog, i).decode())
        for i in server.state.opportunity_ids(tenant, catalog)
    )


def use_lake(monkeypatch, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(path))
    get_settings.cache_clear()


def test_first_second_and_third_sync_into_bronze(spark, lake, sandbox):
    first = sync_partner_central(spark, ACME, reader_for(sandbox, "acme"), catalog="Sandbox")
    assert (first.status, first.landed, first.duplicates) == ("succeeded", SIZES["acme"] + 3 + 5, 0)
    assert [(r[2], r[5]) for r in versions(spark)] == served(sandbox)
    assert first.watermark_after is not None and first.watermark_before is None

    sandbox.reset_counters()
    second = sync_partner_central(spark, ACME, reader_for(sandbox, "acme"), catalog="Sandbox")
    assert (second.landed, second.details["entities"]["opportunity"]["fetched"]) == (0, 0)
    assert sandbox.calls("GetOpportunity") == 0 and len(versions(spark)) == SIZES["acme"]
    assert second.watermark_before == first.watermark_after

    changed = sandbox.state.touch_opportunities("acme", "Sandbox", count=3)
    sandbox.reset_counters()
    third = sync_partner_central(spark, ACME, reader_for(sandbox, "acme"), catalog="Sandbox")
    opp = third.details["entities"]["opportunity"]
    assert (opp["fetched"], opp["landed"], third.landed) == (3, 3, 3)
    assert sandbox.calls("GetOpportunity") == 3
    assert sandbox.calls("ListOpportunities") <= -(-opp["listed"] // 100) + 1
    newest = read_bronze(spark, ACME).where(F.col("ingestion_run_id") == third.ingestion_run_id)
    assert sorted((r.entity_id, r.payload) for r in newest.collect()) == sorted(
        (i, sandbox.state.opportunity_body("acme", "Sandbox", i).decode()) for i in changed
    )
    assert len(versions(spark)) == SIZES["acme"] + 3
    runs = spark.read.format("delta").load(str(lake / "ops" / "ingestion_run")).where("tenant_id = 'acme'")
    assert sorted(r.landed for r in runs.collect()) == [0, 3, SIZES["acme"] + 8]
    assert sandbox.calls(kind="invalid") == 0


def test_thirty_percent_throttled_sync_lands_every_record_exactly_once(spark, lake, sandbox):
    sandbox.set_faults(Faults(throttle_rate=0.3, seed=21))
    run = sync_partner_central(spark, ACME, reader_for(sandbox, "acme"), catalog="Sandbox", land_batch=16)
    assert run.status == "succeeded" and run.details["throttled"] == sandbox.calls(kind="throttled") > 10
    got = versions(spark)
    assert len(got) == len({(r[2], r[4]) for r in got}) == SIZES["acme"]
    assert [(r[2], r[5]) for r in got] == served(sandbox)


def test_the_fixture_response_lands_in_bronze_byte_for_byte(spark, lake, sandbox):
    run = sync_partner_central(
        spark, ACME, reader_for(sandbox, "acme"), catalog="AWS", entities=("opportunity",)
    )
    assert run.status == "succeeded"
    row = read_bronze(spark, ACME).where(F.col("entity_id") == "O1111111").collect()
    expected = SAMPLE.read_bytes()
    assert len(row) == 1 and row[0].payload.encode("utf-8") == expected
    assert row[0].payload_sha256 == hashlib.sha256(expected).hexdigest()
    assert row[0].catalog == "AWS"


def test_killed_midway_then_rerun_ends_identical_to_an_uninterrupted_sync(spark, lake, tmp_path, monkeypatch):
    server = serve_in_thread(seeded_state(), faults=Faults(latency_ms=40, operations=["GetOpportunity"]))
    try:
        account = server.state.tenants["acme"]
        env = {
            **os.environ,
            "LAKEHOUSE_LAKE_ROOT": str(lake),
            "AWS_ACCESS_KEY_ID": account.access_key_id,
            "AWS_SECRET_ACCESS_KEY": account.secret_access_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "RUST_LOG": "error",
        }
        env.pop("AWS_PROFILE", None)
        job = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "jobs" / "ingest_partner_central.py"),
                "--tenant-id",
                "acme",
                "--endpoint-url",
                server.url,
                "--rate-limit",
                "off",
                "--land-batch",
                "8",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        log_dir = lake / "bronze" / "partner_central_opportunity" / "_delta_log"
        deadline = time.monotonic() + 120  # a safety net, not a timing assertion
        while len(list(log_dir.glob("*.json"))) < 2:  # two batches have committed: kill it now
            assert job.poll() is None, (
                f"the job finished before it could be killed: {job.stderr.read()[-2000:]!r}"
            )
            assert time.monotonic() < deadline, "the job never landed two batches"
            time.sleep(0.005)
        os.kill(job.pid, signal.SIGKILL)
        job.wait()
        job.stderr.close()
        assert job.returncode == -signal.SIGKILL
        interrupted = versions(spark)
        assert 0 < len(interrupted) < SIZES["acme"]  # it really died midway

        server.set_faults(Faults())
        rerun = sync_partner_central(spark, ACME, reader_for(server, "acme"), catalog="Sandbox", land_batch=8)
        assert rerun.status == "succeeded"
        after_rerun = versions(spark)

        use_lake(monkeypatch, tmp_path / "uninterrupted")
        sync_partner_central(spark, ACME, reader_for(server, "acme"), catalog="Sandbox")
        assert after_rerun == versions(spark)
        assert len(after_rerun) == SIZES["acme"]
    finally:
        server.stop()


class _Crash(Exception):
    """Stands for the process dying."""


class _CrashBeforeSecondWatermark(BronzeSink):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.advances = 0

    def advance_watermark(self, catalog, entity, watermark_us) -> None:
        self.advances += 1
        if self.advances >= 2:
            raise _Crash("killed between the bronze commit and the watermark commit")
        super().advance_watermark(catalog, entity, watermark_us)


def test_a_crash_between_landing_and_watermark_resumes_without_gaps_or_duplicates(spark, lake, sandbox):
    sink = _CrashBeforeSecondWatermark(spark, ACME, "run-crashed")
    with pytest.raises(_Crash):
        PartnerCentralSync(
            reader_for(sandbox, "acme", workers=1),
            sink,
            catalog="Sandbox",
            land_batch=20,
            entities=("opportunity",),
        ).run()
    assert len(versions(spark)) == 40  # two batches landed, only the first one's watermark was recorded
    assert sink.watermark("Sandbox", "opportunity") is not None
    sandbox.reset_counters()
    rerun = sync_partner_central(
        spark, ACME, reader_for(sandbox, "acme"), catalog="Sandbox", entities=("opportunity",)
    )
    assert (rerun.status, rerun.landed, rerun.duplicates) == ("succeeded", SIZES["acme"] - 40, 0)
    assert sandbox.calls("GetOpportunity") == SIZES["acme"] - 40  # landed versions are not fetched again
    assert [(r[2], r[5]) for r in versions(spark)] == served(sandbox)


def test_the_daily_call_budget_rolls_over_runs_and_stops_cleanly(spark, lake, sandbox):
    only = ("opportunity",)
    first = sync_partner_central(
        spark, ACME, reader_for(sandbox, "acme"), daily_call_budget=30, entities=only
    )
    assert (first.status, first.api_calls, sandbox.calls()) == ("partial", 30, 30)
    assert first.watermark_after is not None
    second = sync_partner_central(
        spark, ACME, reader_for(sandbox, "acme"), daily_call_budget=30, entities=only
    )
    assert (second.status, second.api_calls, sandbox.calls()) == (
        "partial",
        0,
        30,
    )  # the day's budget is spent
    third = sync_partner_central(
        spark, ACME, reader_for(sandbox, "acme"), daily_call_budget=1000, entities=only
    )
    assert third.status == "succeeded"
    assert [(r[2], r[5]) for r in versions(spark)] == served(sandbox)
    assert sandbox.calls("GetOpportunity") == SIZES["acme"]  # each opportunity fetched once across the runs


def test_events_land_the_named_opportunity_once(spark, lake, sandbox):
    target = sandbox.state.opportunity_ids("acme", "Sandbox")[3]
    event = {
        "id": "ev-1",
        "source": "aws.partnercentral-selling",
        "detail-type": "Opportunity Created",
        "detail": {"catalog": "Sandbox", "opportunity": {"identifier": target}},
    }
    assert handle_partner_central_event(spark, ACME, event, reader_for(sandbox, "acme")).action == "landed"
    assert handle_partner_central_event(spark, ACME, event, reader_for(sandbox, "acme")).action == "duplicate"
    assert [r[2] for r in versions(spark)] == [target]


def test_file_ingest_lands_objects_and_rejects_other_lines_with_their_numbers(spark, lake, sandbox, tmp_path):
    ids = sandbox.state.opportunity_ids("acme", "Sandbox")[:2]
    bodies = [sandbox.state.opportunity_body("acme", "Sandbox", i).decode() for i in ids]
    path = tmp_path / "export.jsonl"
    path.write_text(
        "\n".join([bodies[0], "not json", "[1, 2]", "", '"text"', bodies[1], '{"Id": "x"}']) + "\n"
    )
    run = ingest_file(spark, ACME, path)
    assert (run.landed, run.rejected, run.duplicates) == (2, 4, 0)
    assert sorted((r[2], r[5]) for r in versions(spark)) == sorted(zip(ids, bodies, strict=False))
    rejected = spark.read.format("delta").load(str(lake / "bronze" / "partner_central_opportunity_rejected"))
    got = sorted((r.line_number, r.raw_text, r.reason.split(":")[0]) for r in rejected.collect())
    assert got == [
        (2, "not json", "invalid JSON"),
        (3, "[1, 2]", "not a JSON object (a JSON list)"),
        (5, '"text"', "not a JSON object (a JSON str)"),
        (7, '{"Id": "x"}', "not a GetOpportunity object"),
    ]
    again = ingest_file(spark, ACME, path)
    assert (again.landed, again.duplicates, again.rejected) == (0, 2, 4)
    assert rejected.count() == 4 and len(versions(spark)) == 2


def test_a_json_array_file_keeps_each_element_exactly_and_dedups_against_api_payloads(
    spark, lake, sandbox, tmp_path
):
    sync_partner_central(spark, ACME, reader_for(sandbox, "acme"), catalog="AWS", entities=("opportunity",))
    before = versions(spark)
    fixture = FIXTURE.read_text()
    path = tmp_path / "export.json"
    path.write_text("[" + fixture + ",\n  42\n]\n")
    run = ingest_file(spark, ACME, path)
    assert (run.landed, run.duplicates, run.rejected) == (0, 1, 1)  # the same bytes the API served
    assert versions(spark) == before
    rejected = spark.read.format("delta").load(str(lake / "bronze" / "partner_central_opportunity_rejected"))
    assert [(r.line_number, r.raw_text) for r in rejected.collect()] == [(fixture.count("\n") + 2, "42")]


def test_cli_ingest_commands(spark, lake, sandbox, tmp_path, monkeypatch, capsys):
    from lakehouse.cli import main

    account = sandbox.state.tenants["globex"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", account.secret_access_key)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    code = main(
        ["ingest", "partner-central", "--tenant", "globex", "--endpoint-url", sandbox.url, "--no-rate-limit"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "succeeded" in out
    assert len(versions(spark, TenantScope.for_tenant("globex"))) == SIZES["globex"]
    path = tmp_path / "bad.jsonl"
    path.write_text("nope\n")
    assert (
        main(
            [
                "ingest",
                "file",
                "--tenant",
                "globex",
                "--source",
                "partner-central",
                "--entity",
                "opportunity",
                str(path),
            ]
        )
        == 0
    )
    assert "1 rejected" in " ".join(capsys.readouterr().out.split())
    assert main(["ingest", "partner-central", "--tenant", "Not A Tenant"]) == 2
    assert main(["ingest", "file", "--tenant", "globex", str(tmp_path / "missing.jsonl")]) == 2


def test_job_accepts_cli_and_glue_style_arguments():
    spec = importlib.util.spec_from_file_location(
        "ingest_partner_central", ROOT / "jobs" / "ingest_partner_central.py"
    )
    job = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = job  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(job)
    glue_ctx = job.parse_job_args(
        [
            "--JOB_NAME",
            "pc-ingest",
            "--tenant_id",
            "acme",
            "--TempDir",
            "s3://tmp/",
            "--catalog",
            "AWS",
            "--since",
            "2025-01-31T00:00:00Z",
        ],
        extra=job.EXTRA,
    )
    glue = job.options(glue_ctx)
    assert (glue_ctx.tenant_id, glue_ctx.job_name, glue.catalog, glue.since.isoformat()) == (
        "acme",
        "pc-ingest",
        "AWS",
        "2025-01-31T00:00:00+00:00",
    )
    cli_ctx = job.parse_job_args(
        ["--tenant-id", "globex", "--run-id", "r-1", "--rate-limit", "off"], extra=job.EXTRA
    )
    cli = job.options(cli_ctx)
    assert (cli_ctx.tenant_id, cli_ctx.run_id, cli.rate_limit, cli.catalog) == (
        "globex",
        "r-1",
        False,
        "Sandbox",
    )
    with pytest.raises(BadInput, match="missing --tenant-id"):
        job.parse_job_args(["--catalog", "AWS"], extra=job.EXTRA)
    with pytest.raises(BadInput, match="--catalog must be AWS or Sandbox"):
        job.options(job.parse_job_args(["--tenant-id", "acme", "--catalog", "Prod"], extra=job.EXTRA))
    with pytest.raises(BadInput, match="--daily-budget must be a whole number"):
        job.options(job.parse_job_args(["--tenant-id", "acme", "--daily-budget", "lots"], extra=job.EXTRA))
