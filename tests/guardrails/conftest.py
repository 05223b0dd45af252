"""Fixtures for approvals, Partner Central writes and cost guardrails.

The control-plane fixtures (one app per backend: SQLite and a throwaway PostgreSQL) are reused from
``tests/control_plane/conftest.py``; the Partner Central sandbox runs in-process over real HTTP.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.control_plane.conftest import (  # noqa: F401 - fixtures reused by import
    _stacks,
    admin,
    app,
    backend,
    client,
    pg_admin_url,
    pg_database,
    pg_stack,
    stack,
)

PII_SECRET = "guardrails-test-pii-secret-0123456789"


# ----------------------------------------------------------------------------------------------- the sandbox


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A small seeded Partner Central sandbox (acme: 6 opportunities, 3 solutions, 4 invitations)."""
    from sandboxes.partner_central import SandboxState, serve_in_thread

    state = SandboxState(seed=5)
    state.seed_tenant("acme", opportunities=6, catalog="Sandbox", solutions=3, invitations=4)
    server = serve_in_thread(state)
    yield server
    server.stop()


def reader_for(url: str, server: Any, tenant: str = "acme", **overrides: Any) -> Any:
    """A PartnerCentralReader signed as ``tenant``, against ``url`` (the sandbox or a proxy in front of it)."""
    from lakehouse.partner_central.connector import ConnectorConfig, PartnerCentralReader

    account = server.state.tenants[tenant]
    settings: dict[str, Any] = {
        "endpoint_url": url,
        "aws_access_key_id": account.access_key_id,
        "aws_secret_access_key": account.secret_access_key,
        "rate_per_second": None,
        "max_attempts": 4,
    }
    settings.update(overrides)
    return PartnerCentralReader.from_config(ConnectorConfig(**settings))


def create_payload(server: Any, *, title: str = "Lakehouse pilot", start: bool = True) -> dict[str, Any]:
    """A valid create-opportunity flow payload, associating the tenant's first solution."""
    solution = min(server.state.tenants["acme"].catalog("Sandbox").solutions)
    return {
        "catalog": "Sandbox",
        "opportunity": {
            "Customer": {
                "Account": {
                    "CompanyName": "Northwind Traders",
                    "Industry": "Retail",
                    "WebsiteUrl": "https://northwind.example.com",
                    "Address": {"CountryCode": "US", "PostalCode": "98101"},
                }
            },
            "Project": {
                "Title": title,
                "CustomerBusinessProblem": "Partner pipeline data is scattered across tools "
                "and nobody trusts the forecast numbers.",
                "DeliveryModels": ["SaaS or PaaS"],
                "ExpectedCustomerSpend": [
                    {"Amount": "2500", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
                ],
            },
            "LifeCycle": {"Stage": "Prospect", "TargetCloseDate": "2027-06-30"},
            "OpportunityType": "Net New Business",
            "PartnerOpportunityIdentifier": f"lh-{title[:20]}",
        },
        "associations": [{"RelatedEntityType": "Solutions", "RelatedEntityIdentifier": solution}],
        "start_engagement": {"AwsSubmission": {"InvolvementType": "Co-Sell", "Visibility": "Full"}}
        if start
        else None,
    }


# ----------------------------------------------------------------------------------------------- a lossy proxy


class DroppingProxy(ThreadingHTTPServer):
    """Forwards requests to ``upstream``; for the next ``drop[operation]`` calls of an operation it lets the
    upstream process the request, then closes the client connection without answering (a network failure in the
    middle of the call: the write happened, the caller never learns its result)."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream.removeprefix("http://")
        self.drop: dict[str, int] = {}
        self.dropped: list[str] = []
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: DroppingProxy

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=10)
        upstream.request("POST", self.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        if self.server.drop.get(operation, 0) > 0:
            self.server.drop[operation] -= 1
            self.server.dropped.append(operation)
            self.close_connection = True
            self.connection.shutdown(2)  # processed upstream, answer lost
            return
        lines = [f"HTTP/1.1 {response.status} {response.reason}"]
        lines += [
            f"{k}: {v}" for k, v in response.getheaders() if k.lower() not in ("connection", "content-length")
        ]
        lines.append(f"Content-Length: {len(payload)}")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


@pytest.fixture
def proxy(sandbox: Any) -> Iterator[DroppingProxy]:
    server = DroppingProxy(sandbox.url)
    yield server
    server.stop()


# ----------------------------------------------------------------------------------------------- a local control plane


@dataclass
class LocalCP:
    """The control-plane database beside a test lake, with tenant ``acme`` provisioned and users."""

    db: Any
    lake: Path

    def add_user(self, tenant: str, user_id: str, role: str) -> None:
        from control_plane.auth.models import User
        from control_plane.db import DbScope, utcnow

        with self.db.session(DbScope.for_platform(), write=True) as session:
            now = utcnow()
            session.add(
                User(
                    tenant_id=tenant,
                    id=user_id,
                    email=f"{user_id}@example.com",
                    display_name=user_id,
                    role=role,
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
            session.commit()

    def set_limits(self, tenant: str, **limits: float) -> None:
        from control_plane.audit.service import SYSTEM
        from control_plane.db import DbScope
        from control_plane.quotas import service
        from control_plane.tenants.models import Tenant

        with self.db.session(DbScope.for_platform(), write=True) as session:
            service.set_limits(
                session,
                tenant=session.get(Tenant, tenant),
                values=limits,
                actor=SYSTEM,
                reason="test",
                request_id=None,
            )
            session.commit()

    def audit_actions(self, tenant: str) -> list[str]:
        from sqlalchemy import select

        from control_plane.audit.models import AuditEntry
        from control_plane.db import DbScope

        with self.db.session(DbScope.for_platform()) as session:
            return list(
                session.execute(
                    select(AuditEntry.action).where(AuditEntry.tenant_id == tenant).order_by(AuditEntry.seq)
                ).scalars()
            )


@pytest.fixture
def local_cp(lake: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCP]:
    """A lake whose control plane (SQLite beside it) knows tenant ``acme``, with users alice (approver, the usual
    requester), bob (approver) and carol (analyst)."""
    from control_plane.costs.demo import ensure_tenants
    from control_plane.quotas.local import open_database

    monkeypatch.setenv("LAKEHOUSE_PII_SECRET", PII_SECRET)
    monkeypatch.setenv("LAKEHOUSE_OPENLINEAGE_FILE", str(lake / "_lineage" / "events.jsonl"))
    monkeypatch.delenv("LAKEHOUSE_DATABASE_URL", raising=False)
    monkeypatch.delenv("LAKEHOUSE_GUARDRAILS", raising=False)
    db = open_database()
    ensure_tenants(db, ["acme"])
    cp = LocalCP(db, lake)
    for user, role in (("alice", "approver"), ("bob", "approver"), ("carol", "analyst"), ("svc", "service")):
        cp.add_user("acme", user, role)
    yield cp
    db.dispose()


def sandbox_env(monkeypatch: pytest.MonkeyPatch, server: Any, tenant: str = "acme") -> None:
    """Ambient AWS credentials of ``tenant``'s sandbox account (what the CLI's boto3 picks up)."""
    account = server.state.tenants[tenant]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", account.secret_access_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
