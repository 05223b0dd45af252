"""The model provider interface and its production implementation, Amazon Bedrock Converse with tool use.

``ModelProvider.converse`` takes and returns Converse shapes (``system``, ``messages``, ``toolConfig``;
``output.message``, ``stopReason``, ``usage``), so the agent loop is written once against Bedrock's own
contract. ``BedrockConverse`` calls ``bedrock-runtime`` through boto3 with standard configuration: region,
credentials and endpoint come from the environment (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` points it at the local
emulator), with botocore's ``standard`` retry mode for throttling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lakehouse.errors import BadInput, LakehouseError


class ModelError(LakehouseError):
    """The model provider refused or failed the call (the message carries the provider's error code)."""

    exit_code = 1


@dataclass(frozen=True)
class ModelTurn:
    """One model answer: the assistant message, why it stopped and the tokens it cost."""

    message: dict[str, Any]
    stop_reason: str
    input_tokens: int
    output_tokens: int

    def tool_uses(self) -> list[dict[str, Any]]:
        return [b["toolUse"] for b in self.message.get("content", []) if "toolUse" in b]

    def text(self) -> str:
        return "\n".join(b["text"] for b in self.message.get("content", []) if "text" in b)


class ModelProvider(Protocol):
    """A chat model with tool use, in Converse shapes."""

    def converse(
        self,
        *,
        model_id: str,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        max_tokens: int,
    ) -> ModelTurn:
        """One model call."""
        ...


class BedrockConverse:
    """``bedrock-runtime`` Converse through boto3 (standard AWS configuration)."""

    def __init__(self, client: Any | None = None, *, region: str | None = None) -> None:
        self._client, self._region = client, region

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (a missing region or credentials surface as ``ModelError``)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "bedrock-runtime",
                region_name=self._region,
                config=Config(retries={"mode": "standard", "max_attempts": 4}),
            )
        return self._client

    def converse(
        self,
        *,
        model_id: str,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        max_tokens: int,
    ) -> ModelTurn:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        request: dict[str, Any] = {
            "modelId": model_id,
            "system": [{"text": system}],
            "messages": list(messages),
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0.0},
        }
        if tools:
            request["toolConfig"] = {"tools": [{"toolSpec": dict(t)} for t in tools]}
        try:
            response = self.client.converse(**request)
        except ParamValidationError as exc:
            raise BadInput(f"the Converse request is invalid: {exc}") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ModelError(f"Bedrock {error.get('Code')}: {error.get('Message')}") from None
        except BotoCoreError as exc:  # no region, no credentials, endpoint unreachable
            raise ModelError(f"Bedrock is not reachable: {exc}") from None
        usage = response.get("usage", {})
        return ModelTurn(
            response["output"]["message"],
            response["stopReason"],
            int(usage.get("inputTokens", 0)),
            int(usage.get("outputTokens", 0)),
        )
