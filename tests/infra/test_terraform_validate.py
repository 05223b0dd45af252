"""`terraform validate` on both environment roots, with the AWS provider from this machine's local mirror.

The static HCL tests check our own rules; this runs Terraform itself: every module call, variable, resource
argument and reference must be valid for the pinned AWS provider. `terraform plan` needs AWS credentials and
an account, so it cannot run here. The copy keeps `.terraform/` and the lock file out of the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.hcl import TERRAFORM

PROVIDER_MIRROR = Path(os.environ.get("LAKEHOUSE_TF_PROVIDER_MIRROR", "/opt/tf-plugins"))
TERRAFORM_BIN = shutil.which("terraform")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        TERRAFORM_BIN is None
        or not (PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir(),
        reason="needs the terraform binary and a local AWS provider mirror (no registry access here)",
    ),
]

CLI_CONFIG = """provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/hashicorp/*"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/*"]
  }}
}}
"""


def _terraform(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM_BIN is not None
    return subprocess.run(
        [TERRAFORM_BIN, *args, "-no-color"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("tf")
    shutil.copytree(TERRAFORM, root / "terraform", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    rc = root / "terraformrc"
    rc.write_text(CLI_CONFIG.format(mirror=PROVIDER_MIRROR))
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return root / "terraform", env


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_environment_root_is_valid_terraform(tree: tuple[Path, dict[str, str]], environment: str) -> None:
    terraform, env = tree
    root = terraform / "envs" / environment
    init = _terraform(["init", "-backend=false", "-input=false"], root, env)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _terraform(["validate"], root, env)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "The configuration is valid" in validate.stdout


def test_validate_catches_a_broken_reference(tree: tuple[Path, dict[str, str]]) -> None:
    terraform, env = tree
    broken = terraform.parent / "broken"
    shutil.copytree(terraform, broken)
    main = broken / "envs" / "dev" / "main.tf"
    main.write_text(main.read_text() + '\noutput "probe" {\n  value = module.platform.no_such_output\n}\n')
    root = broken / "envs" / "dev"
    assert _terraform(["init", "-backend=false", "-input=false"], root, env).returncode == 0
    validate = _terraform(["validate"], root, env)
    assert validate.returncode != 0
    assert "no_such_output" in validate.stdout + validate.stderr
