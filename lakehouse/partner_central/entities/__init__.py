"""Partner Central table declarations: bronze (raw payloads), silver (current, typed, redacted), gold (ACE
marts). Each module registers its tables with lakehouse.catalog."""
