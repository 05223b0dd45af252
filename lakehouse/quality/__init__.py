"""Data quality: expectation suites (YAML package data beside each domain's tables), the GX gate, issues."""
