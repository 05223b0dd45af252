"""Registers the platinum tables with the catalog (declared in ``lakehouse.platinum.tables``)."""

from __future__ import annotations

from lakehouse.platinum.tables import PLATINUM_TABLES

__all__ = ["PLATINUM_TABLES"]
