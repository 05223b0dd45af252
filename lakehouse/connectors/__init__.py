"""Local emulators of the sources (Partner Central and Marketplace sandboxes). The connectors themselves live in
their domain (``lakehouse.partner_central.connector``, ``lakehouse.marketplace.connector``) and never import these."""
