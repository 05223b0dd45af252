"""`lakehouse package`: the Glue bundle (wheel, job scripts, manifest) and the regenerated Terraform inputs."""

from __future__ import annotations

import hashlib
import json
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lakehouse import pipeline_steps
from lakehouse.deploy import generate
from lakehouse.deploy.package import build_bundle, build_wheel, glue_python_modules, missing_scripts
from lakehouse.errors import BadInput

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`


def fake_root(tmp_path: Path, *, skip: tuple[str, ...] = ()) -> Path:
    root = tmp_path / "project"
    for step in pipeline_steps.jobs():
        if step.name in skip:
            continue
        script = root / step.script
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(f'print("{step.name}")\n')
    return root


def test_glue_modules_are_the_pinned_closure_without_what_glue_brings() -> None:
    expected_names = [
        "annotated-types",
        "pydantic",
        "pydantic-core",
        "pydantic-settings",
        "python-dotenv",
        "typing-extensions",
        "typing-inspection",
    ]
    assert glue_python_modules(["pydantic-settings>=2"]) == [
        f"{n}=={metadata.version(n)}" for n in expected_names
    ]
    assert glue_python_modules(["pyspark", "boto3", "numpy", "pysail"]) == []
    with_extra = glue_python_modules(["psycopg[binary]"])
    assert f"psycopg-binary=={metadata.version('psycopg-binary')}" in with_extra


def test_missing_job_scripts_are_named(tmp_path: Path) -> None:
    steps = pipeline_steps.jobs()
    root = fake_root(tmp_path, skip=(steps[1].name, steps[2].name))
    assert missing_scripts(root) == [steps[1].script, steps[2].script]
    with pytest.raises(BadInput, match=f"do not exist: {steps[1].script}, {steps[2].script}"):
        build_bundle(tmp_path / "out", root, wheel=False)


def test_bundle_copies_every_job_script_scheduled_ones_included_and_describes_it(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    out = tmp_path / "dist" / "glue"
    out.mkdir(parents=True)
    (out / "partner_central_lakehouse-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    (out / "jobs").mkdir()
    (out / "jobs" / "stale.py").write_text("old")
    bundle = build_bundle(out, root, wheel=False)
    manifest = json.loads(bundle.manifest.read_text())
    assert manifest["wheel"] == "partner_central_lakehouse-0.1.0-py3-none-any.whl"
    assert manifest["python_modules_installer_option"] == "--no-deps"
    assert sorted(p.name for p in (out / "jobs").iterdir()) == sorted(
        Path(s.script).name for s in pipeline_steps.jobs()
    )
    assert "metering_hourly" in manifest["scripts"]
    for step in pipeline_steps.jobs():
        entry = manifest["scripts"][step.name]
        assert entry["file"] == step.script
        assert entry["sha256"] == hashlib.sha256((root / step.script).read_bytes()).hexdigest()
    names = [m.split("==")[0] for m in manifest["python_modules"]]
    assert "pydantic-settings" in names
    assert not {"pyspark", "pysail", "numpy", "pyarrow", "boto3", "streamlit"} & set(names)


def test_no_wheel_needs_a_wheel_already_built(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="--no-wheel needs exactly one wheel"):
        build_bundle(tmp_path / "out", fake_root(tmp_path), wheel=False)


def test_build_wheel_builds_offline(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    (project / "tinypkg").mkdir(parents=True)
    (project / "tinypkg" / "__init__.py").write_text("VALUE = 42\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinypkg"\nversion = "1.2.3"\n[tool.setuptools]\npackages = ["tinypkg"]\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    wheel = build_wheel(project, out)
    assert wheel.name == "tinypkg-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("tinypkg/__init__.py") == b"VALUE = 42\n"
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "tinypkg"]  # checkout untouched


def test_package_command_regenerates_and_bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakehouse.commands import package as command

    root = fake_root(tmp_path)
    monkeypatch.setattr(generate, "project_root", lambda: root)
    out = tmp_path / "dist"
    out.mkdir()
    (out / "partner_central_lakehouse-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    app = typer.Typer()
    command.register(app)

    @app.callback()
    def _root() -> None:
        """Test CLI."""

    runner = CliRunner()
    stale = runner.invoke(app, ["package", "--check"])
    assert isinstance(stale.exception, BadInput) and "out of date" in str(stale.exception)

    result = runner.invoke(app, ["package", "--out", str(out), "--no-wheel"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (root / generate.STATE_MACHINE_FILE).read_text() == generate.generated_files()[0].text
    assert (root / generate.GLUE_JOBS_FILE).is_file()
    assert json.loads((out / "manifest.json").read_text())["scripts"].keys() == {
        s.name for s in pipeline_steps.jobs()
    }
    assert "gold_ace" in result.output

    fresh = runner.invoke(app, ["package", "--check"])
    assert fresh.exit_code == 0, repr(fresh.exception)
    assert "match" in fresh.output


def test_the_glue_wheel_of_this_project_contains_no_emulator(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    assert (root / "sandboxes" / "partner_central").is_dir()  # the emulators are in the checkout...
    wheel = build_wheel(root, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "lakehouse/cli.py" in names and "lakehouse/deploy/package.py" in names
    assert [n for n in names if n.startswith("sandboxes/") or "/sandboxes/" in n] == []  # ...not in the wheel
    top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
    with zipfile.ZipFile(wheel) as archive:
        assert "sandboxes" not in archive.read(top_level).decode().split()
