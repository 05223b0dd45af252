"""Module registry: manifests validated against schemas/registry, immutable published versions."""
