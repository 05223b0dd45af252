"""Metrics read through the API: the semantic layer's figures (lakehouse.metrics), tenant-scoped and authorized."""
