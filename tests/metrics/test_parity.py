"""One figure per KPI: the gold mart (Spark), the dashboards, the analyst notebook and the API
(``GET /tenants/{t}/metrics/{name}`` through ``control_plane.client``) give the same rows for every metric, and a
changed definition (a copy loaded with LAKEHOUSE_METRICS_DIR) shows up in all four without a code change."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse import metrics
from lakehouse.metrics.registry import DIR_ENV, clear_cache
from tests.dashboards.cpseed import Keys
from tests.dashboards.lakedata import AS_OF, OPPORTUNITIES, frame, write_lake
from tests.dashboards.test_marketplace_page import _gold_subscriptions, _gold_usage
from tests.dashboards.test_notebooks import run_notebook

TENANT = "acme"
ALL_METRICS = sorted(m.name for m in metrics.list_metrics())


@pytest.fixture(scope="module")
def metrics_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lake with the ACE silver and gold tables and the Marketplace marts of acme and globex; the
    environment points at it for the whole module (the API and the notebook kernel read it from there)."""
    from lakehouse import io
    from lakehouse.settings import get_settings
    from lakehouse.tenancy import TenantScope

    root = tmp_path_factory.mktemp("metrics") / "lake"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_LAKE_ROOT", str(root))
        get_settings.cache_clear()
        write_lake(spark)
        for tenant in ("acme", "globex"):
            scope = TenantScope.for_tenant(tenant)
            for table, rows in (
                ("gold.marketplace_usage", _gold_usage(tenant)),
                ("gold.marketplace_subscriptions", _gold_subscriptions(tenant)),
            ):
                io.overwrite_partition(spark, table, frame(spark, table, rows), scope)
        yield root
        get_settings.cache_clear()


@pytest.fixture
def api(metrics_lake: Path, cp_keys: Keys, monkeypatch: pytest.MonkeyPatch):
    """A client of the control-plane app (in process, over the seeded DB) factory: one per credential."""
    from fastapi.testclient import TestClient

    from control_plane.app import create_app
    from control_plane.client import ControlPlaneClient

    monkeypatch.setenv("LAKEHOUSE_DATABASE_URL", cp_keys.database_url)
    monkeypatch.setenv("LAKEHOUSE_JWT_SECRET", cp_keys.jwt_secret)
    monkeypatch.setenv("LAKEHOUSE_ENVIRONMENT", "test")
    monkeypatch.setenv("LAKEHOUSE_SEED_REGISTRY", "false")
    with TestClient(create_app()) as http:
        yield lambda credential: ControlPlaneClient("http://testserver", credential=credential, http=http)


