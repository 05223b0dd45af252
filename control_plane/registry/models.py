"""Published module versions (platform-owned; published rows are never updated)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base


class ModuleVersion(Base):
    """One published version of a module, with its manifest as published."""

    __tablename__ = "registry_modules"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    module_type: Mapped[str] = mapped_column(String(32))
    major: Mapped[int]
    minor: Mapped[int]
    patch: Mapped[int]
    prerelease: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(200))
