"""The Agents page in AppTest: signed in through the control-plane API (served over HTTP), asking the advisor."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.test_control_plane import rows_for
from tests.control_plane.conftest import create_key

PAGE = Path(__file__).resolve().parents[2] / "dashboards" / "pages" / "05_Agents.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api_url(sqlite_stack, provider, tenant, monkeypatch, tmp_path) -> Iterator[str]:
    """The stack's app served by uvicorn on a loopback port, its agents on the emulator and in-memory rows."""
    import uvicorn

    app = sqlite_stack.app
    before = app.state.agent_provider, app.state.agent_data
    app.state.agent_provider, app.state.agent_data = provider, rows_for(tenant)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("LAKEHOUSE_CONTROL_PLANE_URL", url)
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path / "lake"))
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    app.state.agent_provider, app.state.agent_data = before


def signed_in(credential: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=30)
    at.run()
    at.text_input(key="signin_credential").input(credential)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_the_advisor_answers_on_the_page_with_its_citations(api_url, sqlite_stack, tenant):
    analyst = create_key(sqlite_stack.client, sqlite_stack.admin, tenant, "analyst")["X-API-Key"]
    at = signed_in(analyst)
    at.button(key="a_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Citations"] == "1"
    frames = [d.value for d in at.dataframe]
    assert list(frames[0]["citation"]) == ["silver.opportunity/O1001"]
    assert list(frames[1]["tool"]) == ["opportunities_needing_attention"]
    assert list(frames[1]["outcome"]) == ["ok"]
    assert any(
        "O1001" in m.value and "target close date 2026-11-15 has passed" in m.value for m in at.markdown
    )


@pytest.mark.slow
def test_a_viewer_sees_the_policy_refusal_and_no_rows(api_url, sqlite_stack, tenant):
    viewer = create_key(sqlite_stack.client, sqlite_stack.admin, tenant, "viewer")["X-API-Key"]
    at = signed_in(viewer)
    at.button(key="a_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Citations"] == "0"
    calls = next(d.value for d in at.dataframe)
    assert list(calls["outcome"]) == ["denied"]
    assert not any("O1001" in m.value for m in at.markdown)
