"""The canonical, ordered list of pipeline steps: one ``jobs/<script>.py`` entry point per step.

Everything that runs the pipeline reads this list: ``lakehouse pipeline run`` locally, and, through
``lakehouse.deploy``, the Glue jobs and the Step Functions state machine that Terraform deploys. Add a step
here (and its script under ``jobs/``), run ``lakehouse package``, and the infrastructure follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

Layer = Literal["bronze", "silver", "gold", "platinum"]
LAYERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")
WorkerType = Literal["G.1X", "G.2X", "G.4X", "G.8X"]
# Which IAM role a job runs as: the pipeline's Glue role, or the metering role (adds aws-marketplace metering).
JobRole = Literal["pipeline", "metering"]
JOB_ROLES: tuple[str, ...] = ("pipeline", "metering")
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$")

# Tenants processed at once by one state-machine execution; also each Glue job's MaxConcurrentRuns.
MAX_PARALLEL_TENANTS = 4


class InvalidPipeline(ValueError):
    """The step list is inconsistent (unknown dependency, cycle, layer going backwards, bad name)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How Step Functions retries one step: transient Glue API errors, and a failed job run."""

    transient_interval_seconds: int = 60
    transient_max_attempts: int = 4
    transient_backoff_rate: float = 2.0
    transient_max_delay_seconds: int = 900
    failed_run_interval_seconds: int = 120
    failed_run_max_attempts: int = 1


@dataclass(frozen=True)
class PipelineStep:
    """One job of the pipeline: what it runs, which layer it writes, and what must finish before it."""

    name: str
    script: str
    layer: Layer
    depends_on: tuple[str, ...] = ()
    description: str = ""
    worker_type: WorkerType = "G.1X"
    number_of_workers: int = 2
    timeout_minutes: int = 60
    needs_partner_central: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    schedule: str | None = (
        None  # EventBridge Scheduler expression: a scheduled job, outside the state machine
    )
    iam_role: JobRole = "pipeline"
    # Fixed job arguments (Glue default arguments, "--name" -> value); they never override the platform's.
    arguments: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        """The script's file name without ``.py`` (``jobs/gold_ace.py`` -> ``gold_ace``)."""
        return self.script.rsplit("/", 1)[-1].removesuffix(".py")


STEPS: tuple[PipelineStep, ...] = (
    PipelineStep(
        name="ingest_partner_central",
        script="jobs/ingest_partner_central.py",
        layer="bronze",
        description="Pull opportunities and engagements from the Partner Central Selling API into bronze.",
        needs_partner_central=True,
    ),
    PipelineStep(
        name="silver_partner_central",
        script="jobs/silver_partner_central.py",
        layer="silver",
        depends_on=("ingest_partner_central",),
        description="Conform bronze Partner Central records into the canonical silver entities.",
    ),
    PipelineStep(
        name="gold_ace",
        script="jobs/gold_ace.py",
        layer="gold",
        depends_on=("silver_partner_central",),
        description="Build the ACE pipeline marts (gold) from silver entities.",
    ),
    PipelineStep(
        name="platinum",
        script="jobs/platinum.py",
        layer="platinum",
        depends_on=("gold_ace",),
        description="Embeddings, knowledge-graph edges, point-in-time features and win scores (platinum).",
        worker_type="G.2X",
        # On Glue the embedding model is Amazon Bedrock (no torch in the job); locally the packaged MiniLM.
        arguments=(("--lakehouse_embedder", "bedrock"),),
    ),
)


# Jobs that run on their own schedule, per tenant (EventBridge Scheduler starts the Glue job), not in the DAG.
SCHEDULED: tuple[PipelineStep, ...] = (
    PipelineStep(
        name="metering_hourly",
        script="jobs/metering_hourly.py",
        layer="gold",
        description="Send the last hour's usage to AWS Marketplace (BatchMeterUsage); land silver and gold usage.",
        schedule="rate(1 hour)",
        iam_role="metering",
        timeout_minutes=45,
        # On S3 there is no local usage file: usage and buyer links come from the control-plane database.
        arguments=(
            ("--usage_source", "python:control_plane.costs.providers:usage_source"),
            ("--buyers", "python:control_plane.costs.providers:buyer_directory"),
        ),
    ),
)


def validate_scheduled(scheduled: tuple[PipelineStep, ...]) -> tuple[PipelineStep, ...]:
    """Return ``scheduled`` if every job has a valid schedule and no dependencies; raise InvalidPipeline."""
    problems: list[str] = []
    for job in scheduled:
        if job.schedule is None or not _SCHEDULE.match(job.schedule):
            problems.append(
                f"scheduled job {job.name!r}: schedule {job.schedule!r} must be rate(N unit) or cron(...)"
            )
        if job.depends_on:
            problems.append(
                f"scheduled job {job.name!r} cannot depend on steps ({', '.join(job.depends_on)})"
            )
        if job.iam_role not in JOB_ROLES:
            problems.append(
                f"scheduled job {job.name!r}: iam_role {job.iam_role!r} is not one of {JOB_ROLES}"
            )
    if problems:
        raise InvalidPipeline("invalid scheduled jobs: " + "; ".join(problems))
    # The name, script, layer, worker and timeout rules are the pipeline steps' own.
    validate_steps(tuple(replace(job, schedule=None) for job in scheduled))
    return scheduled


