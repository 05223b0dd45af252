"""The wheel `lakehouse package` builds carries every quality suite and registry manifest, and gates from them
when installed outside the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_FILES = (
    "lakehouse/*/suites/*.yaml",
    "lakehouse/*/modules/*.yaml",
    "lakehouse/metrics/definitions/*.yaml",
    "control_plane/registry/*.json",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built by `lakehouse package` into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    lakehouse = Path(sys.executable).parent / "lakehouse"
    result = subprocess.run(
        [str(lakehouse), "package", "--out", str(out), "--root", str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_contains_every_quality_suite_and_registry_manifest(wheel: Path) -> None:
    expected = sorted(str(p.relative_to(ROOT)) for pattern in DATA_FILES for p in ROOT.glob(pattern))
    assert len([p for p in expected if "/suites/" in p]) >= 18
    assert "control_plane/registry/module-manifest.schema.json" in expected
    assert "lakehouse/partner_central/modules/partner-central-connector.yaml" in expected
    assert "lakehouse/metrics/definitions/win_rate.yaml" in expected
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = sorted(
            n
            for n in names
            if n.endswith((".yaml", ".json")) and n.startswith(("lakehouse/", "control_plane/"))
        )
        assert [n for n in expected if n not in names] == []
        for name in expected:
            assert archive.read(name) == (ROOT / name).read_bytes(), name
    assert [
        n for n in shipped if any(d in n for d in ("/suites/", "/modules/", "/registry/", "/definitions/"))
    ] == expected


def test_the_wheel_carries_the_policy_and_the_migrations_templates(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for name in ("control_plane/authz/policy.rego", "control_plane/migrations/script.py.mako"):
        assert name in names, name
    assert any(n.startswith("control_plane/migrations/versions/0001") for n in names)


GATE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime

    import lakehouse
    from lakehouse.jobs_runtime import run_job


    def main(argv):
        from lakehouse.engine import get_spark
        from lakehouse.partner_central.entities import silver
        from lakehouse.quality.gate import run_gate
        from lakehouse.quality.suites import check_suites, load_suite

        suite = load_suite("silver.opportunity")
        print(json.dumps({"lakehouse": lakehouse.__file__, "suite": suite.source, "path": sys.path,
                          "problems": check_suites()}), flush=True)
        columns = silver.OPPORTUNITY.schema.fieldNames()
        row = tuple({"tenant_id": "acme", "opportunity_id": "O1", "catalog": "AWS",
                     "last_modified_at": datetime(2025, 1, 1)}.get(c) for c in columns)
        twice = get_spark().createDataFrame([row, row], silver.OPPORTUNITY.schema)
        run_gate(twice, suite, tenant_id="acme", run_id="wheel-check").raise_if_failed()
        return 0


    run_job(main, [])
    """
)


@pytest.mark.slow
def test_an_installed_wheel_outside_the_checkout_gates_with_its_packaged_suites_and_exits_3(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the dependencies (pyspark, pysail, GX, ...) come from the dev environment through a plain path entry;
    # its .pth files (the editable install's finder among them) are not processed, so lakehouse is the wheel's
    (Path(site) / "dev_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "gate.py").write_text(GATE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "PYTHON"))}
    env["LAKEHOUSE_LAKE_ROOT"] = str(tmp_path / "lake")
    result = subprocess.run(
        [str(python), "gate.py"], cwd=work, env=env, capture_output=True, text=True, check=False, timeout=240
    )
    assert result.returncode == 3, result.stdout + result.stderr
    facts = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert Path(facts["lakehouse"]).is_relative_to(venv)
    assert Path(facts["suite"]).is_relative_to(Path(site) / "lakehouse" / "partner_central" / "suites")
    assert facts["problems"] == []
    assert str(ROOT) not in facts["path"] and "" not in facts["path"]  # the checkout is not importable
    providers = [p for p in facts["path"] if (Path(p) / "lakehouse" / "__init__.py").is_file()]
    assert providers == [site]  # only the wheel provides lakehouse
    assert (
        "silver.opportunity: opportunity_id_unique (expect_column_values_to_be_unique) failed"
        in result.stderr
    )

    # the installed command has no checkout to regenerate Terraform inputs in, and says so
    check = subprocess.run(
        [str(venv / "bin" / "lakehouse"), "package", "--check"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert check.returncode == 2, check.stdout + check.stderr
    assert "pass --root PATH" in check.stderr
