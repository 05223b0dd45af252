"""Quotas domain: per-tenant limits (defaults from the plan at provisioning, overrides by platform admins) and
atomic reservations that pipeline runs, connector syncs and Partner Central writes take before they start."""
