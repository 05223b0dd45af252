"""``lakehouse connector add|verify|list|disable``: the CLI links an account through the API by URL."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from control_plane.connectors import flows
from control_plane.connectors.views import get_verifier
from lakehouse.cli import main
from sandboxes.partner_central import PLATFORM_ACCESS_KEY, PLATFORM_SECRET
from tests.connectors.conftest import sandbox  # noqa: F401 (fixture)
from tests.control_plane.conftest import make_tree
from tests.control_plane.served import serve


@pytest.fixture
def api(app, sandbox, monkeypatch):  # noqa: F811
    """The test app served by URL, verifying roles against the sandbox's STS as the platform principal."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", PLATFORM_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLATFORM_SECRET)
    app.dependency_overrides[get_verifier] = lambda: flows.StsVerifier(endpoint_url=sandbox.url)
    with serve(app) as url:
        yield url
    app.dependency_overrides.pop(get_verifier, None)


@dataclass
class Ran:
    exit_code: int
    output: str


@pytest.fixture
def run(capsys, monkeypatch):
    """Run ``lakehouse`` (its real entry point, with exit-code mapping) and capture what it printed."""
    monkeypatch.setenv("COLUMNS", "250")

    def invoke(*args: str, url: str | None, key: str | None) -> Ran:
        capsys.readouterr()
        extra = [*(["--api-url", url] if url else []), *(["--credential", key] if key else [])]
        code = main([*args, *extra])
        captured = capsys.readouterr()
        return Ran(code, captured.out + captured.err)

    return invoke


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_add_prints_the_external_id_once_then_verify_and_list(client, admin, api, sandbox, run):  # noqa: F811
    tree = make_tree(client, admin, levels=("workspace",))
    key = tree.h("workspace")["X-API-Key"]
    account = sandbox.state.tenants["acme"]
    added = run(
        "connector", "add", "--tenant", tree.workspace, "--service", "partner-central-selling",
        "--account", account.account_id, "--role-arn", account.role_arn, "--reason", "link acme",
        url=api, key=key,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    external_id = re.search(r"ExternalId \(shown once\): (lh-[0-9a-f]{40})", added.output).group(1)
    connector_id = re.search(
        r"connector (con-[0-9a-f]{18}) for partner-central-selling: failed", added.output
    )
    assert connector_id, added.output
    assert "not verified yet" in added.output and "AccessDenied" in added.output

    refused = run("connector", "verify", connector_id.group(1), "--tenant", tree.workspace, url=api, key=key)
    assert refused.exit_code == 4 and "AccessDenied" in refused.output

    sandbox.state.set_external_id("acme", external_id)
    verified = run("connector", "verify", connector_id.group(1), "--tenant", tree.workspace, url=api, key=key)
    assert verified.exit_code == 0 and "verified at" in verified.output

    listed = run("connector", "list", "--tenant", tree.workspace, "--format", "json", url=api, key=key)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["id"], r["status"], r["role_arn"]) for r in rows] == [
        (connector_id.group(1), "verified", account.role_arn)
    ]
    assert external_id not in listed.output


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_refusals_map_to_exit_codes(client, admin, api, sandbox, run, monkeypatch):  # noqa: F811
    tree = make_tree(client, admin, roles=("tenant_admin", "viewer"), levels=("workspace",))
    account = sandbox.state.tenants["acme"]
    args = (
        "connector", "add", "--tenant", tree.workspace, "--service", "partner-central-selling",
        "--account", account.account_id, "--role-arn", account.role_arn, "--no-verify",
    )  # fmt: skip
    viewer = run(*args, url=api, key=tree.h("workspace", "viewer")["X-API-Key"])
    assert viewer.exit_code == 4 and "403" in viewer.output
    other_account = run(
        *args[:-3], "999999999999", "--role-arn", account.role_arn, url=api,
        key=tree.h("workspace")["X-API-Key"],
    )  # fmt: skip
    assert other_account.exit_code == 2 and "999999999999" in other_account.output
    monkeypatch.delenv("LAKEHOUSE_CONTROL_PLANE_URL", raising=False)
    no_url = run("connector", "list", "--tenant", tree.workspace, url=None, key="lh.x.y.z")
    assert no_url.exit_code == 2 and "--api-url" in no_url.output
