"""Alembic environment: uses the connection handed over by ``control_plane.db.migrate`` or the settings' URL."""

from __future__ import annotations

from alembic import context

from control_plane.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    from control_plane.settings import ControlPlaneSettings

    url = config.get_main_option("sqlalchemy.url") or ControlPlaneSettings().resolved_migration_url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the handed-over connection, or on a new one to the settings' URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    from control_plane.db import make_engine
    from control_plane.settings import ControlPlaneSettings

    engine = make_engine(ControlPlaneSettings().resolved_migration_url(), pool_size=1)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
