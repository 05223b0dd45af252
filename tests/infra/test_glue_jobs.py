"""Glue jobs come from the pipeline step list and point at real jobs/ scripts, on Glue 5.1 with Delta."""

from __future__ import annotations

import json

from lakehouse import pipeline_steps
from lakehouse.deploy.generate import GLUE_JOBS_FILE, glue_jobs_document
from tests.infra.hcl import MODULES, ROOT, module

GLUE = MODULES / "glue_jobs"


def job_list() -> dict:
    return json.loads((ROOT / GLUE_JOBS_FILE).read_text())


def test_job_list_is_generated_from_the_pipeline_steps() -> None:
    assert job_list() == glue_jobs_document(), (
        "run `lakehouse package` (or python -m lakehouse.deploy.generate)"
    )
    assert list(job_list()["jobs"]) == [s.name for s in pipeline_steps.jobs()]
    scheduled = {name: job["schedule"] for name, job in job_list()["jobs"].items() if job["schedule"]}
    assert scheduled == {s.name: s.schedule for s in pipeline_steps.SCHEDULED}
    assert scheduled == {"metering_hourly": "rate(1 hour)"}


def test_every_glue_job_points_at_a_script_in_jobs() -> None:
    jobs = job_list()["jobs"]
    assert jobs, "the job list is empty"
    for name, job in jobs.items():
        assert job["script"] == f"jobs/{job['script_file']}", name
        assert job["script"].startswith("jobs/") and job["script"].endswith(".py"), name
    missing = sorted(job["script"] for job in jobs.values() if not (ROOT / job["script"]).is_file())
    assert missing == [], f"Glue jobs point at job scripts that do not exist: {', '.join(missing)}"


def test_glue_job_resource_is_one_glue_5_1_job_per_listed_step() -> None:
    mod = module(GLUE)
    job = mod.resources[("aws_glue_job", "step")]
    assert job["for_each"] == "${local.jobs}"
    assert mod.locals["jobs"] == "${local.job_list.jobs}"
    assert mod.locals["job_list"] == '${jsondecode(file("${path.module}/generated/glue_jobs.json"))}'
    assert job["glue_version"] == "5.1"
    assert job["max_retries"] == 0
    assert job["security_configuration"] == "${aws_glue_security_configuration.this.name}"
    assert job["execution_property"][0]["max_concurrent_runs"] == "${local.job_list.max_concurrent_runs}"
    command = job["command"][0]
    assert command["name"] == "glueetl"
    assert command["python_version"] == "3"
    # The script is the uploaded copy of jobs/<file>.py: "glue/" + script == the aws_s3_object key.
    assert command["script_location"] == "${local.s3}/glue/${each.value.script}"
    upload = mod.resources[("aws_s3_object", "script")]
    assert upload["key"] == "glue/jobs/${each.value.script_file}"
    assert upload["source"] == "${var.bundle_dir}/jobs/${each.value.script_file}"


def test_every_job_enables_delta_and_installs_the_project_wheel_without_deps() -> None:
    mod = module(GLUE)
    defaults = mod.locals["default_arguments"]
    assert defaults["--datalake-formats"] == "delta"
    assert "io.delta.sql.DeltaSparkSessionExtension" in defaults["--conf"]
    assert "org.apache.spark.sql.delta.catalog.DeltaCatalog" in defaults["--conf"]
    assert "local.wheel_key" in defaults["--additional-python-modules"]
    assert "local.python_modules" in defaults["--additional-python-modules"]
    assert defaults["--python-modules-installer-option"] == "--no-deps"
    assert defaults["--lakehouse_engine"] == "classic"
    assert defaults["--lakehouse_lake_root"] == "${var.lake_root}"
    assert defaults["--lakehouse_pii_secret_arn"] == "${var.pii_secret_arn}"
    assert mod.locals["partner_central_arguments"] == {
        "--role_arn": "${var.partner_central_role_arn}",
        "--catalog": "${var.partner_central_catalog}",
    }
    merged = mod.resources[("aws_glue_job", "step")]["default_arguments"]
    # The defaults come after the caller's extras in merge(), so no extra argument can switch Delta off.
    assert merged.index("var.extra_default_arguments") < merged.index("local.default_arguments")


def test_security_configuration_encrypts_everything_with_kms() -> None:
    config = module(GLUE).resources[("aws_glue_security_configuration", "this")]["encryption_configuration"][
        0
    ]
    assert config["s3_encryption"][0]["s3_encryption_mode"] == "SSE-KMS"
    assert config["cloudwatch_encryption"][0]["cloudwatch_encryption_mode"] == "SSE-KMS"
    assert config["job_bookmarks_encryption"][0]["job_bookmarks_encryption_mode"] == "CSE-KMS"


def test_each_job_runs_as_the_role_its_step_names() -> None:
    mod = module(GLUE)
    assert mod.resources[("aws_glue_job", "step")]["role_arn"] == "${local.role_arns[each.value.iam_role]}"
    assert set(mod.locals["role_arns"]) == set(pipeline_steps.JOB_ROLES)
    roles = {name: job["iam_role"] for name, job in job_list()["jobs"].items()}
    assert roles["metering_hourly"] == "metering"
    assert {r for n, r in roles.items() if n != "metering_hourly"} == {"pipeline"}


def test_the_platform_feeds_the_state_machine_only_the_pipeline_jobs() -> None:
    text = (MODULES / "platform" / "main.tf").read_text()
    assert "glue_job_name_prefix          = module.glue_jobs.job_name_prefix" in text
    assert "glue_job_arns                 = module.glue_jobs.pipeline_job_arns" in text
    assert "scheduled_jobs = module.glue_jobs.scheduled_jobs" in text
    outputs = module(GLUE).outputs
    assert "schedule == null" in outputs["pipeline_job_arns"]["value"]
    assert "schedule != null" in outputs["scheduled_jobs"]["value"]
    outputs = module(GLUE).outputs
    assert outputs["job_name_prefix"]["value"] == "${var.name_prefix}-"
    assert module(GLUE).resources[("aws_glue_job", "step")]["name"] == "${var.name_prefix}-${each.key}"
