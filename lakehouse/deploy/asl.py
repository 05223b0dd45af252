"""Generate the Step Functions state machine (Amazon States Language) from ``lakehouse.pipeline_steps``.

Shape: validate input -> Map over ``$.tenants`` (one iteration per tenant, at most MAX_PARALLEL_TENANTS at once)
-> inside, the pipeline's waves in order (one Glue ``startJobRun.sync`` Task per step, a Parallel state when a
wave has several steps), each with Retry -> on any error, Catch -> send a message to the SQS dead-letter
queue -> the tenant ends FAILED without stopping the other tenants. After the Map, the execution fails if any
tenant failed, so alarms on failed executions fire.

The output is a Terraform template: ``${glue_job_prefix}`` and ``${dlq_url}`` are filled by ``templatefile()``
in ``terraform/modules/orchestration``; ``render()`` does the same substitution for tests. Nothing else in the
document may contain ``${`` or ``%{`` (Terraform would try to interpolate it).
"""

from __future__ import annotations

import json
from typing import Any

from lakehouse.pipeline_steps import MAX_PARALLEL_TENANTS, PipelineStep, waves

GLUE_JOB_PREFIX_VAR = "glue_job_prefix"
DLQ_URL_VAR = "dlq_url"
TEMPLATE_VARS = (GLUE_JOB_PREFIX_VAR, DLQ_URL_VAR)

# Glue API errors worth retrying with backoff (they say "try again later", not "this run is broken").
GLUE_TRANSIENT_ERRORS = (
    "Glue.ConcurrentRunsExceededException",
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
)
SQS_TRANSIENT_ERRORS = ("SQS.SdkClientException", "SQS.AmazonSQSException", "States.Timeout")

VALIDATE_INPUT = "ValidateInput"
INVALID_INPUT = "InvalidInput"
FOR_EACH_TENANT = "ForEachTenant"
COLLECT_STATUSES = "CollectStatuses"
CHECK_STATUSES = "CheckStatuses"
ANY_TENANT_FAILED = "AnyTenantFailed"
PIPELINE_FAILED = "PipelineFailed"
PIPELINE_SUCCEEDED = "PipelineSucceeded"
NOTIFY_DLQ = "NotifyDeadLetterQueue"
TENANT_FAILED = "TenantFailed"
TENANT_SUCCEEDED = "TenantSucceeded"
FAILED_SUFFIX = "_failed"


def placeholder(var: str) -> str:
    """The Terraform template placeholder for ``var`` (``${var}``)."""
    return "${" + var + "}"


def glue_job_name(step: PipelineStep) -> str:
    """The templated Glue job name of ``step``; Terraform names the job ``<prefix><step name>``."""
    return placeholder(GLUE_JOB_PREFIX_VAR) + step.name


def _retry(step: PipelineStep) -> list[dict[str, Any]]:
    policy = step.retry
    return [
        {
            "ErrorEquals": list(GLUE_TRANSIENT_ERRORS),
            "IntervalSeconds": policy.transient_interval_seconds,
            "MaxAttempts": policy.transient_max_attempts,
            "BackoffRate": policy.transient_backoff_rate,
            "MaxDelaySeconds": policy.transient_max_delay_seconds,
        },
        {
            # A job run that ended FAILED/TIMEOUT/ERROR; jobs are idempotent per run id, so one re-run is safe.
            "ErrorEquals": ["States.TaskFailed"],
            "IntervalSeconds": policy.failed_run_interval_seconds,
            "MaxAttempts": policy.failed_run_max_attempts,
            "BackoffRate": 1.0,
        },
    ]


def _task(step: PipelineStep, next_state: str | None, *, catch_to: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Comment": f"{step.layer}: {step.description or step.script}",
        "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {
            "JobName": glue_job_name(step),
            "Arguments": {"--tenant_id.$": "$.tenant_id", "--run_id.$": "$.run_id"},
        },
        # Glue's own timeout stops the run; this only bounds the wait if Glue never answers.
        "TimeoutSeconds": step.timeout_minutes * 60 + 600,
        "ResultSelector": {"job_run_id.$": "$.Id", "state.$": "$.JobRunState"},
        "ResultPath": f"$.steps.{step.name}",
        "Retry": _retry(step),
    }
    if catch_to is not None:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch_to}]
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def _wave_name(index: int, wave: list[PipelineStep]) -> str:
    return wave[0].name if len(wave) == 1 else f"wave_{index + 1}_parallel"


def _record_failure(failed: str) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Comment": f"Remember which step failed ({failed}) for the dead-letter message.",
        "Parameters": {
            "tenant_id.$": "$.tenant_id",
            "run_id.$": "$.run_id",
            "failed_step": failed,
            "error.$": "$.error",
        },
        "Next": NOTIFY_DLQ,
    }


