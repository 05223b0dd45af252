"""The thin entry points: jobs/ scripts (as Glue runs them) and ``lakehouse pipeline run``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from lakehouse import io
from lakehouse.tenancy import TenantScope

from .conftest import bronze_rows, opportunity, utc, write_bronze

ROOT = Path(__file__).resolve().parents[2]


def load_job(name: str):
    """Load a jobs/ script by path, the way Glue and spark-submit run it."""
    spec = importlib.util.spec_from_file_location(f"job_{name}", ROOT / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_jobs_run_silver_then_gold_and_report_a_json_summary(spark, pipeline_lake, capsys):
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            "acme",
            [opportunity("O1", stage="Launched"), opportunity("O2")],
            run_id="b1",
            ingested_at=utc(2025, 1, 1),
        ),
    )
    assert load_job("silver_partner_central").main(["--tenant-id", "acme", "--run-id", "s-1"]) == 0
    assert (
        load_job("gold_ace").main(
            [
                "--JOB_NAME",
                "glue-gold",
                "--tenant_id",
                "acme",
                "--run_id",
                "g-1",
                "--as_of",
                "2025-06-01",
                "--TempDir",
                "s3://ignored",
            ]
        )
        == 0
    )
    summaries = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(s["job"], s["run_id"], s["status"]) for s in summaries] == [
        ("silver_partner_central", "s-1", "written"),
        ("gold_ace", "g-1", "written"),
    ]
    win = io.read(spark, "gold.ace_win_rate", TenantScope.for_tenant("acme")).collect()
    assert [(r.won_count, r.open_count, r.win_rate) for r in win] == [(1, 1, 1.0)]
    assert load_job("silver_partner_central").main(["--tenant-id", "acme"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "nothing_new"


def test_silver_job_exits_3_when_a_fail_expectation_is_violated(spark, pipeline_lake, monkeypatch, tmp_path):
    suites = tmp_path / "quality"  # overrides the packaged suite of silver.opportunity only
    suites.mkdir()
    (suites / "silver.opportunity.yaml").write_text(
        "table: silver.opportunity\nkey_columns: [opportunity_id]\nexpectations:\n"
        "  - {name: no_launched, expectation: expect_column_values_to_not_be_in_set,"
        " kwargs: {column: stage, value_set: [Launched]}, action: fail}\n"
    )
    monkeypatch.setenv("LAKEHOUSE_QUALITY_DIR", str(suites))
    write_bronze(
        spark,
        "opportunity",
        bronze_rows("acme", [opportunity("O1", stage="Launched")], run_id="b1", ingested_at=utc(2025, 1, 1)),
    )
    job = load_job("silver_partner_central")
    with pytest.raises(SystemExit) as exit_info:
        job.run_job(job.main, ["--tenant-id", "acme"])
    assert exit_info.value.code == 3
    assert not io.exists("silver.opportunity")


def test_cli_pipeline_run_until_silver_builds_no_gold(spark, pipeline_lake, capsys):
    from lakehouse.cli import main

    write_bronze(
        spark,
        "opportunity",
        bronze_rows("acme", [opportunity("O1")], run_id="b1", ingested_at=utc(2025, 1, 1)),
    )
    assert main(["pipeline", "run", "--tenant", "acme", "--until", "silver"]) == 0
    out = capsys.readouterr().out
    assert "silver_partner_central written" in out
    assert io.exists("silver.opportunity") and not io.exists("gold.ace_pipeline")
    assert main(["pipeline", "run", "--tenant", "acme", "--as-of", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert "silver_partner_central nothing_new" in out and "gold_ace written" in out
    assert "gold.ace_win_rate · tenant acme" in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["pipeline", "run", "--tenant", "acme", "--until", "diamond"], 2),
        (["pipeline", "run", "--tenant", "../x"], 2),
        (["pipeline", "run", "--tenant", "acme", "--as-of", "June"], 2),
    ],
)
def test_cli_pipeline_run_refuses_bad_input_with_exit_2(pipeline_lake, args, code):
    from lakehouse.cli import main

    assert main(args) == code
