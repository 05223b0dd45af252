"""Static checks of terraform/: it parses, modules follow the layout, every variable is typed and described."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.hcl import ENVS, MODULE_NAMES, MODULES, TERRAFORM, load, module, module_dirs, tf_files

MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")


def test_every_tf_file_parses() -> None:
    files = tf_files()
    assert len(files) >= 4 * len(MODULE_NAMES)  # main, variables, outputs, versions
    failures = []
    for path in files:
        try:
            load(path)
        except Exception as exc:
            failures.append(f"{path.relative_to(TERRAFORM)}: {exc}")
    assert failures == []


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_has_the_standard_files(name: str) -> None:
    missing = [f for f in MODULE_FILES if not (MODULES / name / f).is_file()]
    assert missing == [], f"module {name} lacks {missing}"


def test_nested_modules_and_roots_have_the_standard_files() -> None:
    for directory in module_dirs():
        expected = (
            MODULE_FILES
            if directory.parent != ENVS
            else ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
        )
        missing = [f for f in expected if not (directory / f).is_file()]
        assert missing == [], f"{directory.relative_to(TERRAFORM)} lacks {missing}"
    assert {d.name for d in ENVS.iterdir() if d.is_dir()} >= {"dev", "prod"}


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_variable_is_typed_and_described_and_every_output_described(directory: Path) -> None:
    mod = module(directory)
    assert mod.variables, f"{directory} declares no variables"
    problems = []
    for name, body in mod.variables.items():
        if "type" not in body:
            problems.append(f"variable {name} has no type")
        if len(str(body.get("description", "")).strip()) < 10:
            problems.append(f"variable {name} has no real description")
    for name, body in mod.outputs.items():
        if len(str(body.get("description", "")).strip()) < 10:
            problems.append(f"output {name} has no real description")
    assert problems == []


def test_variables_live_in_variables_tf_and_providers_only_in_roots() -> None:
    for path in tf_files():
        doc = load(path)
        if "variable" in doc:
            assert path.name == "variables.tf", f"{path}: variables belong in variables.tf"
        if "provider" in doc:
            assert path.parent.parent == ENVS, f"{path}: modules must not configure providers"


@pytest.mark.parametrize(
    "directory",
    [d for d in module_dirs() if module(d).modules],
    ids=lambda p: str(p.relative_to(TERRAFORM)),
)
def test_module_calls_pass_only_declared_variables_and_set_every_required_one(directory: Path) -> None:
    for call_name, args in module(directory).modules.items():
        called = module((directory / args["source"]).resolve())
        passed = set(args) - {"source", "depends_on", "providers", "count", "for_each"}
        where = f"{directory.relative_to(TERRAFORM)}/{call_name}"
        assert passed <= set(called.variables), f"{where} passes unknown {passed - set(called.variables)}"
        required = {n for n, v in called.variables.items() if "default" not in v}
        assert required <= passed, f"{where} misses required {required - passed}"


def test_environments_only_call_the_platform_and_hold_no_resources() -> None:
    platform = module(MODULES / "platform")
    for env in ("dev", "prod"):
        root = module(ENVS / env)
        assert root.resources == {} and root.data == {}, (
            f"envs/{env} declares resources: {list(root.resources)}"
        )
        assert list(root.modules) == ["platform"]
        call = root.modules["platform"]
        assert call["source"] == "../../modules/platform"
        # Every platform variable is declared here and passed through unchanged; only provider settings are extra.
        assert set(root.variables) == set(platform.variables) | {"region", "tags"}, env
        for name in platform.variables:
            assert call.get(name) == f"${{var.{name}}}", f"envs/{env} does not pass {name} through"
        assert set(root.outputs) == set(platform.outputs), env
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (ENVS / "dev" / name).read_text() == (ENVS / "prod" / name).read_text(), (
            f"envs/dev/{name} and envs/prod/{name} differ: put the difference in env.auto.tfvars"
        )


def test_environment_profiles_set_every_platform_variable_without_a_default() -> None:
    platform = module(MODULES / "platform")
    deployment = {"api_image", "dashboards_image", "certificate_arn", "api_hostname", "dashboards_hostname"}
    for env in ("dev", "prod"):
        profile = load(ENVS / env / "env.auto.tfvars")
        example = load(ENVS / env / "terraform.tfvars.example")
        assert set(profile) | set(example) <= set(module(ENVS / env).variables), env
        required = {n for n, v in platform.variables.items() if "default" not in v}
        assert required <= set(profile) | deployment, (
            f"envs/{env} leaves {required - set(profile) - deployment} unset"
        )
        assert deployment <= set(example), (
            f"envs/{env}/terraform.tfvars.example lacks {deployment - set(example)}"
        )
        assert profile["environment"] == env


def test_version_constraints_are_the_same_everywhere() -> None:
    constraints = set()
    for directory in module_dirs():
        text = (directory / "versions.tf").read_text()
        constraints.add(re.search(r'\bversion\s*=\s*"([^"]+)"', text).group(1))
        assert 'source  = "hashicorp/aws"' in text
    assert constraints == {">= 5.80.0, < 6.0.0"}


def test_terraform_fmt_is_clean() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        # A formatting tool, not a service: no package registry reachable here ships the terraform binary.
        pytest.skip("terraform binary not installed: `terraform fmt -check` not run")
    result = subprocess.run(
        [terraform, "fmt", "-recursive", "-check", str(TERRAFORM)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform/`: {result.stdout}"
