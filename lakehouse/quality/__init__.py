"""Data quality: expectation suites (YAML under schemas/quality/), the Great Expectations gate, issues."""
