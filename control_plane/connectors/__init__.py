"""Per-tenant AWS account linkage: a tenant's role for each AWS service, with a platform-issued ExternalId."""