def _tenant_states(selected: tuple[PipelineStep, ...] | None) -> tuple[str, dict[str, Any]]:
    grouped = waves(selected)
    if not grouped:
        raise ValueError("the pipeline has no steps to orchestrate")
    states: dict[str, Any] = {}
    names = [_wave_name(i, w) for i, w in enumerate(grouped)]
    for index, wave in enumerate(grouped):
        name = names[index]
        next_state = names[index + 1] if index + 1 < len(grouped) else TENANT_SUCCEEDED
        failed_state = name + FAILED_SUFFIX
        if len(wave) == 1:
            states[name] = _task(wave[0], next_state, catch_to=failed_state)
        else:
            states[name] = {
                "Type": "Parallel",
                "Comment": "Steps of one wave: none depends on another.",
                "Branches": [
                    {"StartAt": step.name, "States": {step.name: _task(step, None, catch_to=None)}}
                    for step in wave
                ],
                "ResultPath": None,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed_state}],
                "Next": next_state,
            }
        states[failed_state] = _record_failure(",".join(s.name for s in wave))
    states[NOTIFY_DLQ] = {
        "Type": "Task",
        "Comment": "Dead-letter the failed tenant run with enough context to re-drive it.",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {
            "QueueUrl": placeholder(DLQ_URL_VAR),
            "MessageBody": {
                "tenant_id.$": "$.tenant_id",
                "run_id.$": "$.run_id",
                "failed_step.$": "$.failed_step",
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
                "execution_id.$": "$$.Execution.Id",
                "state_machine_id.$": "$$.StateMachine.Id",
            },
        },
        "ResultPath": None,
        "Retry": [
            {
                "ErrorEquals": list(SQS_TRANSIENT_ERRORS),
                "IntervalSeconds": 5,
                "MaxAttempts": 3,
                "BackoffRate": 2.0,
            }
        ],
        "Next": TENANT_FAILED,
    }
    states[TENANT_FAILED] = {
        "Type": "Pass",
        "Parameters": {"tenant_id.$": "$.tenant_id", "status": "FAILED", "failed_step.$": "$.failed_step"},
        "End": True,
    }
    states[TENANT_SUCCEEDED] = {
        "Type": "Pass",
        "Parameters": {"tenant_id.$": "$.tenant_id", "status": "SUCCEEDED", "steps.$": "$.steps"},
        "End": True,
    }
    return names[0], states


def build_definition(selected: tuple[PipelineStep, ...] | None = None) -> dict[str, Any]:
    """The state machine definition (a dict) for ``selected`` steps, all pipeline steps by default."""
    start, tenant_states = _tenant_states(selected)
    return {
        "Comment": "Partner Central Lakehouse pipeline, per tenant. Generated by lakehouse.deploy.asl from "
        "lakehouse/pipeline_steps.py; do not edit by hand (run `lakehouse package`).",
        "StartAt": VALIDATE_INPUT,
        "States": {
            VALIDATE_INPUT: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.tenants[0]", "IsPresent": True, "Next": FOR_EACH_TENANT}],
                "Default": INVALID_INPUT,
            },
            INVALID_INPUT: {
                "Type": "Fail",
                "Error": "Lakehouse.BadInput",
                "Cause": 'Execution input must be {"tenants": ["<tenant id>", ...]} with at least one tenant.',
            },
            FOR_EACH_TENANT: {
                "Type": "Map",
                "ItemsPath": "$.tenants",
                "ItemSelector": {"tenant_id.$": "$$.Map.Item.Value", "run_id.$": "$$.Execution.Name"},
                "MaxConcurrency": MAX_PARALLEL_TENANTS,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": start,
                    "States": tenant_states,
                },
                "ResultPath": "$.results",
                "Next": COLLECT_STATUSES,
            },
            # Two plain steps instead of a filter expression: a filter that matches nothing is a runtime error.
            COLLECT_STATUSES: {
                "Type": "Pass",
                "Parameters": {"results.$": "$.results", "statuses.$": "$.results[*].status"},
                "Next": CHECK_STATUSES,
            },
            CHECK_STATUSES: {
                "Type": "Pass",
                "Parameters": {
                    "results.$": "$.results",
                    "any_failed.$": "States.ArrayContains($.statuses, 'FAILED')",
                },
                "Next": ANY_TENANT_FAILED,
            },
            ANY_TENANT_FAILED: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.any_failed", "BooleanEquals": True, "Next": PIPELINE_FAILED}],
                "Default": PIPELINE_SUCCEEDED,
            },
            PIPELINE_FAILED: {
                "Type": "Fail",
                "Error": "Lakehouse.TenantPipelineFailed",
                "Cause": "At least one tenant's pipeline failed; each failure is in the dead-letter queue.",
            },
            PIPELINE_SUCCEEDED: {"Type": "Succeed"},
        },
    }


def to_json(definition: dict[str, Any]) -> str:
    """Stable, reviewable JSON text (sorted keys are avoided so the states read in pipeline order)."""
    return json.dumps(definition, indent=2) + "\n"


def render(template_text: str, **values: str) -> str:
    """Fill the Terraform placeholders the way ``templatefile()`` does; every TEMPLATE_VARS value is required."""
    missing = [v for v in TEMPLATE_VARS if v not in values]
    if missing:
        raise ValueError(f"render() needs values for {', '.join(missing)}")
    text = template_text
    for var in TEMPLATE_VARS:
        text = text.replace(placeholder(var), values[var])
    if "${" in text or "%{" in text:
        raise ValueError("the definition contains a Terraform interpolation that is not a known placeholder")
    return text
