"""Quotas domain. This issue creates each tenant's default quota limits at provisioning; reservations and
enforcement arrive with the quotas issue (tables and services go here)."""
