"""Process-wide settings, read from the environment (prefix ``LAKEHOUSE_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a job, the CLI or the API needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", extra="ignore")

    lake_root: str = Field("./.lake", description="Root of the lake: a local path or s3://bucket/prefix")
    engine: Literal["sail", "connect", "classic"] = Field(
        "sail", description="How get_spark() builds a session"
    )
    spark_remote: str | None = Field(
        None, description="Spark Connect URL (sc://host:port) for engine=connect"
    )
    database_url: str | None = Field(
        None, description="Control-plane database; SQLite under the lake root if unset"
    )
    environment: Literal["development", "test", "production"] = "development"
    aws_region: str = "us-east-1"
    write_retries: int = Field(8, ge=0, description="Commit-conflict retries for a lake write")

    @field_validator("lake_root")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("LAKEHOUSE_LAKE_ROOT must not be empty")
        return value.rstrip("/") or "/"

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process (cached; call ``get_settings.cache_clear()`` after changing the env)."""
    return Settings()
