"""The agent hub domain: ask an agent for a tenant, list the prompt registry."""
