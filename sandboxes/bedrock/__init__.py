"""A local Bedrock Runtime (``bedrock-runtime`` Converse with tool use) that boto3 reaches through ``endpoint_url``.

It speaks the real REST-JSON protocol (``POST /model/{modelId}/converse``), verifies SigV4, validates every
request against botocore's service model and Bedrock's conversation rules, and answers with a deterministic,
rule-based responder instead of a model, so the agent loop, tool use and guardrails run end to end offline. It
shares no code with the product's Bedrock provider (``lakehouse.agents.provider``), which never imports it.

    from sandboxes.bedrock import serve_in_thread
    server = serve_in_thread()
    client = boto3.client("bedrock-runtime", **server.credentials())
    ...
    server.stop()
"""

from __future__ import annotations

from sandboxes.bedrock.responder import ResponderSettings
from sandboxes.bedrock.server import DEFAULT_ACCOUNT, MODELS, BedrockSandbox, serve_in_thread

__all__ = ["DEFAULT_ACCOUNT", "MODELS", "BedrockSandbox", "ResponderSettings", "serve_in_thread"]
