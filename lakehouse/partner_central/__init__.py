"""Partner Central domain: table declarations, transforms, silver/gold steps, bronze ingest and quality suites."""
