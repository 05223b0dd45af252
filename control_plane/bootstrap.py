"""Bootstrap: the first platform_admin API key (there is no API route that creates platform keys).

    python -m control_plane.bootstrap --reason "first admin" [--name ops]

prints a new key once. ``LAKEHOUSE_BOOTSTRAP_ADMIN_KEY`` (a key in the ``lh._platform.<id>.<secret>`` format)
is an alternative: the app ensures that exact key exists at startup.
"""

from __future__ import annotations

import argparse
import sys

from control_plane.audit.service import SYSTEM
from control_plane.audit.service import record as audit_record
from control_plane.auth import keys
from control_plane.auth.models import ApiKey
from control_plane.db import Database, DbScope, migrate, utcnow
from control_plane.settings import ControlPlaneSettings


def _insert(db: Database, key_id: str, secret_hash: str, name: str, reason: str) -> None:
    with db.session(DbScope.for_platform(), write=True) as session:
        existing = session.get(ApiKey, key_id)
        if existing is not None:
            if existing.secret_hash != secret_hash or existing.tenant_id is not None:
                raise ValueError(f"API key id {key_id!r} already exists with another secret or scope")
            return
        session.add(
            ApiKey(
                id=key_id,
                tenant_id=None,
                name=name,
                role="platform_admin",
                secret_hash=secret_hash,
                created_at=utcnow(),
                created_by="bootstrap",
            )
        )
        session.flush()
        audit_record(
            session,
            actor=SYSTEM,
            action="api_key.create",
            tenant_id=None,
            resource=f"platform/api-key/{key_id}",
            reason=reason,
            after={"id": key_id, "role": "platform_admin", "name": name},
        )
        session.commit()


def create_admin_key(
    reason: str, *, name: str = "bootstrap", database_url: str | None = None, run_migrations: bool = True
) -> str:
    """Create a platform_admin API key and return its plaintext (shown once; only its hash is stored)."""
    if not reason or not reason.strip():
        raise ValueError("a reason is required to create a platform_admin key (it is audited)")
    settings = ControlPlaneSettings()
    url = database_url or settings.resolved_database_url()
    if run_migrations:
        migrate(database_url or settings.resolved_migration_url())
    db = Database(url, pool_size=1)
    try:
        key_id, plaintext, secret_hash = keys.generate(None)
        _insert(db, key_id, secret_hash, name, reason)
    finally:
        db.dispose()
    return plaintext


def ensure_configured_admin_key(db: Database, plaintext: str) -> None:
    """Ensure the platform key given in ``LAKEHOUSE_BOOTSTRAP_ADMIN_KEY`` exists (idempotent)."""
    parsed = keys.parse(plaintext)
    if parsed is None or parsed.tenant_id is not None:
        raise ValueError("LAKEHOUSE_BOOTSTRAP_ADMIN_KEY must look like lh._platform.<key id>.<secret>")
    _insert(db, parsed.key_id, keys.hash_key(plaintext), "bootstrap (env)", "LAKEHOUSE_BOOTSTRAP_ADMIN_KEY")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create a platform_admin API key and print it once.")
    parser.add_argument("--reason", required=True, help="why (written to the audit log)")
    parser.add_argument("--name", default="bootstrap")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    print(create_admin_key(args.reason, name=args.name, database_url=args.database_url))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
