"""Hourly metering is deployed: a Glue job generated from the step list, a schedule per tenant, its own role,
and an alarm whose metric filter really matches the summary line the job prints."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from lakehouse import pipeline_steps
from lakehouse.marketplace.metering import MeteringResult
from lakehouse.pipeline_steps import InvalidPipeline, PipelineStep, validate_scheduled
from tests.infra.hcl import MODULES, module

SCHEDULED = MODULES / "scheduled_jobs"


def space_delimited_match(pattern: str, line: str) -> dict[str, str] | None:
    """CloudWatch Logs space-delimited filter semantics, for the subset the metric filter uses.

    ``[name, name=literal, name="quoted literal", ...]``: fields are split on spaces, each named field binds one
    token, ``=`` requires the token to equal the literal, a trailing ``...`` accepts any remaining tokens.
    Returns the bound fields, or None when the line does not match.
    """
    assert pattern.startswith("[") and pattern.endswith("]"), pattern
    specs = [s.strip() for s in re.findall(r'(?:[^,"]|"[^"]*")+', pattern[1:-1])]
    tokens = line.split()
    rest = specs[-1] == "..."
    specs = specs[:-1] if rest else specs
    if len(tokens) < len(specs) or (not rest and len(tokens) != len(specs)):
        return None
    bound: dict[str, str] = {}
    for spec, token in zip(specs, tokens, strict=False):
        name, _, literal = spec.partition("=")
        if literal and token != literal.strip().strip('"'):
            return None
        bound[name.strip()] = token
    return bound


def _pattern() -> str:
    return str(module(SCHEDULED).locals["dead_lettered_pattern"]).replace('\\"', '"')


def _summary(dead: int) -> str:
    result = MeteringResult(
        "acme",
        "run-1",
        [datetime(2026, 1, 1, 10, tzinfo=UTC)],
        records=7,
        new_pending=4,
        sent=3,
        dead_lettered=dead,
    )
    return result.summary()


@pytest.mark.parametrize("dead", [0, 1, 12])
def test_metric_filter_extracts_the_dead_lettered_count_from_the_jobs_summary(dead: int) -> None:
    bound = space_delimited_match(_pattern(), _summary(dead))
    assert bound is not None, f"the metric filter does not match the job's summary line: {_summary(dead)!r}"
    assert bound["dead_lettered"] == str(dead)
    transform = module(SCHEDULED).resources[("aws_cloudwatch_log_metric_filter", "metering_dead_lettered")]
    assert transform["metric_transformation"][0]["value"] == "$dead_lettered"


def test_the_matcher_rejects_other_lines() -> None:
    assert space_delimited_match(_pattern(), "gold.marketplace_usage: 3 row(s)") is None
    assert space_delimited_match(_pattern(), _summary(1).replace("dead-lettered", "lost")) is None


def test_alarm_watches_the_filters_metric() -> None:
    mod = module(SCHEDULED)
    metric = mod.resources[("aws_cloudwatch_log_metric_filter", "metering_dead_lettered")][
        "metric_transformation"
    ][0]
    alarm = mod.resources[("aws_cloudwatch_metric_alarm", "metering_dead_lettered")]
    assert (alarm["namespace"], alarm["metric_name"]) == (metric["namespace"], metric["name"])
    assert (alarm["threshold"], alarm["comparison_operator"]) == (0, "GreaterThanThreshold")
    assert alarm["alarm_actions"] == "${var.alarm_actions}"


def test_metering_is_a_scheduled_job_with_its_own_role_started_per_tenant() -> None:
    job = {j.name: j for j in pipeline_steps.jobs()}["metering_hourly"]
    assert (job.script, job.schedule, job.iam_role) == ("jobs/metering_hourly.py", "rate(1 hour)", "metering")
    assert "metering_hourly" not in {s.name for s in pipeline_steps.steps()}, "metering must not join the DAG"
    # jobs/metering_hourly.py reads these (EXTRA); on an S3 lake it has no local usage or buyers file.
    from jobs.metering_hourly import EXTRA

    assert {name.removeprefix("--") for name, _ in job.arguments} <= set(EXTRA)
    assert dict(job.arguments)["--usage_source"].startswith("python:")
    mod = module(SCHEDULED)
    schedule = mod.resources[("aws_scheduler_schedule", "job")]
    assert schedule["for_each"] == "${local.runs}"
    target = schedule["target"][0]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:glue:startJobRun"
    assert '"--tenant_id" = each.value.tenant' in target["input"]
    scheduler = mod.data[("aws_iam_policy_document", "scheduler")]["statement"][0]
    assert scheduler["actions"] == ["glue:StartJobRun"]


def test_scheduled_jobs_are_validated() -> None:
    good = PipelineStep("meter", "jobs/meter.py", "gold", schedule="rate(1 hour)", iam_role="metering")
    assert validate_scheduled((good,)) == (good,)
    with pytest.raises(InvalidPipeline, match=r"schedule 'hourly' must be rate\(N unit\) or cron"):
        validate_scheduled((PipelineStep("meter", "jobs/meter.py", "gold", schedule="hourly"),))
    with pytest.raises(InvalidPipeline, match="cannot depend on steps"):
        validate_scheduled((PipelineStep("meter", "jobs/meter.py", "gold", ("x",), schedule="rate(1 hour)"),))
    with pytest.raises(InvalidPipeline, match="has a schedule: pipeline steps run in the state machine"):
        pipeline_steps.validate_steps(
            (PipelineStep("meter", "jobs/meter.py", "gold", schedule="rate(1 hour)"),)
        )
