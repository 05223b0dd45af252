"""The generated Step Functions definition: valid ASL, complete, in sync with the steps, and it behaves."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any

import pytest

from lakehouse import pipeline_steps
from lakehouse.deploy import asl
from lakehouse.deploy.generate import STATE_MACHINE_FILE, check_generated
from lakehouse.deploy.validate import InvalidStateMachine, glue_job_names, state_names, validate_definition
from lakehouse.pipeline_steps import PipelineStep, RetryPolicy
from tests.infra.asl_interpreter import Interpreter, StatesError
from tests.infra.hcl import ROOT

PREFIX = "pcl-dev-"
DLQ = "https://sqs.us-east-1.amazonaws.com/123456789012/pcl-dev-pipeline-dlq"
GLUE_SYNC = "arn:aws:states:::glue:startJobRun.sync"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"


def committed_definition() -> dict[str, Any]:
    return json.loads((ROOT / STATE_MACHINE_FILE).read_text())


def rendered(definition: dict[str, Any] | None = None) -> dict[str, Any]:
    text = asl.to_json(definition or committed_definition())
    return json.loads(asl.render(text, glue_job_prefix=PREFIX, dlq_url=DLQ))


# ---- static ---------------------------------------------------------------------------------------------------
def test_committed_definition_is_what_the_step_list_generates() -> None:
    assert check_generated(ROOT) == [], "run `lakehouse package` (or python -m lakehouse.deploy.generate)"
    assert committed_definition() == asl.build_definition()


def test_committed_definition_is_valid_states_language() -> None:
    assert validate_definition(committed_definition()) is None  # raises InvalidStateMachine listing problems
    assert validate_definition(rendered()) is None
    broken = copy.deepcopy(committed_definition())
    broken["StartAt"] = "NoSuchState"
    with pytest.raises(InvalidStateMachine):
        validate_definition(broken)


def test_every_pipeline_step_is_a_glue_task_in_order() -> None:
    definition = committed_definition()
    expected = [asl.placeholder("glue_job_prefix") + s.name for s in pipeline_steps.steps()]
    assert glue_job_names(definition) == expected
    names = state_names(definition)
    for step in pipeline_steps.steps():
        assert step.name in names
        assert f"{step.name}_failed" in names


def test_only_terraform_placeholders_are_interpolated() -> None:
    text = (ROOT / STATE_MACHINE_FILE).read_text()
    assert text.count("${") == text.count("${glue_job_prefix}") + text.count("${dlq_url}")
    assert "%{" not in text
    assert "${dlq_url}" in text
    out = rendered()
    assert glue_job_names(out) == [PREFIX + s.name for s in pipeline_steps.steps()]


def test_glue_tasks_pass_tenant_and_run_id_and_retry_then_catch() -> None:
    tenant_states = committed_definition()["States"]["ForEachTenant"]["ItemProcessor"]["States"]
    for step in pipeline_steps.steps():
        task = tenant_states[step.name]
        assert task["Resource"] == GLUE_SYNC
        assert task["Parameters"]["Arguments"] == {"--tenant_id.$": "$.tenant_id", "--run_id.$": "$.run_id"}
        assert [r["ErrorEquals"] for r in task["Retry"]] == [
            list(asl.GLUE_TRANSIENT_ERRORS),
            ["States.TaskFailed"],
        ]
        assert task["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{step.name}_failed"}
        ]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["States"]["ForEachTenant"].update(Next="Nowhere"), "transition to 'Nowhere'"),
        (lambda d: d["States"]["PipelineFailed"].update(Next="PipelineSucceeded"), "PipelineFailed"),
        (lambda d: d["States"]["ValidateInput"].update(Type="Switch"), "ValidateInput"),
        (
            lambda d: d["States"]["ForEachTenant"]["ItemProcessor"]["States"]["ingest_partner_central"].pop(
                "Resource"
            ),
            "'Resource' is a required property",
        ),
        (
            lambda d: d["States"]["ForEachTenant"]["ItemProcessor"]["States"]["ingest_partner_central"][
                "Retry"
            ].insert(0, {"ErrorEquals": ["States.ALL"]}),
            "uses States.ALL, which must be alone and last",
        ),
        (lambda d: d["States"].update(Orphan={"Type": "Succeed"}), "Orphan: unreachable"),
    ],
    ids=[
        "unknown-target",
        "next-on-fail",
        "unknown-type",
        "task-without-resource",
        "states-all-first",
        "unreachable",
    ],
)
def test_validator_rejects_broken_definitions(mutate, message: str) -> None:
    definition = copy.deepcopy(committed_definition())
    mutate(definition)
    with pytest.raises(InvalidStateMachine, match=message):
        validate_definition(definition)


def test_parallel_waves_become_a_parallel_state() -> None:
    steps = (
        PipelineStep("ingest_a", "jobs/ingest_a.py", "bronze"),
        PipelineStep("silver_a", "jobs/silver_a.py", "silver", ("ingest_a",)),
        PipelineStep("gold_x", "jobs/gold_x.py", "gold", ("silver_a",)),
        PipelineStep("gold_y", "jobs/gold_y.py", "gold", ("silver_a",)),
        PipelineStep("platinum_z", "jobs/platinum_z.py", "platinum", ("gold_x", "gold_y")),
    )
    definition = asl.build_definition(steps)
    validate_definition(definition)
    tenant = definition["States"]["ForEachTenant"]["ItemProcessor"]["States"]
    assert tenant["silver_a"]["Next"] == "wave_3_parallel"
    assert tenant["wave_3_parallel"]["Type"] == "Parallel"
    assert [b["StartAt"] for b in tenant["wave_3_parallel"]["Branches"]] == ["gold_x", "gold_y"]
    assert tenant["wave_3_parallel"]["Next"] == "platinum_z"
    assert tenant["platinum_z"]["Next"] == "TenantSucceeded"


# ---- behaviour (local interpreter) --------------------------------------------------------------------------------
class FakeAws:
    """Stub Glue and SQS: Glue outcomes are scripted per (job, tenant); every call is recorded."""

    def __init__(self, outcomes: dict[tuple[str, str], list[str]] | None = None) -> None:
        self.outcomes = defaultdict(list, outcomes or {})
        self.glue_calls: list[tuple[str, str, str]] = []
        self.dlq: list[dict[str, Any]] = []

    def __call__(self, resource: str, params: dict[str, Any], context: dict[str, Any]) -> Any:
        if resource == GLUE_SYNC:
            job, args = params["JobName"], params["Arguments"]
            self.glue_calls.append((job, args["--tenant_id"], args["--run_id"]))
            queued = self.outcomes[(job, args["--tenant_id"])]
            outcome = queued.pop(0) if queued else "SUCCEEDED"
            if outcome == "SUCCEEDED":
                return {"Id": f"jr_{len(self.glue_calls)}", "JobName": job, "JobRunState": "SUCCEEDED"}
            if outcome == "FAILED":
                raise StatesError("States.TaskFailed", json.dumps({"JobName": job, "JobRunState": "FAILED"}))
            raise StatesError(outcome, f"{outcome} from {job}")
        if resource == SQS_SEND:
            assert params["QueueUrl"] == DLQ
            self.dlq.append(params["MessageBody"])
            return {"MessageId": f"m{len(self.dlq)}"}
        raise AssertionError(f"unexpected resource {resource}")


def test_all_tenants_run_every_step_in_order_and_succeed() -> None:
    aws = FakeAws()
    run = Interpreter(rendered(), aws).run({"tenants": ["acme", "globex"]}, name="exec-42")
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    jobs = [PREFIX + s.name for s in pipeline_steps.steps()]
    assert aws.glue_calls == [(j, "acme", "exec-42") for j in jobs] + [(j, "globex", "exec-42") for j in jobs]
    assert aws.dlq == []
    assert run.sleeps == []
    assert run.output["any_failed"] is False
    assert [r["status"] for r in run.output["results"]] == ["SUCCEEDED", "SUCCEEDED"]
    first = run.output["results"][0]
    assert first["steps"][pipeline_steps.steps()[0].name] == {"job_run_id": "jr_1", "state": "SUCCEEDED"}
    assert run.trace[-1] == "PipelineSucceeded"


def test_a_failing_step_dead_letters_its_tenant_and_spares_the_others() -> None:
    steps = pipeline_steps.steps()
    failing = steps[1]
    aws = FakeAws(
        {(PREFIX + failing.name, "acme"): ["Glue.EntityNotFoundException", "Glue.EntityNotFoundException"]}
    )
    run = Interpreter(rendered(), aws).run({"tenants": ["acme", "globex"]}, name="exec-7")

    assert run.status == "FAILED"
    assert run.error == "Lakehouse.TenantPipelineFailed"
    # acme: steps up to the failing one (tried twice: States.TaskFailed matches any task error), nothing after.
    acme_jobs = [job for job, tenant, _ in aws.glue_calls if tenant == "acme"]
    assert acme_jobs == [PREFIX + s.name for s in steps[:1]] + [PREFIX + failing.name] * 2
    globex_jobs = [job for job, tenant, _ in aws.glue_calls if tenant == "globex"]
    assert globex_jobs == [PREFIX + s.name for s in steps]
    assert run.sleeps == [failing.retry.failed_run_interval_seconds]
    assert aws.dlq == [
        {
            "tenant_id": "acme",
            "run_id": "exec-7",
            "failed_step": failing.name,
            "error": "Glue.EntityNotFoundException",
            "cause": f"Glue.EntityNotFoundException from {PREFIX + failing.name}",
            "execution_id": "arn:aws:states:us-east-1:123456789012:execution:pipeline:exec-7",
            "state_machine_id": "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline",
        }
    ]
    assert f"ForEachTenant[0]/{failing.name}_failed" in run.trace
    assert "ForEachTenant[0]/NotifyDeadLetterQueue" in run.trace
    assert "ForEachTenant[1]/NotifyDeadLetterQueue" not in run.trace
    assert run.trace[-2:] == ["AnyTenantFailed", "PipelineFailed"]


def test_transient_glue_errors_back_off_exponentially_then_succeed() -> None:
    first = pipeline_steps.steps()[0]
    busy = ["Glue.ConcurrentRunsExceededException"] * 3
    aws = FakeAws({(PREFIX + first.name, "acme"): busy})
    run = Interpreter(rendered(), aws).run({"tenants": ["acme"]})
    policy = first.retry
    assert run.status == "SUCCEEDED"
    assert run.sleeps == [
        policy.transient_interval_seconds * policy.transient_backoff_rate**i for i in range(3)
    ]
    assert run.sleeps == [60, 120, 240]
    assert aws.dlq == []


def test_retries_are_bounded_then_the_tenant_is_dead_lettered() -> None:
    first = pipeline_steps.steps()[0]
    policy = first.retry
    aws = FakeAws({(PREFIX + first.name, "acme"): ["Glue.ThrottlingException"] * 10})
    run = Interpreter(rendered(), aws).run({"tenants": ["acme"]})
    assert run.status == "FAILED"
    assert len(run.sleeps) == policy.transient_max_attempts
    assert max(run.sleeps) <= policy.transient_max_delay_seconds
    assert [m["failed_step"] for m in aws.dlq] == [first.name]
    assert len(aws.glue_calls) == policy.transient_max_attempts + 1


def test_a_failed_job_run_is_retried_once() -> None:
    last = pipeline_steps.steps()[-1]
    aws = FakeAws({(PREFIX + last.name, "acme"): ["FAILED"]})
    run = Interpreter(rendered(), aws).run({"tenants": ["acme"]})
    assert run.status == "SUCCEEDED"
    assert run.sleeps == [RetryPolicy().failed_run_interval_seconds]


@pytest.mark.parametrize("bad_input", [{}, {"tenants": []}, {"tenant": "acme"}])
def test_input_without_tenants_fails_fast(bad_input: dict[str, Any]) -> None:
    aws = FakeAws()
    run = Interpreter(rendered(), aws).run(bad_input)
    assert (run.status, run.error) == ("FAILED", "Lakehouse.BadInput")
    assert aws.glue_calls == [] and aws.dlq == []


def test_parallel_wave_failure_is_caught_and_dead_lettered() -> None:
    steps = (
        PipelineStep("ingest_a", "jobs/ingest_a.py", "bronze"),
        PipelineStep("gold_x", "jobs/gold_x.py", "gold", ("ingest_a",)),
        PipelineStep("gold_y", "jobs/gold_y.py", "gold", ("ingest_a",)),
    )
    definition = rendered(asl.build_definition(steps))
    aws = FakeAws({(PREFIX + "gold_y", "acme"): ["Glue.AccessDeniedException"] * 2})
    run = Interpreter(definition, aws).run({"tenants": ["acme"]})
    assert run.status == "FAILED"
    assert [(m["failed_step"], m["error"]) for m in aws.dlq] == [
        ("gold_x,gold_y", "Glue.AccessDeniedException")
    ]
