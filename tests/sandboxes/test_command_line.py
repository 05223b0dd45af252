"""The emulators' command line: each family runs in the foreground, and the product CLI needs the dev extra."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from lakehouse.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("module", "service", "call"),
    [
        ("sandboxes.partner_central", "partnercentral-selling", "list_solutions"),
        ("sandboxes.marketplace", "marketplace-catalog", "list_entities"),
    ],
)
def test_each_family_serves_in_the_foreground_until_sigterm(module: str, service: str, call: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--ready-json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        account = (ready.get("tenants") or ready.get("sellers"))[0]
        client = boto3.client(
            service,
            endpoint_url=ready["url"],
            region_name="us-east-1",
            aws_access_key_id=account["aws_access_key_id"],
            aws_secret_access_key=account["aws_secret_access_key"],
        )
        kwargs = (
            {"Catalog": "Sandbox"}
            if module.endswith("partner_central")
            else {
                "Catalog": "AWSMarketplace",
                "EntityType": "SaaSProduct",
            }
        )
        assert getattr(client, call)(**kwargs)["ResponseMetadata"]["HTTPStatusCode"] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("argv", "hidden"),
    [
        (["sandbox", "--port", "0"], "sandboxes.partner_central"),
        (["marketplace", "sandbox", "--port", "0"], "sandboxes.marketplace.__main__"),
        (["demo"], "sandboxes.partner_central"),
        (["agent", "ask", "--tenant", "acme", "--sandbox", "hi"], "sandboxes.bedrock"),
    ],
)
def test_without_the_dev_extra_the_cli_exits_2_with_the_pip_command(
    argv: list[str], hidden: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sandboxes", None)  # as if the package were not installed
    monkeypatch.setitem(sys.modules, hidden, None)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[dev]'" in err and "emulators are not installed" in err
