"""Build the Glue bundle: the project wheel, every pipeline step's job script, and a manifest Terraform reads.

Layout of ``dist/glue`` (uploaded by ``terraform/modules/glue_jobs``)::

    partner_central_lakehouse-<version>-py3-none-any.whl
    jobs/<step script>.py            one per pipeline step
    manifest.json                    wheel file name, pinned extra modules, script checksums

Glue installs ``--additional-python-modules`` with pip. The wheel declares PySpark, Sail, Streamlit and the
API stack as dependencies, none of which belong on Glue (Glue brings its own Spark), and an unpinned resolve
can pull incompatible numpy/pyarrow releases (see DESIGN.md). So Glue installs with ``--no-deps`` and the
manifest lists the exact closure of what the jobs need, pinned to the versions of this environment.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from lakehouse.errors import BadInput
from lakehouse.pipeline_steps import jobs

# Project dependencies that never run on Glue: the engine is Glue's own Spark (not Sail), the API and
# dashboards are not imported by jobs, and DuckDB serves only the metrics' Arrow path (jobs use the Spark path).
GLUE_EXCLUDED: frozenset[str] = frozenset({"pyspark", "pysail", "streamlit", "fastapi", "uvicorn", "duckdb"})
# Already in the AWS Glue 5.1 Python runtime; installing another version beside Spark's would break it.
GLUE_PROVIDED: frozenset[str] = frozenset(
    {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "urllib3",
        "python-dateutil",
        "six",
        "numpy",
        "pandas",
        "pyarrow",
        "pytz",
        "tzdata",
        "packaging",
        "setuptools",
        "pip",
        "wheel",
        "py4j",
    }
)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def glue_python_modules(top_level: list[str] | None = None) -> list[str]:
    """``name==version`` for the runtime closure of ``top_level`` (the project's Glue-side deps by default).

    Versions come from this environment (installed from constraints.txt), so Glue runs what the tests ran.
    """
    from packaging.requirements import Requirement

    if top_level is None:
        project = metadata.distribution("partner-central-lakehouse")
        markers = {r: Requirement(r).marker for r in (project.requires or [])}
        top_level = [r for r, marker in markers.items() if marker is None or marker.evaluate({"extra": ""})]
    pinned: dict[str, str] = {}
    expanded: set[tuple[str, str]] = set()
    pending: list[tuple[str, frozenset[str]]] = []
    for raw in top_level:
        req = Requirement(raw)
        pending.append((req.name, frozenset(req.extras)))
    while pending:
        raw_name, extras = pending.pop()
        name = _norm(raw_name)
        if name in GLUE_EXCLUDED or name in GLUE_PROVIDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as exc:
            raise BadInput(
                f"{name} is needed on Glue but is not installed here; install the project first"
            ) from exc
        pinned[name] = dist.version
        for extra in ("", *sorted(extras)):
            if (name, extra) in expanded:
                continue
            expanded.add((name, extra))
            for dep in dist.requires or []:
                req = Requirement(dep)
                if req.marker is None or req.marker.evaluate({"extra": extra}):
                    if extra and (req.marker is None or not _mentions_extra(str(req.marker))):
                        continue  # already taken with the base requirements
                    pending.append((req.name, frozenset(req.extras)))
    return [f"{name}=={pinned[name]}" for name in sorted(pinned)]


def _mentions_extra(marker: str) -> bool:
    return "extra" in marker


@dataclass(frozen=True)
class Bundle:
    """What ``build_bundle`` produced."""

    out: Path
    wheel: Path
    scripts: dict[str, Path]
    manifest: Path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing_scripts(root: Path) -> list[str]:
    """Pipeline step scripts that do not exist under ``root`` (relative paths, in step order)."""
    return [s.script for s in jobs() if not (root / s.script).is_file()]


# Copied neither into the wheel's source tree: the AWS emulators (``sandboxes/``) are development tools and must
# never ship to Glue, even though the editable dev install includes them.
_NOT_IN_WHEEL_BUILD = (
    ".git",
    "sandboxes",
    ".venv*",
    "dist",
    "build",
    ".lake",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    "node_modules",
    "terraform",
    "tests",
    "bench",
    "notebooks",
    ".ruff_cache",
)


def build_wheel(root: Path, out: Path) -> Path:
    """Build the project wheel into ``out`` with this interpreter: offline, no build isolation.

    The build runs on a copy of the source tree, so the checkout (its ``build/`` and ``*.egg-info``) is untouched.
    """
    with tempfile.TemporaryDirectory(prefix="lakehouse-wheel-") as tmp:
        source = Path(tmp) / "src"
        shutil.copytree(root, source, ignore=shutil.ignore_patterns(*_NOT_IN_WHEEL_BUILD))
        wheel_dir = Path(tmp) / "wheel"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(wheel_dir),
            str(source),
        ]
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=tmp)
        if result.returncode != 0:
            raise BadInput(f"building the wheel failed ({' '.join(cmd)}):\n{result.stderr.strip()[-2000:]}")
        wheels = list(wheel_dir.glob("*.whl"))
        if len(wheels) != 1:
            raise BadInput(f"expected one wheel from pip, got {[w.name for w in wheels]}")
        for old in out.glob("*.whl"):
            old.unlink()
        target = out / wheels[0].name
        shutil.move(str(wheels[0]), target)
    return target


def build_bundle(out: Path, root: Path, *, wheel: bool = True) -> Bundle:
    """Build ``out`` (wheel, job scripts, manifest); BadInput names every missing job script."""
    missing = missing_scripts(root)
    if missing:
        raise BadInput(
            "cannot package: pipeline steps point at job scripts that do not exist: " + ", ".join(missing)
        )
    out.mkdir(parents=True, exist_ok=True)
    jobs_dir = out / "jobs"
    if jobs_dir.exists():
        shutil.rmtree(jobs_dir)
    jobs_dir.mkdir()
    scripts: dict[str, Path] = {}
    for step in jobs():
        target = jobs_dir / Path(step.script).name
        shutil.copy2(root / step.script, target)
        scripts[step.name] = target
    if wheel:
        wheel_path = build_wheel(root, out)
    else:
        existing = sorted(out.glob("*.whl"))
        if len(existing) != 1:
            raise BadInput(f"--no-wheel needs exactly one wheel already in {out}, found {len(existing)}")
        wheel_path = existing[0]
    manifest: dict[str, Any] = {
        "wheel": wheel_path.name,
        "python_modules": glue_python_modules(),
        "python_modules_installer_option": "--no-deps",
        "scripts": {name: {"file": f"jobs/{p.name}", "sha256": _sha256(p)} for name, p in scripts.items()},
    }
    manifest_path = out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return Bundle(out=out, wheel=wheel_path, scripts=scripts, manifest=manifest_path)