def validate_steps(steps: tuple[PipelineStep, ...]) -> tuple[PipelineStep, ...]:
    """Return ``steps`` if they form a valid DAG whose layers never go backwards; raise InvalidPipeline."""
    problems: list[str] = []
    by_name: dict[str, PipelineStep] = {}
    for step in steps:
        if step.name in by_name:
            problems.append(f"step {step.name!r} is declared twice")
        by_name[step.name] = step
        if (
            not step.name.replace("_", "").isalnum()
            or not step.name[:1].isalpha()
            or step.name.lower() != step.name
        ):
            problems.append(f"step name {step.name!r} must be lower_snake_case (it becomes a Glue job name)")
        if not (
            step.script.startswith("jobs/") and step.script.endswith(".py") and step.script.count("/") == 1
        ):
            problems.append(f"step {step.name!r}: script {step.script!r} must be jobs/<name>.py")
        if step.layer not in LAYERS:
            problems.append(f"step {step.name!r}: layer {step.layer!r} is not one of {LAYERS}")
        if step.number_of_workers < 2:
            problems.append(
                f"step {step.name!r}: Glue needs at least 2 workers, got {step.number_of_workers}"
            )
        if step.schedule is not None:
            problems.append(
                f"step {step.name!r} has a schedule: pipeline steps run in the state machine (use SCHEDULED)"
            )
        if step.iam_role not in JOB_ROLES:
            problems.append(f"step {step.name!r}: iam_role {step.iam_role!r} is not one of {JOB_ROLES}")
        bad_args = [name for name, _ in step.arguments if not re.fullmatch(r"--[a-z][a-z0-9_]*", name)]
        if bad_args:
            problems.append(f"step {step.name!r}: argument names {bad_args} must be --lower_snake_case")
        if not 1 <= step.timeout_minutes <= 2880:
            problems.append(
                f"step {step.name!r}: timeout_minutes must be 1..2880, got {step.timeout_minutes}"
            )
    for step in steps:
        for dep in step.depends_on:
            if dep not in by_name:
                problems.append(f"step {step.name!r} depends on unknown step {dep!r}")
            elif LAYERS.index(by_name[dep].layer) > LAYERS.index(step.layer):
                problems.append(
                    f"step {step.name!r} ({step.layer}) depends on {dep!r} ({by_name[dep].layer}): layers go backwards"
                )
    if problems:
        raise InvalidPipeline("invalid pipeline steps: " + "; ".join(problems))
    _depths(steps)  # raises on a cycle
    return steps


def _depths(steps: tuple[PipelineStep, ...]) -> dict[str, int]:
    """Longest dependency chain below each step (0 for a step without dependencies)."""
    by_name = {s.name: s for s in steps}
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in depth:
            return depth[name]
        if name in visiting:
            raise InvalidPipeline(f"invalid pipeline steps: dependency cycle through {name!r}")
        visiting.add(name)
        deps = by_name[name].depends_on
        depth[name] = 1 + max(visit(d) for d in deps) if deps else 0
        visiting.discard(name)
        return depth[name]

    for step in steps:
        visit(step.name)
    return depth


def steps() -> tuple[PipelineStep, ...]:
    """All steps, validated, in a dependency-respecting order (stable for steps of equal depth)."""
    validate_steps(STEPS)
    depth = _depths(STEPS)
    return tuple(sorted(STEPS, key=lambda s: depth[s.name]))


def jobs() -> tuple[PipelineStep, ...]:
    """Every Glue job: the pipeline steps (dependency order), then the scheduled jobs; names are unique."""
    pipeline, scheduled = steps(), validate_scheduled(SCHEDULED)
    clash = {s.name for s in pipeline} & {s.name for s in scheduled}
    if clash:
        raise InvalidPipeline(f"invalid jobs: {', '.join(sorted(clash))} is both a step and a scheduled job")
    return (*pipeline, *scheduled)


def waves(selected: tuple[PipelineStep, ...] | None = None) -> list[list[PipelineStep]]:
    """Steps grouped into waves: every step of a wave depends only on steps of earlier waves."""
    chosen = steps() if selected is None else selected
    depth = _depths(validate_steps(chosen))
    out: list[list[PipelineStep]] = []
    for step in chosen:
        while len(out) <= depth[step.name]:
            out.append([])
        out[depth[step.name]].append(step)
    return out


def get(name: str) -> PipelineStep:
    """The step called ``name``; KeyError naming the known steps otherwise."""
    for step in steps():
        if step.name == name:
            return step
    raise KeyError(f"unknown pipeline step {name!r}; known: {', '.join(s.name for s in steps())}")


def until(layer: str) -> tuple[PipelineStep, ...]:
    """Steps that write ``layer`` or an earlier one (``lakehouse pipeline run --until silver``)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; use one of {', '.join(LAYERS)}")
    limit = LAYERS.index(layer)
    return tuple(s for s in steps() if LAYERS.index(s.layer) <= limit)
