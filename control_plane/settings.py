"""Control-plane settings (env prefix ``LAKEHOUSE_``); lake root, database and environment default to the spine's.

In production every secret must pass ``lakehouse.secrets.check_production_secret`` (the same policy as the
PII secret), or the settings refuse to load, naming the secret and why. The JWT signing secret can come from
AWS Secrets Manager (``LAKEHOUSE_JWT_SECRET_ARN``), re-read through a TTL cache so a rotation is picked up.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.secrets import check_production_secret, default_source
from lakehouse.settings import get_settings


class ControlPlaneSettings(BaseSettings):
    """What the API needs beyond the spine settings: token signing, OIDC, bootstrap and database options."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", extra="ignore")

    database_url: str | None = Field(None, description="Control-plane DB; default: SQLite beside the lake")
    migration_database_url: str | None = Field(
        None, description="URL used to run migrations (needs CREATEROLE on PostgreSQL); default: database_url"
    )
    lake_root: str | None = Field(None, description="Lake root; default: the spine's LAKEHOUSE_LAKE_ROOT")
    environment: Literal["development", "test", "production"] | None = None
    warehouse_url: SecretStr | None = Field(
        None,
        description="Analytics warehouse where provisioning creates each tenant's schema or RLS policy "
        "(redshift://... or postgresql://...; see docs/warehouse.md); unset: nothing is created",
    )

    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret for platform tokens (random in dev/test)"
    )
    jwt_secret_arn: str | None = Field(
        None, description="Secrets Manager ARN of the HS256 secret; wins over jwt_secret (rotation-aware)"
    )
    jwt_rotation_window_seconds: int = Field(
        86_400,
        ge=0,
        le=7 * 86_400,
        description="After a rotation, tokens signed with the AWSPREVIOUS secret are accepted this long",
    )
    secret_cache_ttl_seconds: float = Field(
        300.0, gt=0, description="How long a secret read from Secrets Manager is cached"
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
        production = self.environment == "production"
        if self.jwt_secret_arn:
            # Read now: a missing or weak secret refuses the start, not the first login.
            self.jwt_secrets()
        elif self.jwt_secret is None:
            if production:
                raise ValueError(
                    "LAKEHOUSE_JWT_SECRET (or LAKEHOUSE_JWT_SECRET_ARN) is required in production"
                )
            self.jwt_secret = SecretStr(secrets.token_urlsafe(48))
        elif production:
            check_production_secret("LAKEHOUSE_JWT_SECRET", self.jwt_secret.get_secret_value())
        if production and self.bootstrap_admin_key is not None:
            # Judge the secret part of lh._platform.<key id>.<secret>, not the fixed prefix.
            key = self.bootstrap_admin_key.get_secret_value()
            check_production_secret("LAKEHOUSE_BOOTSTRAP_ADMIN_KEY", key.rsplit(".", 1)[-1])
        if bool(self.oidc_issuer) != bool(self.oidc_jwks_url):
            raise ValueError("LAKEHOUSE_OIDC_ISSUER and LAKEHOUSE_OIDC_JWKS_URL must be set together")
        if production and not self.rate_limits_enabled:
            raise ValueError("LAKEHOUSE_RATE_LIMITS_ENABLED=false is refused in production")
        return self

    def jwt_secrets(self, *, now: datetime | None = None) -> list[str]:
        """HS256 secrets, the signing one first; during a rotation window the previous one follows it.

        From Secrets Manager (cached for ``secret_cache_ttl_seconds``) when ``jwt_secret_arn`` is set, else
        the configured secret. In production each value read must pass the secret policy.
        """
        if not self.jwt_secret_arn:
            assert self.jwt_secret is not None  # filled by the validator
            return [self.jwt_secret.get_secret_value()]
        source = default_source()
        source.ttl_seconds = self.secret_cache_ttl_seconds
        values = source.current_and_previous(
            self.jwt_secret_arn, rotation_window_seconds=self.jwt_rotation_window_seconds, now=now
        )
        if self.environment == "production":
            check_production_secret(f"the JWT secret at {self.jwt_secret_arn}", values[0])
        return values

    def resolved_database_url(self) -> str:
        """The database URL the application connects with."""
        assert self.database_url is not None
        return self.database_url

    def resolved_migration_url(self) -> str:
        """The database URL migrations run with."""
        return self.migration_database_url or self.resolved_database_url()

    # --- security hardening: token checks, audit keying and anchoring, request limits, rate limits -------
    # (kept as one block at the end of the class so parallel edits above merge cleanly)
    token_check_cache_seconds: float = Field(
        2.0, ge=0, le=60, description="How long a process may trust a cached key/generation check of a token"
    )
    audit_hmac_key: SecretStr | None = Field(
        None, description="Key of the audit chain's HMAC (held outside the database); dev/test: a file"
    )
    audit_hmac_key_secret_arn: str | None = Field(
        None, description="Secrets Manager ARN holding the audit HMAC key (production)"
    )
    audit_anchor_uri: str | None = Field(
        None, description="Where chain heads are anchored: s3://bucket/prefix (object lock) or a directory"
    )
    audit_anchor_interval_seconds: float = Field(
        0, ge=0, description="Anchor the chain heads every N seconds from the API process (0: off)"
    )
    audit_anchor_retention_days: int = Field(2555, ge=1, description="S3 object-lock retention of anchors")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted (413 above)")
    max_approval_body_bytes: int = Field(65_536, ge=1024, description="Largest body on /approvals routes")
    rate_limits_enabled: bool = Field(
        True,
        description="Per-address and per-key rate limits (off only to measure their cost; never in production)",
    )
    rate_limit_per_ip: float = Field(300.0, gt=0, description="Requests per second per source address")
    rate_limit_burst_seconds: float = Field(2.0, gt=0, description="Bucket size, in seconds of the rate")
    rate_limit_per_plan: dict[str, float] = Field(
        default_factory=lambda: {"free": 20.0, "team": 100.0, "enterprise": 500.0, "_platform": 500.0},
        description="Requests per second per API key (or token's key), by the key tenant's plan",
    )
    auth_failure_threshold: int = Field(5, ge=1, description="Failed secrets for one key id before back-off")
    auth_failure_window_seconds: float = Field(300.0, gt=0, description="Window counting failed secrets")
    auth_lockout_max_seconds: float = Field(900.0, gt=0, description="Longest back-off after failed secrets")
    denied_audit_window_seconds: float = Field(
        60.0, gt=0, description="Unauthenticated refusals: one audit row per source address per window"
    )
