"""Job entry-point plumbing: CLI- and Glue-style arguments, settings arguments, exit codes."""

from __future__ import annotations

import dataclasses
import os

import pytest

from lakehouse.errors import BadInput, QualityGateFailed
from lakehouse.jobs_runtime import JobContext, parse_job_args, run_job
from lakehouse.settings import get_settings, install_settings
from lakehouse.tenancy import TenantViolation


@pytest.fixture(autouse=True)
def clean_settings(tmp_path) -> None:
    """A known LAKEHOUSE_* environment per test; settings a job installed are uninstalled afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("LAKEHOUSE_")}
    for key in saved:
        del os.environ[key]
    os.environ["LAKEHOUSE_LAKE_ROOT"] = str(tmp_path / "lake")
    get_settings.cache_clear()
    yield
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        del os.environ[key]
    os.environ.update(saved)
    install_settings(None)


def test_cli_style_arguments() -> None:
    ctx = parse_job_args(["--tenant-id", "acme", "--run-id", "r-1"], job_name="gold_ace")
    assert (ctx.tenant_id, ctx.run_id, ctx.job_name) == ("acme", "r-1", "gold_ace")
    assert ctx.scope.tenant_id == "acme"
    assert ctx.settings is get_settings()
    assert dict(ctx.extra) == {}


def test_glue_style_arguments_ignore_what_glue_adds() -> None:
    argv = [
        "--JOB_ID",
        "j_1",
        "--JOB_RUN_ID",
        "jr_abc",
        "--JOB_NAME",
        "pcl-prod-gold_ace",
        "--tenant_id",
        "globex",
        "--run_id",
        "daily-2026-11-25",
        "--job-bookmark-option",
        "job-bookmark-disable",
        "--TempDir",
        "s3://artifacts/tmp/",
        "--enable-metrics",
        "true",
        "--datalake-formats",
        "delta",
    ]
    ctx = parse_job_args(argv, job_name="gold_ace")
    assert (ctx.tenant_id, ctx.run_id, ctx.job_name) == ("globex", "daily-2026-11-25", "pcl-prod-gold_ace")


def test_equals_form_and_extra_arguments_with_defaults() -> None:
    ctx = parse_job_args(
        ["--tenant-id=acme", "--since", "2026-01-01T00:00:00Z"], extra={"since": None, "catalog": "Sandbox"}
    )
    assert dict(ctx.extra) == {"since": "2026-01-01T00:00:00Z", "catalog": "Sandbox"}
    assert ctx.run_id.startswith("local-")
    glue = parse_job_args(["--JOB_NAME", "x", "--tenant_id", "acme", "--catalog", "AWS"], extra=["catalog"])
    assert glue.extra["catalog"] == "AWS"


def test_settings_arguments_become_the_process_settings(tmp_path) -> None:
    root = tmp_path / "other-lake"
    ctx = parse_job_args(
        [
            "--JOB_NAME",
            "x",
            "--tenant_id",
            "acme",
            "--run_id",
            "r",
            "--lakehouse_lake_root",
            str(root),
            "--lakehouse_engine",
            "classic",
        ]
    )
    assert ctx.settings.lake_root == str(root)
    assert ctx.settings.engine == "classic"
    assert get_settings() is ctx.settings  # the rest of the process agrees
    assert "LAKEHOUSE_ENGINE" not in os.environ  # without writing the environment
    assert os.environ["LAKEHOUSE_LAKE_ROOT"] == str(tmp_path / "lake")


def test_settings_arguments_override_the_environment_only_for_the_fields_given(tmp_path) -> None:
    os.environ["LAKEHOUSE_AWS_REGION"] = "eu-west-1"
    os.environ["LAKEHOUSE_ENGINE"] = "connect"
    ctx = parse_job_args(["--tenant-id", "acme", "--lakehouse-engine", "classic"])
    assert (ctx.settings.engine, ctx.settings.aws_region) == ("classic", "eu-west-1")
    assert ctx.settings.lake_root == str(tmp_path / "lake")
    assert os.environ["LAKEHOUSE_ENGINE"] == "connect"


def test_context_is_frozen() -> None:
    ctx = parse_job_args(["--tenant-id", "acme"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.tenant_id = "globex"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ctx.extra["x"] = "y"  # type: ignore[index]
    assert isinstance(ctx, JobContext)


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "missing --tenant-id"),
        (["--tenant-id", "ACME!"], "invalid tenant id 'ACME!'"),
        (["--tenant-id", "acme", "--run-id", "bad id"], "invalid run id 'bad id'"),
        (["--tenant-id", "acme", "--colour", "red"], r"unknown argument\(s\) --colour"),
        (["--tenant-id"], "argument --tenant-id needs a value"),
        (["--tenant-id", "acme", "--lakehouse_nope", "1"], "unknown setting argument --lakehouse_nope"),
        (["--tenant-id", "acme", "--lakehouse_engine", "spark"], "invalid settings"),
        (["acme"], "unexpected argument 'acme'"),
        (["--tenant-id", "a", "--tenant_id", "b"], "given twice with different values"),
    ],
)
def test_bad_arguments_raise_bad_input_naming_the_problem(argv: list[str], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_job_args(argv)


def test_help_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_job_args(["--help"], extra={"since": None}, job_name="ingest_partner_central")
    assert exit_info.value.code == 0
    assert (
        "usage: ingest_partner_central --tenant-id TENANT [--run-id RUN_ID] [--since VALUE]"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "error, code",
    [
        (BadInput("bad file x.json"), 2),
        (QualityGateFailed("gate g failed"), 3),
        (TenantViolation("row of tenant b in scope a"), 4),
    ],
)
def test_run_job_maps_lakehouse_errors_to_exit_codes(error: Exception, code: int, capsys) -> None:
    def main(argv: list[str]) -> None:
        assert argv == ["--tenant-id", "acme"]
        raise error

    with pytest.raises(SystemExit) as exit_info:
        run_job(main, ["--tenant-id", "acme"])
    assert exit_info.value.code == code
    assert capsys.readouterr().err == f"error: {error}\n"


def test_run_job_returns_on_success_and_propagates_bugs() -> None:
    assert run_job(lambda argv: None, []) is None
    with pytest.raises(SystemExit) as exit_info:
        run_job(lambda argv: 5, [])
    assert exit_info.value.code == 5
    with pytest.raises(ZeroDivisionError):
        run_job(lambda argv: 1 / 0, [])


def test_installed_settings_do_not_leak_between_tests() -> None:
    assert "LAKEHOUSE_ENGINE" not in os.environ
    assert get_settings().engine == "sail"
