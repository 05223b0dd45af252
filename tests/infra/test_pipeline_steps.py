"""The canonical step list: names, scripts, layers, dependencies, waves."""

from __future__ import annotations

import pytest

from lakehouse import pipeline_steps
from lakehouse.pipeline_steps import InvalidPipeline, PipelineStep, validate_steps, waves


def test_the_current_pipeline_is_ingest_then_silver_then_gold_then_platinum() -> None:
    assert [(s.name, s.script, s.layer, s.depends_on) for s in pipeline_steps.steps()] == [
        ("ingest_partner_central", "jobs/ingest_partner_central.py", "bronze", ()),
        ("silver_partner_central", "jobs/silver_partner_central.py", "silver", ("ingest_partner_central",)),
        ("gold_ace", "jobs/gold_ace.py", "gold", ("silver_partner_central",)),
        ("platinum", "jobs/platinum.py", "platinum", ("gold_ace",)),
    ]
    assert pipeline_steps.get("gold_ace").module == "gold_ace"
    assert [s.name for s in pipeline_steps.until("silver")] == [
        "ingest_partner_central",
        "silver_partner_central",
    ]


def test_only_the_ingest_step_talks_to_partner_central() -> None:
    assert [s.name for s in pipeline_steps.steps() if s.needs_partner_central] == ["ingest_partner_central"]


def test_waves_group_independent_steps() -> None:
    steps = (
        PipelineStep("ingest_a", "jobs/ingest_a.py", "bronze"),
        PipelineStep("ingest_b", "jobs/ingest_b.py", "bronze"),
        PipelineStep("silver_ab", "jobs/silver_ab.py", "silver", ("ingest_a", "ingest_b")),
        PipelineStep("gold_x", "jobs/gold_x.py", "gold", ("silver_ab",)),
        PipelineStep("platinum_y", "jobs/platinum_y.py", "platinum", ("gold_x", "ingest_a")),
    )
    assert [[s.name for s in wave] for wave in waves(steps)] == [
        ["ingest_a", "ingest_b"],
        ["silver_ab"],
        ["gold_x"],
        ["platinum_y"],
    ]


@pytest.mark.parametrize(
    "steps, message",
    [
        ((PipelineStep("a", "jobs/a.py", "bronze", ("zz",)),), "depends on unknown step 'zz'"),
        (
            (
                PipelineStep("a", "jobs/a.py", "silver", ("b",)),
                PipelineStep("b", "jobs/b.py", "silver", ("a",)),
            ),
            "dependency cycle",
        ),
        (
            (PipelineStep("g", "jobs/g.py", "gold"), PipelineStep("s", "jobs/s.py", "silver", ("g",))),
            "layers go backwards",
        ),
        ((PipelineStep("a", "scripts/a.py", "bronze"),), "must be jobs/<name>.py"),
        ((PipelineStep("Bad-Name", "jobs/a.py", "bronze"),), "lower_snake_case"),
        (
            (PipelineStep("a", "jobs/a.py", "bronze"), PipelineStep("a", "jobs/b.py", "bronze")),
            "declared twice",
        ),
        ((PipelineStep("a", "jobs/a.py", "bronze", number_of_workers=1),), "at least 2 workers"),
    ],
    ids=[
        "unknown-dependency",
        "cycle",
        "backwards",
        "script-outside-jobs",
        "bad-name",
        "duplicate",
        "one-worker",
    ],
)
def test_invalid_pipelines_are_refused_with_the_reason(steps: tuple[PipelineStep, ...], message: str) -> None:
    with pytest.raises(InvalidPipeline, match=message):
        validate_steps(steps)


def test_unknown_layer_and_step_are_named() -> None:
    with pytest.raises(ValueError, match="unknown layer 'diamond'"):
        pipeline_steps.until("diamond")
    with pytest.raises(KeyError, match="unknown pipeline step 'nope'; known: ingest_partner_central"):
        pipeline_steps.get("nope")
