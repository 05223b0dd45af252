"""Approvals domain (a later issue): approval requests and decisions, using the same PDP and audit chain."""
