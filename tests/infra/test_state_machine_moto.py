"""Run the generated state machine on moto's Step Functions engine (``execute_state_machine``), in process.

moto 5.2.5 parses the definition with its ASL grammar (ported from LocalStack) and executes Glue
``startJobRun.sync`` tasks against moto's Glue, SQS ``sendMessage`` against moto's SQS. Two adjustments, both
to moto, not to the definition:
- moto's Glue integration crashes after every ``.sync`` task (it calls ``interrupt_all()`` on a callback
  endpoint that only exists for ``.waitForTaskToken`` resources); declaring that pattern supported creates the
  endpoint and nothing else changes.
- Retry waits are recorded instead of slept, so the test takes seconds, and the recorded waits are asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse import pipeline_steps
from lakehouse.deploy import asl
from lakehouse.pipeline_steps import RetryPolicy

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

PREFIX = "pcl-test-"
ROLE = "arn:aws:iam::123456789012:role/pipeline"


class _RecordedSleeps:
    """Stands in for the ``time`` module inside moto's retrier: records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with state-machine execution on; yields clients and the recorded retry waits."""
    import boto3
    from moto import mock_aws
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_glue
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STEPFUNCTIONS"):
        monkeypatch.delenv(key, raising=False)

    original_init = state_task_service_glue.StateTaskServiceGlue.__init__

    def init_with_callback_endpoint(self: Any) -> None:
        original_init(self)
        self._supported_integration_patterns = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}

    monkeypatch.setattr(state_task_service_glue.StateTaskServiceGlue, "__init__", init_with_callback_endpoint)
    sleeps = _RecordedSleeps()
    monkeypatch.setattr(retrier_decl, "time", sleeps)

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield {
            "glue": boto3.client("glue"),
            "sqs": boto3.client("sqs"),
            "sfn": boto3.client("stepfunctions"),
            "sleeps": sleeps.waits,
        }


def deploy(aws: dict[str, Any], *, skip_jobs: tuple[str, ...] = ()) -> tuple[str, str]:
    """Create the Glue jobs (all but ``skip_jobs``), the DLQ and the state machine, as Terraform would."""
    for step in pipeline_steps.steps():
        if step.name in skip_jobs:
            continue
        aws["glue"].create_job(
            Name=PREFIX + step.name,
            Role=ROLE,
            Command={
                "Name": "glueetl",
                "ScriptLocation": f"s3://artifacts/glue/{step.script}",
                "PythonVersion": "3",
            },
            GlueVersion="5.1",
            ExecutionProperty={"MaxConcurrentRuns": pipeline_steps.MAX_PARALLEL_TENANTS},
            DefaultArguments={"--datalake-formats": "delta"},
        )
    queue_url = aws["sqs"].create_queue(QueueName="pcl-test-pipeline-dlq")["QueueUrl"]
    template = asl.to_json(asl.build_definition())
    definition = asl.render(template, glue_job_prefix=PREFIX, dlq_url=queue_url)
    arn = aws["sfn"].create_state_machine(name="pcl-test-pipeline", definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn, queue_url


def execute(aws: dict[str, Any], arn: str, payload: dict[str, Any], name: str) -> dict[str, Any]:
    """Start an execution and wait (bounded) until it leaves RUNNING."""
    execution = aws["sfn"].start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = aws["sfn"].describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"execution {name} still RUNNING after 60 s")


def dlq_messages(aws: dict[str, Any], queue_url: str) -> list[dict[str, Any]]:
    messages = aws["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted((json.loads(m["Body"]) for m in messages), key=lambda m: m["tenant_id"])


def test_moto_runs_every_step_for_every_tenant(aws: dict[str, Any]) -> None:
    arn, queue_url = deploy(aws)
    result = execute(aws, arn, {"tenants": ["acme", "globex"]}, name="daily-1")
    assert result["status"] == "SUCCEEDED", result.get("cause")
    output = json.loads(result["output"])
    assert output["any_failed"] is False
    assert [r["tenant_id"] for r in output["results"]] == ["acme", "globex"]
    for step in pipeline_steps.steps():
        runs = aws["glue"].get_job_runs(JobName=PREFIX + step.name)["JobRuns"]
        seen = sorted((r["Arguments"]["--tenant_id"], r["Arguments"]["--run_id"]) for r in runs)
        assert seen == [("acme", "daily-1"), ("globex", "daily-1")]
        assert all(r["Arguments"]["--datalake-formats"] == "delta" for r in runs)
        job_run_ids = {r["steps"][step.name]["job_run_id"] for r in output["results"]}
        assert job_run_ids == {r["Id"] for r in runs}
    assert dlq_messages(aws, queue_url) == []
    assert aws["sleeps"] == []


def test_moto_dead_letters_a_failed_step_and_fails_the_execution(aws: dict[str, Any]) -> None:
    steps = pipeline_steps.steps()
    missing = steps[-1]  # its Glue job does not exist: StartJobRun fails with EntityNotFoundException
    arn, queue_url = deploy(aws, skip_jobs=(missing.name,))
    result = execute(aws, arn, {"tenants": ["acme", "globex"]}, name="daily-2")

    assert result["status"] == "FAILED"
    assert result["error"] == "Lakehouse.TenantPipelineFailed"
    messages = dlq_messages(aws, queue_url)
    assert [(m["tenant_id"], m["run_id"], m["failed_step"]) for m in messages] == [
        ("acme", "daily-2", missing.name),
        ("globex", "daily-2", missing.name),
    ]
    assert all(m["error"] == "Glue.EntityNotFoundException" for m in messages), messages
    assert all(m["execution_id"].endswith(":daily-2") for m in messages)
    # The earlier steps ran for both tenants; the failed run was retried once per tenant (States.TaskFailed).
    for step in steps[:-1]:
        assert len(aws["glue"].get_job_runs(JobName=PREFIX + step.name)["JobRuns"]) == 2
    assert aws["sleeps"] == [RetryPolicy().failed_run_interval_seconds] * 2


def test_moto_rejects_input_without_tenants(aws: dict[str, Any]) -> None:
    arn, queue_url = deploy(aws)
    result = execute(aws, arn, {"tenant": "acme"}, name="bad-input")
    assert (result["status"], result["error"]) == ("FAILED", "Lakehouse.BadInput")
    assert dlq_messages(aws, queue_url) == []


def test_moto_accepts_the_definition_and_its_grammar_rejects_a_broken_one(aws: dict[str, Any]) -> None:
    from botocore.exceptions import ClientError

    deploy(aws)
    broken = asl.build_definition()
    broken["States"]["ValidateInput"]["Type"] = "Switch"
    with pytest.raises(ClientError, match="ASLParserException"):
        aws["sfn"].create_state_machine(name="broken", definition=json.dumps(broken), roleArn=ROLE)
