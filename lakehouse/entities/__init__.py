"""Canonical entity and table declarations. Every module here registers its tables with lakehouse.catalog."""
