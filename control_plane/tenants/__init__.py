"""Tenants domain: Enterprise → Org → Workspace hierarchy, plans and resumable provisioning."""
