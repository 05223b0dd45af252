"""The dashboards in a real browser: `lakehouse dashboards` on 127.0.0.1 (signing users in through the control-plane
API, which runs in its own process), each page opened in headless Chromium (signed in with an API key), warmed up once, then loaded again, screenshotted after render and checked for the
KPI values in the DOM. Screenshots stay in test-artifacts/screenshots/.

Chromium is Debian's ``chromium`` package (``scripts/ensure_chromium.sh`` installs it). Without it the test
skips, except with CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dashboards.cdp import Browser, BrowserError, find_chromium
from tests.dashboards.conftest import CONTROL_PLANE_SECRETS, REPO, free_port, pct, usd, wait_until_up
from tests.dashboards.lakedata import EXPECTED

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
WINDOW = (
    1440,
    3200,
)  # tall enough for a whole page: Streamlit scrolls inside its main area, not the document

A = EXPECTED["acme"]
PAGES = [
    # (url path, screenshot name, KPI values in page order)
    ("", "home", [f"{A['opportunities']:,}", usd(A["spend"]), pct(A["win_rate"]), str(A["action_required"])]),
    (
        "ACE_Pipeline",
        "ace_pipeline",
        [
            f"{A['opportunities']:,}",
            usd(A["spend"]),
            pct(A["win_rate"]),
            str(A["stale"]),
            str(A["action_required"]),
        ],
    ),
    # 13 tables with data, 60 rows (see test_pipeline_health_page), 2 quarantined, 1 failing, 1 failed run
    (
        "Pipeline_Health",
        "pipeline_health",
        ["13", "60", str(A["quarantined"]), str(A["failing_latest"]), str(A["failed_runs"])],
    ),
]

RENDERED = """(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  if (document.querySelector('[data-testid="stSkeleton"]')) return null;
  const visible = e => e.getBoundingClientRect().width > 0;
  const charts = Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]')).filter(visible);
  if (charts.some(c => !c.querySelector('canvas, svg.marks'))) return null;
  const values = Array.from(document.querySelectorAll('[data-testid="stMetricValue"]')).map(e => e.innerText.trim());
  return values.length >= %d ? values : null;
})()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        message = "chromium is not installed: run `sudo scripts/ensure_chromium.sh` (Debian package chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass(frozen=True)
class DashboardServer:
    """``lakehouse dashboards`` running: its URL and the command's process (Streamlit is its child)."""

    url: str
    proc: subprocess.Popen


# Given to `lakehouse dashboards` as an operator's shell might have them: the command must not pass them on.
OPERATOR_SECRETS = {
    "LAKEHOUSE_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere",
    "LAKEHOUSE_JWT_SECRET": "operator-shell-secret-operator-shell-secret",
}


@pytest.fixture(scope="module")
def dash_server(dash_lake: Path, cp_api: str) -> Iterator[DashboardServer]:
    """`lakehouse dashboards --port N --api-url API` against the two-tenant lake, stopped (process group)
    afterwards; it signs users in through the control-plane API running in its own process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CONTROL_PLANE_SECRETS}
    env.update(OPERATOR_SECRETS, LAKEHOUSE_LAKE_ROOT=str(dash_lake), RUST_LOG="warn")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "dashboards-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakehouse.cli", "dashboards", "--port", str(port), "--api-url", cp_api],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", proc, log_path)
        yield DashboardServer(url, proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the CLI and the streamlit server it started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app_url(dash_server: DashboardServer) -> str:
    return dash_server.url


def test_the_streamlit_process_holds_only_the_control_plane_url(dash_server, cp_api):
    import psutil

    children = psutil.Process(dash_server.proc.pid).children(recursive=True)
    streamlit = [c for c in children if "streamlit" in " ".join(c.cmdline())]
    assert len(streamlit) == 1, [c.cmdline() for c in children]
    env = streamlit[0].environ()
    assert env["LAKEHOUSE_CONTROL_PLANE_URL"] == cp_api
    assert not set(env) & {*CONTROL_PLANE_SECRETS, "LAKEHOUSE_CONTROL_PLANE_CREDENTIAL"}
    assert psutil.Process(dash_server.proc.pid).environ()["LAKEHOUSE_JWT_SECRET"]  # the command had it


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    b = Browser(chromium, profile, width=WINDOW[0], height=WINDOW[1], log=ARTIFACTS / "chromium.log")
    try:
        yield b
    finally:
        b.close()


def open_signed_in(browser: Browser, url: str, credential: str, metric_count: int) -> list[str]:
    """Load ``url``, sign in through the form, wait until the page has rendered; returns the KPI values."""
    browser.navigate(url)
    browser.type_into('input[type="password"]', credential)
    browser.wait_for(
        """(() => { const b = Array.from(document.querySelectorAll('button'))
        .find(b => b.innerText.trim() === 'Sign in'); if (b) { b.click(); return true; } return false; })()""",
        what="the Sign in button",
    )
    deadline = time.monotonic() + 60
    previous = None
    while True:  # rendered, and unchanged for a moment (late reruns settle)
        values = browser.wait_for(RENDERED % metric_count, timeout=60, what="the rendered page")
        if values == previous:
            return values
        previous = values
        if time.monotonic() > deadline:
            raise BrowserError("the page kept changing")
        time.sleep(0.5)


def full_page_screenshot(browser: Browser, path: Path) -> Path:
    """Capture the page down to the end of the main area (Streamlit scrolls inside it; the window is tall)."""
    bottom = (
        browser.evaluate("""(() => { const m = document.querySelector('[data-testid="stMainBlockContainer"]');
        return m ? Math.ceil(m.getBoundingClientRect().bottom) : 0 })()""")
        or WINDOW[1]
    )
    return browser.screenshot(path, height=max(600, min(int(bottom) + 24, WINDOW[1])))


@pytest.mark.parametrize(("path", "name", "kpis"), PAGES, ids=[p[1] for p in PAGES])
def test_page_renders_the_kpis_in_chromium(browser, app_url, cp_keys, path, name, kpis):
    url = f"{app_url}/{path}"
    open_signed_in(browser, url, cp_keys.acme_analyst, len(kpis))  # warm-up: compile, fill the caches
    values = open_signed_in(browser, url, cp_keys.acme_analyst, len(kpis))
    shot = full_page_screenshot(browser, SCREENSHOTS / f"{name}.png")
    assert values == kpis
    text = browser.text()
    assert all(v in text for v in kpis)
    assert "Traceback" not in text and "Error" not in browser.evaluate(
        "Array.from(document.querySelectorAll('[data-testid=\"stException\"]')).map(e => e.innerText).join(' ')"
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    (SCREENSHOTS / f"{name}.json").write_text(json.dumps({"url": url, "kpis": values}, indent=2))


def test_a_globex_key_sees_globex_numbers_in_the_browser(browser, app_url, cp_keys):
    g = EXPECTED["globex"]
    values = open_signed_in(browser, f"{app_url}/ACE_Pipeline", cp_keys.globex_analyst, 5)
    assert values == [
        f"{g['opportunities']:,}",
        usd(g["spend"]),
        pct(g["win_rate"]),
        str(g["stale"]),
        str(g["action_required"]),
    ]
    cells = browser.evaluate("""Array.from(document.querySelectorAll('[data-testid^="glide-cell-"]'))
        .map(e => e.innerText)""")
    assert not [c for c in cells if "O-A" in c or "acme" in c]
    full_page_screenshot(browser, SCREENSHOTS / "ace_pipeline_globex.png")
