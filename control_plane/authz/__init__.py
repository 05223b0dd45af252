"""Authorization domain: the one policy decision point (RBAC + ABAC), answering in OPA's decision format."""
