"""Alembic migrations of the control-plane database (run with ``control_plane.db.migrate(url)``)."""
