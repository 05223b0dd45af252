"""Module registry: manifests validated against module-manifest.schema.json, immutable published versions."""
