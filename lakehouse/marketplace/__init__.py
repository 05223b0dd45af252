"""AWS Marketplace domain: metering from the cost ledger, buyer registration, entitlements, packaging, marts.

Modules: ``interfaces`` (what the control plane provides), ``metering`` + ``store`` (hourly metering state
machine), ``sync`` + ``transforms`` (catalog / agreements / entitlements into the lake), ``registration``
(ResolveCustomer, entitlement checks), ``packaging`` (plans -> change set), ``runner`` (job / CLI orchestration).
"""
