"""Engine, sessions and the per-transaction database scope (PostgreSQL row-level security).

Every transaction of a ``ScopedSession`` starts with
``set_config('role', <app or platform role>, true)`` and ``set_config('app.tenant_id', <tenant>, true)``:
both are transaction-local, so nothing leaks to the next user of a pooled connection. A session without a
scope runs as the application role with no tenant, and therefore sees no tenant-owned row.

Statement parameters (emails, key hashes, payloads) never reach a log or an error message: engines are built
with ``hide_parameters=True`` and without echo, and a database error is logged as its class, the statement's
verb and the request id (``database_error_handler``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

OWNER_ROLE = "lakehouse_owner"  # owns every table (NOLOGIN); migrations run as a member of it
APP_ROLE = "lakehouse_app"  # tenant-scoped requests: no ownership, no BYPASSRLS
PLATFORM_ROLE = "lakehouse_platform"  # platform-admin requests: policies grant all tenants, audited
TENANT_SETTING = "app.tenant_id"
log = logging.getLogger("control_plane.db")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base; ``__table_args__ = {"info": {"tenant_owned": True}}`` marks RLS-protected tables."""

    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType, datetime: UtcDateTime}  # noqa: RUF012


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def new_id(prefix: str = "", nbytes: int = 9) -> str:
    """A random URL-safe identifier (lower-case, no separators that clash with key formats)."""
    return prefix + secrets.token_hex(nbytes)


@dataclass(frozen=True)
class DbScope:
    """Which rows a transaction may see: one tenant's subtree, the platform (all tenants), or nothing."""

    tenant_id: str | None = None
    platform: bool = False

    @classmethod
    def for_tenant(cls, tenant_id: str) -> DbScope:
        return cls(tenant_id=tenant_id)

    @classmethod
    def for_platform(cls) -> DbScope:
        return cls(platform=True)


NO_SCOPE = DbScope()


class ScopedSession(Session):
    """A Session whose every transaction carries its ``info["scope"]`` into PostgreSQL."""


@event.listens_for(ScopedSession, "after_transaction_create")
def _take_write_lock(session: Session, transaction: Any) -> None:
    # SQLite has one writer at a time and its busy handler backs off by sleeping (up to 100 ms a try);
    # queueing this process's writers on a lock instead keeps write latency flat under concurrency.
    lock = session.info.get("write_lock")
    if lock is not None and transaction.parent is None:
        if not lock.acquire(timeout=30):
            raise TimeoutError("waited 30 s for the SQLite write lock")
        session.info["write_lock_held"] = True


@event.listens_for(ScopedSession, "after_transaction_end")
def _release_write_lock(session: Session, transaction: Any) -> None:
    if transaction.parent is None and session.info.pop("write_lock_held", False):
        session.info["write_lock"].release()


@event.listens_for(ScopedSession, "after_begin")
def _apply_scope(session: Session, transaction: Any, connection: Any) -> None:
    if connection.dialect.name != "postgresql":
        return
    scope: DbScope = session.info.get("scope", NO_SCOPE)
    role = PLATFORM_ROLE if scope.platform else APP_ROLE
    connection.exec_driver_sql(
        "SELECT set_config('role', %s, true), set_config(%s, %s, true)",
        (role, TENANT_SETTING, scope.tenant_id or ""),
    )


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for SQLite (WAL, foreign keys, ``BEGIN IMMEDIATE`` for writers) or PostgreSQL (psycopg 3)."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
            echo=False,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front, so two read-then-write transactions cannot deadlock.
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("cp_write") else "BEGIN"
            )

        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        hide_parameters=True,
        echo=False,
    )


def statement_class(statement: str | None) -> str:
    """The verb of a SQL statement (``INSERT``, ``SELECT``…), or ``unknown``: what a log may say about it."""
    words = (statement or "").split(None, 1)
    verb = words[0].upper() if words else ""
    return verb if verb.isalpha() else "unknown"


def describe_database_error(exc: SQLAlchemyError) -> str:
    """A log line's worth about a database error without its statement text or parameters."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    statement = exc.statement if isinstance(exc, StatementError) else None
    return f"{type(cause).__name__} during {statement_class(statement)}"


async def database_error_handler(request: Any, exc: Exception) -> Any:
    """FastAPI handler: a database error is a 500 whose log line names the error class, verb and request id."""
    from fastapi.responses import JSONResponse

    from control_plane.errors import Problem

    request_id = getattr(request.state, "request_id", None)
    what = describe_database_error(exc) if isinstance(exc, SQLAlchemyError) else type(exc).__name__
    log.error("database error: %s (request %s)", what, request_id)
    body = Problem(detail="internal database error; quote the request id", request_id=request_id)
    return JSONResponse(body.model_dump(), status_code=500)


class Database:
    """The engine plus a factory for scoped sessions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._write_engine = self.engine.execution_options(cp_write=True)
        self._write_lock = threading.Lock() if not self.is_postgres else None

    def session(self, scope: DbScope = NO_SCOPE, *, write: bool = False) -> ScopedSession:
        """A new session; its transactions run in ``scope`` (set before the first query)."""
        bind = self._write_engine if write else self.engine
        info: dict[str, Any] = {"scope": scope}
        if write and self._write_lock is not None:
            info["write_lock"] = self._write_lock
        return ScopedSession(bind=bind, expire_on_commit=False, info=info)

    def dispose(self) -> None:
        self.engine.dispose()


def set_scope(session: Session, scope: DbScope) -> None:
    """Change the scope of a session before its transaction starts (refuses mid-transaction changes)."""
    if session.in_transaction():
        raise RuntimeError("the database scope can only change between transactions")
    session.info["scope"] = scope


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` with Alembic (roles and RLS policies included)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
