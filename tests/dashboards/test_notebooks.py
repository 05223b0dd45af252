"""The analyst notebooks run top to bottom (papermill, a kernel of this interpreter) and their key numbers equal
the lake's gold / ops tables, read independently through lakehouse.io with Spark."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dashboards.conftest import REPO

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

NOTEBOOKS = REPO / "notebooks"
KERNEL = "lakehouse-notebook-tests"


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec that runs this very interpreter (the project .venv), whatever kernels the machine has."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Partner Central Lakehouse (.venv)",
                "language": "python",
            }
        )
    )
    return root


def run_notebook(
    name: str, out_dir: Path, kernel_path: Path, monkeypatch: pytest.MonkeyPatch, **parameters: Any
) -> dict[str, Any]:
    """Execute a notebook with papermill; return the JSON its ``summary`` cell printed."""
    import nbformat
    import papermill

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    out = out_dir / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(REPO),
        progress_bar=False,
        execution_timeout=120,
    )
    nb = nbformat.read(out, as_version=4)
    summaries = [c for c in nb.cells if "summary" in c.metadata.get("tags", [])]
    assert len(summaries) == 1, f"{name} must have exactly one cell tagged 'summary'"
    text = "".join(o.get("text", "") for o in summaries[0].outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1])


def _gold(spark, table: str, tenant: str) -> list[Any]:
    from lakehouse import io
    from lakehouse.tenancy import TenantScope

    return io.read(spark, table, TenantScope.for_tenant(tenant)).collect()


def test_every_notebook_has_a_papermill_parameters_cell():
    import nbformat

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        assert "tenant = " in tagged[0].source and "lake_root = " in tagged[0].source, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
            f"{path.name} has outputs"
        )


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_pipeline_exploration_matches_gold(
    tenant, spark, dash_env, dash_lake, kernel_path, tmp_path, monkeypatch
):
    summary = run_notebook(
        "01_ace_pipeline_exploration.ipynb",
        tmp_path,
        kernel_path,
        monkeypatch,
        tenant=tenant,
        lake_root=str(dash_lake),
    )
    gold = _gold(spark, "gold.ace_pipeline", tenant)
    by_stage: dict[str, int] = {}
    for r in gold:
        by_stage[r["stage"]] = by_stage.get(r["stage"], 0) + r["opportunity_count"]
    assert summary["tenant"] == tenant
    assert summary["opportunities"] == sum(r["opportunity_count"] for r in gold)
    assert summary["expected_monthly_spend_usd"] == float(sum(r["expected_monthly_spend_usd"] for r in gold))
    assert summary["by_stage"] == by_stage
    assert sum(summary["segment_opportunities"].values()) == summary["opportunities"]


def test_data_quality_triage_matches_the_ops_tables(
    spark, dash_env, dash_lake, kernel_path, tmp_path, monkeypatch
):
    summary = run_notebook(
        "02_data_quality_triage.ipynb",
        tmp_path,
        kernel_path,
        monkeypatch,
        tenant="acme",
        lake_root=str(dash_lake),
    )
    results = _gold(spark, "ops.dq_result", "acme")
    quarantine = _gold(spark, "silver.opportunity_quarantine", "acme")
    latest_run = max(results, key=lambda r: r["validated_at"])["run_id"]
    assert summary["quarantined"] == len(quarantine)
    assert summary["expectations_evaluated"] == len(results)
    assert summary["failing_expectations"] == sum(1 for r in results if not r["success"])
    assert summary["failing_now"] == sorted(
        f"{r['table_name']}: {r['expectation']}"
        for r in results
        if r["run_id"] == latest_run and not r["success"]
    )
    assert summary["issues"] == len(_gold(spark, "ops.dq_issue", "acme"))


def test_forecast_matches_gold_and_its_weights(
    spark, dash_env, dash_lake, kernel_path, tmp_path, monkeypatch
):
    weights = {
        "Prospect": 0.5,
        "Qualified": 0.5,
        "Technical Validation": 0.5,
        "Committed": 0.5,
        "Launched": 1.0,
    }
    summary = run_notebook(
        "03_pipeline_forecast.ipynb",
        tmp_path,
        kernel_path,
        monkeypatch,
        tenant="acme",
        lake_root=str(dash_lake),
        stage_weights=weights,
    )
    gold = [r for r in _gold(spark, "gold.ace_pipeline", "acme") if r["target_close_month"] is not None]
    months: dict[str, list[float]] = {}
    for r in gold:
        spend = float(r["expected_monthly_spend_usd"])
        entry = months.setdefault(r["target_close_month"], [0.0, 0.0])
        entry[0] += spend
        entry[1] += spend * weights.get(r["stage"], 0.0)
    assert summary["months"] == {
        m: {"unweighted_usd": round(u, 2), "weighted_usd": round(w, 2)} for m, (u, w) in months.items()
    }
    assert summary["total_weighted_usd"] == round(sum(w for _, w in months.values()), 2)
    assert summary["weights"] == weights
