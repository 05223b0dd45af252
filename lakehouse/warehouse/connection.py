"""Warehouse settings and connections through ``redshift_connector``, the AWS Redshift driver.

``LAKEHOUSE_WAREHOUSE_URL`` names the warehouse: ``redshift://user:password@host:5439/dev`` (Redshift, TLS)
or ``postgresql://user:password@host:port/db[?sslmode=disable]`` (a local PostgreSQL). The driver speaks the
PostgreSQL wire protocol but sends Redshift-only startup parameters (``client_protocol_version``, ...) that
PostgreSQL refuses, so locally it reaches PostgreSQL through pgbouncer, which drops them
(``ignore_startup_parameters``; ``scripts/local_warehouse.sh`` starts one). The driver also parses the server
version strictly, and Debian's PostgreSQL reports ``15.20 (Debian ...)``: for ``postgresql://`` URLs the
connection keeps the leading version number (the only local adaptation; Redshift connections are untouched).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.errors import BadInput, LakehouseError
from lakehouse.warehouse.sql import DialectName


class WarehouseSettings(BaseSettings):
    """Where the analytics warehouse is and how Redshift loads reach S3 (env prefix ``LAKEHOUSE_WAREHOUSE_``)."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_WAREHOUSE_", extra="ignore")

    url: SecretStr | None = Field(
        None,
        description="redshift://user:pw@host:5439/db or postgresql://user:pw@host:port/db?sslmode=disable",
    )
    iam_role: str | None = Field(
        None, description="IAM role ARN Redshift's COPY assumes to read the staging prefix"
    )
    staging_uri: str | None = Field(None, description="s3://bucket/prefix where Parquet is staged for COPY")


class WarehouseNotConfigured(BadInput):
    """No warehouse URL was given (``LAKEHOUSE_WAREHOUSE_URL``)."""


class WarehouseUnreachable(LakehouseError):
    """The warehouse refused or did not answer the connection (the message names where, never the password)."""


@dataclass(frozen=True)
class WarehouseUrl:
    """A parsed warehouse URL."""

    dialect: DialectName
    host: str
    port: int
    database: str
    user: str
    password: str
    ssl: bool

    @classmethod
    def parse(cls, url: str) -> WarehouseUrl:
        """Parse ``redshift://`` or ``postgresql://`` URLs; the error never echoes the password."""
        parts = urlsplit(url)
        schemes: dict[str, DialectName] = {
            "redshift": "redshift",
            "postgresql": "postgres",
            "postgres": "postgres",
        }
        dialect = schemes.get(parts.scheme)
        if dialect is None:
            raise BadInput(f"warehouse URL scheme {parts.scheme!r} is not one of {sorted(schemes)}")
        if not parts.hostname or not parts.username or not parts.path.strip("/"):
            raise BadInput(
                "a warehouse URL needs a user, a host and a database: scheme://user:pw@host:port/db"
            )
        query = parse_qs(parts.query)
        sslmode = query.get("sslmode", ["require"])[0]
        if dialect == "redshift" and sslmode == "disable":
            raise BadInput("Redshift connections use TLS; sslmode=disable is only for a local PostgreSQL")
        return cls(
            dialect=dialect,
            host=parts.hostname,
            port=parts.port or (5439 if dialect == "redshift" else 5432),
            database=unquote(parts.path.strip("/")),
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            ssl=sslmode != "disable",
        )


def _lenient_connection_class() -> type[Any]:
    """redshift_connector's Connection, reading a vendor-suffixed PostgreSQL version by its leading number."""
    from redshift_connector.core import Connection

    class PostgresConnection(Connection):
        def handle_PARAMETER_STATUS(self, data: bytes, ps: Any) -> None:
            key, _, value = data.partition(b"\x00")
            if key == b"server_version":
                match = re.match(rb"\d+(?:\.\d+)*", value)
                if match is not None:
                    data = key + b"\x00" + match.group(0) + b"\x00"
            super().handle_PARAMETER_STATUS(data, ps)

    return PostgresConnection


def connect(url: str | WarehouseUrl, *, timeout: int = 10) -> Any:
    """A DB-API connection (autocommit off) to the warehouse through redshift_connector."""
    target = url if isinstance(url, WarehouseUrl) else WarehouseUrl.parse(url)
    try:
        return _connect(target, timeout)
    except Exception as exc:
        raise WarehouseUnreachable(
            f"cannot connect to the {target.dialect} warehouse at {target.host}:{target.port}/{target.database} "
            f"as {target.user}: {exc}"
            + (
                " (a local PostgreSQL is reached through pgbouncer: `make warehouse-local`)"
                if target.dialect == "postgres"
                else ""
            )
        ) from None


def _connect(target: WarehouseUrl, timeout: int) -> Any:
    import redshift_connector

    if target.dialect == "redshift":
        return redshift_connector.connect(
            host=target.host,
            port=target.port,
            database=target.database,
            user=target.user,
            password=target.password,
            ssl=target.ssl,
            timeout=timeout,
        )
    return _lenient_connection_class()(
        user=target.user,
        host=target.host,
        database=target.database,
        port=target.port,
        password=target.password,
        ssl=target.ssl,
        timeout=timeout,
    )


def configured_url(settings: WarehouseSettings | None = None) -> WarehouseUrl:
    """The warehouse URL from the settings, or a WarehouseNotConfigured error saying how to set it."""
    settings = settings or WarehouseSettings()
    if settings.url is None:
        raise WarehouseNotConfigured(
            "no warehouse configured: set LAKEHOUSE_WAREHOUSE_URL (redshift://... or, locally, "
            "postgresql://user:pw@127.0.0.1:6432/db?sslmode=disable through `make warehouse-local`)"
        )
    return WarehouseUrl.parse(settings.url.get_secret_value())