def _round(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with floats to 6 decimals and dates as text (exact at cent and rate precision)."""
    out = []
    for row in rows:
        item = {}
        for k, v in row.items():
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            elif v is not None and not isinstance(v, str | bool):
                v = round(float(v), 6)
            item[k] = v
        out.append(item)
    return out


def mart_rows(spark, name: str) -> list[dict[str, Any]]:
    """The metric over its gold mart on Spark (the marts' engine and the Spark SQL the marts aggregate with)."""
    from dashboards.lib.processing import plain_rows

    return _round(plain_rows(metrics.compute(name, TENANT, engine="spark", spark=spark)))


def dashboard_rows(lake: Path, name: str) -> list[dict[str, Any]]:
    """The metric as the dashboards compute it, over the rows their reader reads."""
    from dashboards.lib import datasets
    from dashboards.lib.data import DeltaLakeReader

    return _round(datasets.metric_rows(DeltaLakeReader(str(lake)), TENANT, name))


def api_rows(client: Any, name: str) -> list[dict[str, Any]]:
    return _round(client.metric(TENANT, name).rows)


def _ace_gold(spark) -> dict[str, Any]:
    """The ACE figures as stored in the three gold marts."""
    from lakehouse import io
    from lakehouse.tenancy import TenantScope

    scope = TenantScope.for_tenant(TENANT)
    pipeline = io.read(spark, "gold.ace_pipeline", scope).collect()
    win = io.read(spark, "gold.ace_win_rate", scope).collect()[0]
    health = io.read(spark, "gold.ace_pipeline_health", scope).collect()
    return {
        "opportunity_count": sum(r["opportunity_count"] for r in pipeline),
        "expected_monthly_spend_usd": round(float(sum(r["expected_monthly_spend_usd"] for r in pipeline)), 6),
        "won_count": win["won_count"],
        "lost_count": win["lost_count"],
        "open_count": win["open_count"],
        "win_rate": round(win["win_rate"], 6),
        "stale_count": sum(r["stale_count"] for r in health),
        "action_required_count": sum(r["action_required_count"] for r in health),
    }


def _by_hand() -> dict[str, Any]:
    """ACE figures worked out from the inline silver rows (not from any metric code)."""
    rows = OPPORTUNITIES[TENANT]
    won = sum(1 for r in rows if r[1] == "Launched")
    lost = sum(1 for r in rows if r[1] == "Closed Lost")
    return {
        "opportunity_count": len(rows),
        "won_count": won,
        "lost_count": lost,
        "open_count": len(rows) - won - lost,
        "win_rate": round(won / (won + lost), 6),
        "action_required_count": sum(1 for r in rows if r[3] == "Action Required"),
        "stale_count": sum(
            1 for r in rows if r[2] is not None and r[2] < AS_OF and r[1] not in ("Launched", "Closed Lost")
        ),
    }


def test_mart_dashboard_and_api_agree_on_every_metric(spark, metrics_lake, api, cp_keys):
    client = api(cp_keys.acme_analyst)
    for name in ALL_METRICS:
        mart = mart_rows(spark, name)
        assert mart, name
        assert dashboard_rows(metrics_lake, name) == mart, name
        assert api_rows(client, name) == mart, name
    scalars = {n: mart_rows(spark, n)[0][n] for n in _ace_gold(spark)}
    assert scalars == _ace_gold(spark)
    assert {k: scalars[k] for k in _by_hand()} == _by_hand()


def test_the_dashboard_pages_show_the_metric_figures(spark, metrics_lake):
    from dashboards.lib import datasets
    from dashboards.lib import marketplace as M
    from dashboards.lib import processing as P
    from dashboards.lib.data import DeltaLakeReader

    reader = DeltaLakeReader(str(metrics_lake))
    view = datasets.pipeline_view(reader, TENANT, P.PipelineFilters())
    figures = {n: mart_rows(spark, n)[0][n] for n in _ace_gold(spark)}
    assert (
        view.kpis.opportunities,
        view.kpis.expected_monthly_spend_usd,
        view.kpis.won,
        view.kpis.lost,
        round(view.kpis.win_rate, 6),
        view.stale,
        view.action_required,
    ) == (
        figures["opportunity_count"],
        figures["expected_monthly_spend_usd"],
        figures["won_count"],
        figures["lost_count"],
        figures["win_rate"],
        figures["stale_count"],
        figures["action_required_count"],
    )

    def columns(table: str) -> list[str]:
        return [c for c in M.table_def(table).schema.fieldNames() if c != "tenant_id"]

    usage = M.marketplace_usage(reader, TENANT, M.UsageFilters(), columns(M.USAGE))
    kpis = M.usage_kpis(usage)
    revenue = {r["currency_code"]: r["estimated_revenue"] for r in mart_rows(spark, "estimated_revenue")}
    assert kpis.revenue == {c: round(v, 2) for c, v in revenue.items()}
    assert (kpis.records_sent, kpis.days, kpis.dimensions) == tuple(
        mart_rows(spark, n)[0][n] for n in ("records_sent", "usage_days", "metered_dimensions")
    )
    subs = M.marketplace_subscriptions(reader, TENANT, columns(M.SUBSCRIPTIONS))
    assert M.subscription_totals(subs) == {
        c: mart_rows(spark, m)[0][m] for c, m in M.SUBSCRIPTION_METRICS.items()
    }


def test_api_refuses_what_the_caller_may_not_read(metrics_lake, api, cp_keys):
    from control_plane.client import NotFound, PermissionDenied, RequestRejected

    viewer = api(cp_keys.acme_viewer)
    assert viewer.metric(TENANT, "opportunity_count").value == _by_hand()["opportunity_count"]
    with pytest.raises(PermissionDenied):  # spend is confidential; a viewer is cleared for internal
        viewer.metric(TENANT, "expected_monthly_spend_usd")
    with pytest.raises(NotFound):  # another tenant's metrics are not even visible
        api(cp_keys.globex_analyst).metric(TENANT, "opportunity_count")
    analyst = api(cp_keys.acme_analyst)
    with pytest.raises(RequestRejected, match="win_rate has no dimension 'stage'"):
        analyst.metric(TENANT, "win_rate", dimensions=["stage"])
    with pytest.raises(NotFound, match="no metric 'nope'"):
        analyst.metric(TENANT, "nope")
    grouped = analyst.metric(
        TENANT, "opportunity_count", dimensions=["stage"], filters=["stage:in:Launched,Closed Lost"]
    )
    assert grouped.rows == [
        {"stage": "Closed Lost", "opportunity_count": _by_hand()["lost_count"]},
        {"stage": "Launched", "opportunity_count": _by_hand()["won_count"]},
    ]
    assert {m.name for m in analyst.list_metrics(TENANT)} == set(ALL_METRICS)


@pytest.mark.slow
def test_the_notebook_prints_the_same_figures(
    spark,
    metrics_lake,
    kernel_path,
    tmp_path,
    monkeypatch,
):
    summary = run_notebook(
        "01_ace_pipeline_exploration.ipynb",
        tmp_path,
        kernel_path,
        monkeypatch,
        tenant=TENANT,
        lake_root=str(metrics_lake),
    )
    assert {n: _round(rows) for n, rows in summary["metrics"].items()} == {
        n: mart_rows(spark, n) for n in ALL_METRICS
    }


@pytest.fixture
def changed_definitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the definitions where 'won' also counts Committed, loaded through LAKEHOUSE_METRICS_DIR."""
    copy = tmp_path / "definitions"
    shutil.copytree(Path(str(metrics.package_definitions())), copy)
    path = copy / "won_count.yaml"
    text = path.read_text()
    assert "stage = 'Launched'" in text
    path.write_text(text.replace("stage = 'Launched'", "stage IN ('Launched', 'Committed')"))
    monkeypatch.setenv(DIR_ENV, str(copy))
    clear_cache()
    yield copy
    monkeypatch.delenv(DIR_ENV)
    clear_cache()


@pytest.mark.slow
def test_a_changed_definition_shows_up_in_all_four(
    spark,
    metrics_lake,
    api,
    cp_keys,
    kernel_path,
    changed_definitions,
    tmp_path,
    monkeypatch,
):
    from lakehouse import io
    from lakehouse.partner_central.transforms import gold as gold_tx
    from lakehouse.tenancy import TenantScope

    rows = OPPORTUNITIES[TENANT]
    won = sum(1 for r in rows if r[1] in ("Launched", "Committed"))
    lost = sum(1 for r in rows if r[1] == "Closed Lost")
    expected = {"won_count": won, "win_rate": round(won / (won + lost), 6)}
    assert expected["won_count"] != _by_hand()["won_count"]  # the change is visible

    facts = io.read(spark, "gold.ace_facts", TenantScope.for_tenant(TENANT))
    mart = gold_tx.win_rate_from_facts(facts).collect()[0]
    assert {"won_count": mart["won_count"], "win_rate": round(mart["win_rate"], 6)} == expected

    client = api(cp_keys.acme_analyst)
    summary = run_notebook(
        "01_ace_pipeline_exploration.ipynb",
        tmp_path,
        kernel_path,
        monkeypatch,
        tenant=TENANT,
        lake_root=str(metrics_lake),
    )
    for name, value in expected.items():
        assert mart_rows(spark, name) == [{name: value}]
        assert dashboard_rows(metrics_lake, name) == [{name: value}]
        assert api_rows(client, name) == [{name: value}]
        assert _round(summary["metrics"][name]) == [{name: value}]


def test_a_metric_read_across_tenants_is_audited_and_an_own_read_is_not(metrics_lake, api, cp_keys):
    admin = api(cp_keys.platform_admin)

    def reads() -> list[dict[str, Any]]:
        chain = admin.call("GET", f"/tenants/{TENANT}/audit", params={"limit": 1000})
        entries = chain["entries"] if isinstance(chain, dict) else chain
        return [e for e in entries if e["action"] == "metrics.read"]

    before = len(reads())
    assert api(cp_keys.acme_analyst).metric(TENANT, "won_count").value == _by_hand()["won_count"]
    assert len(reads()) == before
    assert admin.metric(TENANT, "won_count").value == _by_hand()["won_count"]
    after = reads()
    assert len(after) == before + 1
    assert after[-1]["resource"] == f"tenant/{TENANT}/metrics/won_count"
