"""A control-plane database with tenants and API keys, made through the control plane's own service functions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Keys:
    """Plaintext API keys of the seeded principals."""

    acme_analyst: str
    acme_viewer: str
    globex_analyst: str
    platform_admin: str
    database_url: str
    jwt_secret: str


JWT_SECRET = "dashboards-test-secret-0123456789abcdef-0123456789"


def seed(root: Path, tenants: tuple[str, ...] = ("acme", "globex")) -> Keys:
    """Migrate a SQLite control-plane DB under ``root``, provision ``tenants`` and create keys."""
    from control_plane.auth import keys as keyfmt
    from control_plane.auth import service as auth
    from control_plane.auth.models import ApiKey
    from control_plane.auth.principal import Principal
    from control_plane.context import RequestContext
    from control_plane.db import Database, DbScope, migrate, utcnow
    from control_plane.tenants import flows
    from control_plane.tenants.provisioning import LakePrefixes, Provisioner, SqlWarehouse

    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'control_plane.db'}"
    migrate(url)
    db = Database(url, pool_size=1)
    admin = Principal(
        subject="user:platform-ops", role="platform_admin", tenant_id=None, tenant_path=None, via="jwt"
    )
    ctx = RequestContext(
        principal=admin, environment="test", reason="dashboard test fixtures", request_id=None
    )
    made: dict[str, str] = {}
    try:
        with db.session(DbScope.for_platform(), write=True) as session:
            flows.ensure_default_plans(session)
            provisioner = Provisioner(LakePrefixes(str(root)), SqlWarehouse(None))
            for tenant_id in tenants:
                tenant, _ = flows.provision(
                    session,
                    ctx,
                    provisioner,
                    tenant_id,
                    {"kind": "enterprise", "name": tenant_id.capitalize()},
                )
                for role in ("analyst", "viewer"):
                    _, plaintext = auth.create_key_committed(
                        session, ctx, tenant, name=f"dashboards {role}", role=role, expires_in_days=None
                    )
                    made[f"{tenant_id}_{role}"] = plaintext
            # a platform key, as the API's bootstrap does (only its hash is stored)
            key_id, plaintext, secret_hash = keyfmt.generate(None)
            session.add(
                ApiKey(
                    id=key_id,
                    tenant_id=None,
                    name="platform",
                    role="platform_admin",
                    secret_hash=secret_hash,
                    created_at=utcnow(),
                    created_by="fixtures",
                )
            )
            session.commit()
            made["platform_admin"] = plaintext
    finally:
        db.dispose()
    return Keys(
        acme_analyst=made["acme_analyst"],
        acme_viewer=made["acme_viewer"],
        globex_analyst=made["globex_analyst"],
        platform_admin=made["platform_admin"],
        database_url=url,
        jwt_secret=JWT_SECRET,
    )


def issue_token(keys: Keys, api_key: str) -> str:
    """A bearer token for the holder of ``api_key`` (what ``POST /auth/token`` returns)."""
    from control_plane.auth import service as auth
    from control_plane.db import Database
    from control_plane.settings import ControlPlaneSettings

    settings = ControlPlaneSettings(
        database_url=keys.database_url, environment="test", jwt_secret=keys.jwt_secret
    )
    db = Database(keys.database_url, pool_size=1)
    try:
        with db.session() as session:
            principal = auth.authenticate(session, settings, api_key=api_key, bearer=None)
            token, _ = auth.issue_token(session, settings, principal, ttl_seconds=600)
            return token
    finally:
        db.dispose()
