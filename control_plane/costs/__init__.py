"""Costs domain: the cost ledger (usage and its estimated USD cost per run), monthly budgets with 80%/100% alerts,
and the Marketplace side of billing (buyer links, ledger usage for metering, entitlement checks)."""
