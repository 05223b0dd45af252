"""The agent hub: four agents (partner advisor, ops, support, doc) over a tenant's governed data.

``hub.AgentHub`` runs an agent's approved prompt (``prompts``) on a ``provider.ModelProvider`` (Amazon Bedrock
Converse) with tenant-scoped, read-only ``tools``; the guardrails (policy decision per tool call, audit, PII
redaction, planted-instruction refusal, token budget, citation checks) are in ``hub`` and ``citations``. The
control plane's services arrive through small interfaces (``PolicyDecider``, ``AuditSink``, ``QuotaGate``,
``ApprovalRequester``): this package never imports ``control_plane``.
"""
