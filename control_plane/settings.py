"""Control-plane settings (env prefix ``LAKEHOUSE_``); lake root, database and environment default to the spine's."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.settings import get_settings

_PLACEHOLDERS = {"changeme", "change-me", "secret", "changethis", "dev", "development", "test"}


class ControlPlaneSettings(BaseSettings):
    """What the API needs beyond the spine settings: token signing, OIDC, bootstrap and database options."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", extra="ignore")

    database_url: str | None = Field(None, description="Control-plane DB; default: SQLite beside the lake")
    migration_database_url: str | None = Field(
        None, description="URL used to run migrations (needs CREATEROLE on PostgreSQL); default: database_url"
    )
    lake_root: str | None = Field(None, description="Lake root; default: the spine's LAKEHOUSE_LAKE_ROOT")
    environment: Literal["development", "test", "production"] | None = None
    warehouse_path: str | None = Field(
        None, description="Local DuckDB warehouse; default {lake_root}/warehouse.duckdb"
    )

    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret for platform tokens (random in dev/test)"
    )
    jwt_issuer: str = "lakehouse"
    jwt_audience: str = "lakehouse-api"
    jwt_ttl_seconds: int = Field(900, ge=30, le=86_400)
    oidc_issuer: str | None = Field(None, description="External OIDC issuer whose tokens are accepted")
    oidc_jwks_url: str | None = Field(None, description="JWKS URL of the OIDC issuer (RS256/ES256 tokens)")
    oidc_audience: str | None = None
    tenant_claim: str = "tenant_id"
    role_claim: str = "role"

    bootstrap_admin_key: SecretStr | None = Field(
        None, description="If set, a platform_admin API key with this exact value is ensured at startup"
    )
    seed_registry: bool = Field(True, description="Publish the packaged seed manifests at startup")
    auto_migrate: bool = Field(True, description="Run Alembic migrations at startup")
    db_pool_size: int = Field(10, ge=1, le=200)

    @model_validator(mode="after")
    def _fill_from_spine(self) -> ControlPlaneSettings:
        spine = get_settings()
        if self.lake_root is None:
            self.lake_root = spine.lake_root
        if self.environment is None:
            self.environment = spine.environment
        if self.database_url is None:
            self.database_url = spine.model_copy(update={"lake_root": self.lake_root}).resolved_database_url()
        if self.jwt_secret is None:
            if self.environment == "production":
                raise ValueError("LAKEHOUSE_JWT_SECRET is required in production")
            self.jwt_secret = SecretStr(secrets.token_urlsafe(48))
        secret = self.jwt_secret.get_secret_value()
        if self.environment == "production" and (len(secret) < 32 or secret.lower() in _PLACEHOLDERS):
            raise ValueError(
                "LAKEHOUSE_JWT_SECRET must be at least 32 characters and not a placeholder in production"
            )
        if bool(self.oidc_issuer) != bool(self.oidc_jwks_url):
            raise ValueError("LAKEHOUSE_OIDC_ISSUER and LAKEHOUSE_OIDC_JWKS_URL must be set together")
        return self

    def resolved_database_url(self) -> str:
        """The database URL the application connects with."""
        assert self.database_url is not None
        return self.database_url

    def resolved_migration_url(self) -> str:
        """The database URL migrations run with."""
        return self.migration_database_url or self.resolved_database_url()

    def resolved_warehouse_path(self) -> str:
        """Where the local DuckDB warehouse file lives."""
        if self.warehouse_path:
            return self.warehouse_path
        return f"{self.lake_root}/warehouse.duckdb"
