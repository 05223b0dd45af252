"""Write (or check) the files Terraform reads, all derived from ``lakehouse.pipeline_steps``.

* ``terraform/modules/orchestration/generated/state_machine.asl.json`` - the state machine template
* ``terraform/modules/glue_jobs/generated/glue_jobs.json`` - one Glue job per pipeline step

They are committed, so a plan shows exactly what will be deployed; ``check_generated()`` (and the tests) fail
when they drift from the step list. Regenerate with ``lakehouse package`` or ``python -m lakehouse.deploy.generate``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.deploy.asl import build_definition, to_json
from lakehouse.deploy.validate import validate_definition
from lakehouse.errors import BadInput
from lakehouse.pipeline_steps import LAYERS, MAX_PARALLEL_TENANTS, jobs

STATE_MACHINE_FILE = Path("terraform/modules/orchestration/generated/state_machine.asl.json")
GLUE_JOBS_FILE = Path("terraform/modules/glue_jobs/generated/glue_jobs.json")


def project_root() -> Path:
    """The source checkout whose terraform/ receives the generated files: this module's own (a checkout or an
    editable install), else the nearest folder at or above the current directory holding pyproject.toml and
    terraform/. An installed wheel has neither, so BadInput asks for an explicit root (``lakehouse package --root``).
    """
    cwd = Path.cwd().resolve()
    for folder in (Path(__file__).resolve().parents[2], cwd, *cwd.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "terraform").is_dir():
            return folder
    raise BadInput(
        f"no project checkout (pyproject.toml and terraform/) at or above {cwd}: run from the checkout or pass "
        "--root PATH"
    )


def glue_jobs_document() -> dict[str, Any]:
    """The Glue job list Terraform iterates over: one entry per pipeline step or scheduled job, keyed by name."""
    return {
        "_comment": "Generated from lakehouse/pipeline_steps.py by lakehouse.deploy.generate; do not edit.",
        "max_concurrent_runs": MAX_PARALLEL_TENANTS,
        "layers": list(LAYERS),
        "jobs": {
            step.name: {
                "script": step.script,
                "script_file": step.script.rsplit("/", 1)[-1],
                "layer": step.layer,
                "depends_on": list(step.depends_on),
                "description": step.description,
                "worker_type": step.worker_type,
                "number_of_workers": step.number_of_workers,
                "timeout_minutes": step.timeout_minutes,
                "needs_partner_central": step.needs_partner_central,
                "schedule": step.schedule,
                "iam_role": step.iam_role,
                "arguments": dict(step.arguments),
            }
            for step in jobs()
        },
    }


@dataclass(frozen=True)
class GeneratedFile:
    """One generated file: where it goes and what it must contain."""

    path: Path
    text: str


def generated_files() -> list[GeneratedFile]:
    """The generated files' expected contents (the definition is validated before it is returned)."""
    definition = build_definition()
    validate_definition(definition)
    return [
        GeneratedFile(STATE_MACHINE_FILE, to_json(definition)),
        GeneratedFile(GLUE_JOBS_FILE, json.dumps(glue_jobs_document(), indent=2) + "\n"),
    ]


def write_generated(root: Path | None = None) -> list[Path]:
    """Write every generated file under ``root`` (the project root by default); return the paths written."""
    base = root or project_root()
    written: list[Path] = []
    for item in generated_files():
        target = base / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text() != item.text:
            target.write_text(item.text)
        written.append(target)
    return written


def check_generated(root: Path | None = None) -> list[str]:
    """Relative paths of generated files that are missing or differ from the step list (empty when in sync)."""
    base = root or project_root()
    stale: list[str] = []
    for item in generated_files():
        target = base / item.path
        if not target.is_file() or target.read_text() != item.text:
            stale.append(str(item.path))
    return stale


def main(argv: list[str] | None = None) -> int:
    """``python -m lakehouse.deploy.generate [--check]``: write the generated files, or exit 1 if they drifted."""
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        stale = check_generated()
        for path in stale:
            print(f"out of date: {path} (run `lakehouse package` or `python -m lakehouse.deploy.generate`)")
        return 1 if stale else 0
    for written in write_generated():
        print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
