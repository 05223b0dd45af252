"""Authentication domain: users, API keys (hash only), tenant signing keys and JWT bearer tokens."""
