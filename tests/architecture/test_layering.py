"""The layering contracts in pyproject.toml hold, and a change that breaks one makes ``lint-imports`` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("lakehouse", "control_plane", "dashboards", "jobs", "sandboxes")


def _copy_tree(dest: Path) -> Path:
    """A copy of the importable packages and pyproject.toml, so the probe never touches the source tree."""
    for name in PACKAGES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_tree(tmp_path_factory.mktemp("layering"))


def test_the_contracts_hold_on_the_code_as_it_is(tree: Path) -> None:
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("scratch", "source", "contract"),
    [
        ("lakehouse/_probe.py", "import control_plane.db\n", "The core library imports no application"),
        ("lakehouse/_probe.py", "import dashboards\n", "The core library imports no application"),
        ("dashboards/_probe.py", "import control_plane.db\n", "Dashboards reach the control plane only"),
        ("jobs/_probe.py", "import control_plane\n", "Glue jobs run without the API"),
    ],
)
def test_an_import_across_a_forbidden_edge_fails_the_check(
    tmp_path: Path, scratch: str, source: str, contract: str
) -> None:
    tree = _copy_tree(tmp_path)
    (tree / scratch).write_text(f'"""A scratch module that breaks a layering contract."""\n\n{source}')
    result = _lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
