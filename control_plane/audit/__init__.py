"""Audit domain: a hash-chained log (one chain per tenant plus the platform chain) and its verifier."""
