"""Fixtures for the Partner Central connector tests: a seeded sandbox over real HTTP, and readers for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse.partner_central.connector import ConnectorConfig, PartnerCentralReader
from sandboxes.partner_central import SandboxServer, SandboxState, serve_in_thread

SIZES = {"acme": 60, "globex": 25}


def seeded_state() -> SandboxState:
    """acme: 60 opportunities in Sandbox + the real sample and 4 more in AWS; globex: 25 in Sandbox."""
    state = SandboxState(seed=11)
    state.seed_tenant("acme", opportunities=SIZES["acme"], catalog="Sandbox", solutions=3, invitations=5)
    state.seed_tenant("acme", opportunities=4, catalog="AWS", solutions=1, invitations=1, with_fixture=True)
    state.seed_tenant("globex", opportunities=SIZES["globex"], catalog="Sandbox", solutions=2, invitations=3)
    return state


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh seeded sandbox serving on 127.0.0.1 for one test."""
    server = serve_in_thread(seeded_state())
    yield server
    server.stop()


def config_for(server: SandboxServer, tenant: str, **overrides: Any) -> ConnectorConfig:
    """Connector settings for ``tenant`` against ``server``: limiter off (tests measure no time)."""
    account = server.state.tenants[tenant]
    settings: dict[str, Any] = {
        "endpoint_url": server.url,
        "aws_access_key_id": account.access_key_id,
        "aws_secret_access_key": account.secret_access_key,
        "rate_per_second": None,
        "max_attempts": 12,
    }
    settings.update(overrides)
    return ConnectorConfig(**settings)


def reader_for(server: SandboxServer, tenant: str, **overrides: Any) -> PartnerCentralReader:
    return PartnerCentralReader.from_config(config_for(server, tenant, **overrides))


def boto_client(server: SandboxServer, tenant: str, **config: Any) -> Any:
    """A plain boto3 client signed as ``tenant`` (for driving the sandbox directly)."""
    import boto3
    from botocore.config import Config

    account = server.state.tenants[tenant]
    return boto3.client(
        "partnercentral-selling",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}, **config),
    )
