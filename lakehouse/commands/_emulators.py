"""Load the AWS emulators (the ``sandboxes`` package) for the commands that need them, only when installed.

The emulators ship with the dev extra, never with the product or its Glue wheel; the CLI is the composition
root, so it alone imports them, lazily, and says how to install them when they are missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING

from lakehouse.errors import BadInput

if TYPE_CHECKING:
    from lakehouse.marketplace.demo import MarketplaceEndpoint

INSTALL_HINT = "pip install -e '.[dev]'"
# What the emulators need beyond the product's own dependencies (the dev extra brings them).
_EMULATOR_MODULES = ("sandboxes", "cbor2", "regex")


def load(module: str) -> ModuleType:
    """Import ``module`` of the ``sandboxes`` package; BadInput (exit 2) with the pip command when it is absent."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in _EMULATOR_MODULES:
            raise
        raise BadInput(
            f"the AWS emulators are not installed ({exc.name} is missing): they come with the dev extra; "
            f"install it with: {INSTALL_HINT}"
        ) from None


@contextmanager
def partner_central() -> Iterator[dict[str, dict[str, str]]]:
    """Run the seeded Partner Central emulator; yields tenant -> ``ConnectorConfig`` keywords (url and keys)."""
    emulator = load("sandboxes.partner_central")
    server = emulator.start_demo_sandbox()
    try:
        yield {tenant: server.connector_settings(tenant) for tenant in emulator.DEMO_TENANTS}
    finally:
        server.stop()


@contextmanager
def marketplace() -> Iterator[MarketplaceEndpoint]:
    """Run the seeded Marketplace emulator; yields its endpoint as the platform seller with the buyers' tokens."""
    from lakehouse.marketplace.demo import MarketplaceEndpoint

    emulator = load("sandboxes.marketplace")
    sandbox = emulator.start_demo_sandbox()
    try:
        creds = sandbox.credentials(emulator.PLATFORM_SELLER)
        yield MarketplaceEndpoint(
            url=creds["endpoint_url"],
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
            registration_tokens={t: b["registration_token"] for t, b in sandbox.world.buyers.items()},
            billed_records=lambda: len(sandbox.state.metering.billed()),
        )
    finally:
        sandbox.stop()
