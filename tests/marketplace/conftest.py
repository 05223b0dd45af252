"""Fixtures for the Marketplace tests: a fresh seeded sandbox per test, on a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from lakehouse.marketplace.connector import (
    ChangeSets,
    MarketplaceConfig,
    MarketplaceReader,
    MeteringSender,
    build_client,
)
from sandboxes.marketplace import (
    PLATFORM_SELLER,
    Clock,
    DemoWorld,
    MarketplaceSandbox,
    SandboxState,
    seed_demo,
    serve_in_thread,
)

NOW = datetime(2026, 3, 10, 12, 20, tzinfo=UTC)
FAST = {"backoff_base_s": 0.001, "backoff_cap_s": 0.005}


@dataclass
class MP:
    """One test's Marketplace: the sandbox, what it seeded, and clients acting as a seller."""

    sandbox: MarketplaceSandbox
    world: DemoWorld
    clock: Clock

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    def config(self, seller: str = PLATFORM_SELLER) -> MarketplaceConfig:
        kw = self.sandbox.credentials(seller)
        return MarketplaceConfig(
            endpoint_url=kw["endpoint_url"],
            aws_access_key_id=kw["aws_access_key_id"],
            aws_secret_access_key=kw["aws_secret_access_key"],
        )

    def client(self, service: str, seller: str = PLATFORM_SELLER) -> Any:
        return build_client(service, self.config(seller))

    def reader(self, seller: str = PLATFORM_SELLER) -> MarketplaceReader:
        return MarketplaceReader.from_config(self.config(seller), **FAST)

    def sender(self, **options: Any) -> MeteringSender:
        return MeteringSender.from_config(self.config(), **{**FAST, **options})

    def change_sets(self, seller: str = PLATFORM_SELLER, **options: Any) -> ChangeSets:
        return ChangeSets.from_config(self.config(seller), **{"poll_interval_s": 0.01, **FAST, **options})

    def buyer(self, tenant: str) -> dict[str, str]:
        return self.world.buyers[tenant]


@pytest.fixture
def mp() -> Iterator[MP]:
    """A seeded sandbox (platform product + buyers acme/globex/initech, seller tenants acme/globex) at NOW."""
    clock = Clock(NOW)
    state = SandboxState(clock=clock)
    world = seed_demo(state)
    state.catalog.preparing_s = 0.02
    state.catalog.applying_s = 0.02
    sandbox = serve_in_thread(state)
    try:
        yield MP(sandbox, world, clock)
    finally:
        sandbox.stop()
