"""A local, stateful Partner Central (``partnercentral-selling``) that boto3 reaches through ``endpoint_url``.

It speaks the real awsJson1_0 protocol, authenticates callers with SigV4 (each tenant is its own partner
account, with an access key and a linked-account role to assume), validates every request against botocore's
service model, and can throttle, fail and slow down calls on demand. It shares no code with
the product's Partner Central connector (which never imports it): it is the independent check.

    from sandboxes.partner_central import start_demo_sandbox
    server = start_demo_sandbox()          # three seeded demo tenants, serving in a thread
    settings = server.connector_settings("acme")   # endpoint_url + the tenant's access key
    ...
    server.stop()
"""

from __future__ import annotations

from sandboxes._http import Faults
from sandboxes.partner_central.engagements import converted_leads
from sandboxes.partner_central.server import AWS_QUOTAS, Quotas, SandboxServer, serve_in_thread
from sandboxes.partner_central.state import (
    PLATFORM_ACCESS_KEY,
    PLATFORM_SECRET,
    SandboxState,
    TenantAccount,
)

# tenant id -> opportunities seeded in its Sandbox catalog; acme also holds the real sample in its AWS catalog
DEMO_TENANTS: dict[str, int] = {"acme": 120, "globex": 80, "initech": 45}


def parse_tenants(values: list[str] | tuple[str, ...]) -> dict[str, int]:
    """``["acme=100", "globex"]`` -> ``{"acme": 100, "globex": 50}`` (raises ValueError on a bad count)."""
    out: dict[str, int] = {}
    for value in values:
        name, _, count = value.partition("=")
        if not name.strip():
            raise ValueError(f"tenant name missing in {value!r}")
        out[name.strip()] = int(count) if count else 50
    return out


def demo_state(tenants: dict[str, int] | None = None, *, seed: int = 7) -> SandboxState:
    """A sandbox state seeded with the demo tenants (deterministic for a given seed and clock)."""
    state = SandboxState(seed=seed)
    for i, (tenant, count) in enumerate((tenants or DEMO_TENANTS).items()):
        leads = 12 - 3 * i
        state.seed_tenant(
            tenant,
            opportunities=count
            - converted_leads(leads),  # converted leads bring the catalog back to ``count``
            catalog="Sandbox",
            solutions=3 + i,
            invitations=4 + 2 * i,
            leads=leads,
            customer_accounts=8 - 2 * i,
        )
        if i == 0:
            state.seed_tenant(
                tenant, opportunities=4, catalog="AWS", solutions=2, invitations=2, with_fixture=True
            )
    return state


def start_demo_sandbox(
    tenants: dict[str, int] | None = None,
    *,
    port: int = 0,
    faults: Faults | None = None,
    quotas: Quotas | None = None,
) -> SandboxServer:
    """Start a seeded sandbox in a background thread on 127.0.0.1 (``port=0`` picks a free port)."""
    return serve_in_thread(demo_state(tenants), port=port, faults=faults, quotas=quotas)


__all__ = [
    "AWS_QUOTAS",
    "DEMO_TENANTS",
    "PLATFORM_ACCESS_KEY",
    "PLATFORM_SECRET",
    "Faults",
    "Quotas",
    "SandboxServer",
    "SandboxState",
    "TenantAccount",
    "demo_state",
    "parse_tenants",
    "serve_in_thread",
    "start_demo_sandbox",
]
