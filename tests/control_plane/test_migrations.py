"""Migrations: they build exactly the models' schema, and are idempotent to re-run."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from control_plane.db import migrate, normalize_url
from control_plane.models import Base


def _diff(url: str) -> list:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(backend, app):
    assert _diff(backend.admin_url) == []


def test_migrating_again_is_a_no_op(backend, app):
    migrate(backend.admin_url)
    assert _diff(backend.admin_url) == []
