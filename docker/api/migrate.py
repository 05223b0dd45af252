"""One-off migration task: run the control plane's Alembic migrations as the database owner, then exit.

ECS injects DB_USERNAME / DB_PASSWORD from the RDS-managed owner secret and sets DB_HOST / DB_NAME
(terraform/modules/services, task definition ``<prefix>-migrate``). The migrations create the row-level-security
roles the API then runs as; the API itself never receives the owner credentials.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import quote


def owner_url(environ: dict[str, str]) -> str:
    """The PostgreSQL URL of the owner from the task's environment (credentials URL-quoted, TLS required)."""
    missing = [k for k in ("DB_USERNAME", "DB_PASSWORD", "DB_HOST", "DB_NAME") if not environ.get(k)]
    if missing:
        raise SystemExit(f"migrate: missing environment variable(s) {', '.join(missing)}")
    user, password = quote(environ["DB_USERNAME"], safe=""), quote(environ["DB_PASSWORD"], safe="")
    port = environ.get("DB_PORT", "5432")
    return f"postgresql://{user}:{password}@{environ['DB_HOST']}:{port}/{environ['DB_NAME']}?sslmode=require"


def main() -> int:
    """Migrate to head and report the revision reached."""
    from control_plane.db import migrate

    migrate(owner_url(dict(os.environ)))
    print("migrate: database is at head", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
