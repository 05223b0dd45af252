"""Process-wide settings, read from the environment (prefix ``LAKEHOUSE_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a job, the CLI or the API needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", extra="ignore")

    lake_root: str = Field(
        default="./.lake", description="Root of the lake: a local path or s3://bucket/prefix"
    )
    engine: Literal["sail", "connect", "classic"] = Field(
        default="sail", description="How get_spark() builds a session"
    )
    embedder: Literal["minilm", "bedrock", "hashing"] = Field(
        default="minilm",
        description="Platinum embeddings: the packaged MiniLM (offline), Amazon Bedrock Titan v2, or hashing",
    )
    spark_remote: str | None = Field(
        default=None, description="Spark Connect URL (sc://host:port) for engine=connect"
    )
    database_url: str | None = Field(
        default=None, description="Control-plane database; SQLite under the lake root if unset"
    )
    environment: Literal["development", "test", "production"] = "development"
    aws_region: str = "us-east-1"
    write_retries: int = Field(default=8, ge=0, description="Commit-conflict retries for a lake write")
    pii_secret: SecretStr | None = Field(
        default=None,
        description="Secret the per-tenant PII keys derive from (development secret outside production)",
    )
    pii_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager ARN of the PII secret (Glue: --lakehouse_pii_secret_arn); wins over pii_secret",
    )
    secret_cache_ttl_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a secret read from Secrets Manager is cached (rotation pick-up)",
    )

    @field_validator("lake_root")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("LAKEHOUSE_LAKE_ROOT must not be empty")
        return value.rstrip("/") or "/"

    @model_validator(mode="after")
    def _refuse_weak_pii_secret(self) -> Settings:
        if self.environment == "production" and self.pii_secret is not None and not self.pii_secret_arn:
            from lakehouse.secrets import check_production_secret

            check_production_secret("LAKEHOUSE_PII_SECRET", self.pii_secret.get_secret_value())
        return self

    def resolved_pii_secret(self) -> str | None:
        """The PII secret: from Secrets Manager when an ARN is set, else the setting; None if neither is set.

        In production the value must pass the secret policy (``lakehouse.secrets``), else ``WeakSecret``.
        """
        from lakehouse.secrets import check_production_secret, default_source

        if self.pii_secret_arn:
            source = default_source()
            source.ttl_seconds = self.secret_cache_ttl_seconds
            value: str | None = source.current(self.pii_secret_arn)
            name = f"the PII secret at {self.pii_secret_arn}"
        else:
            value = self.pii_secret.get_secret_value() if self.pii_secret is not None else None
            name = "LAKEHOUSE_PII_SECRET"
        if value is not None and self.environment == "production":
            check_production_secret(name, value)
        return value

    @property
    def is_s3(self) -> bool:
        return self.lake_root.startswith(("s3://", "s3a://"))

    def resolved_database_url(self) -> str:
        """The control-plane database URL, defaulting to a SQLite file beside the lake."""
        if self.database_url:
            return self.database_url
        if self.is_s3:
            raise ValueError("LAKEHOUSE_DATABASE_URL is required when the lake root is on S3")
        from pathlib import Path

        path = Path(self.lake_root).expanduser().resolve() / "control_plane.db"
        return f"sqlite:///{path}"


_installed: Settings | None = None


def install_settings(settings: Settings | None) -> None:
    """Make ``settings`` what ``get_settings()`` returns in this process (None: read the environment again).

    Jobs build their ``Settings`` from arguments (Glue cannot set environment variables) and install them here,
    so library code that asks ``get_settings()`` agrees with the job without anyone writing ``os.environ``.
    """
    global _installed
    _installed = settings
    get_settings.cache_clear()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process: the installed ones, else the environment's (cached; ``cache_clear()`` re-reads)."""
    return _installed if _installed is not None else Settings()
