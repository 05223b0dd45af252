"""Analytics warehouse serving: gold marts loaded per tenant isolation mode, incrementally by Delta version.

``model`` names schemas, roles and policies; ``sql`` writes the PostgreSQL and Redshift statements;
``connection`` opens redshift_connector connections; ``sync`` loads marts and keeps the warehouse-side state.
The isolation mode comes from the caller (the control plane decides it), never from an import of it.
"""
