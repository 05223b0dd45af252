"""HTTP front of the Bedrock Runtime emulator: REST-JSON ``POST /model/{modelId}/converse``.

Every request is SigV4-verified (signing name ``bedrock``), validated against botocore's ``bedrock-runtime``
model (types, required and unknown members, lengths, enums, the modelId pattern) and then against the rules the
service adds on top of the model: a known model id, a first turn from the user, alternating roles, tool results
answering the tool uses of the turn before, and a ``toolConfig`` whenever tool blocks appear. Invalid requests
get ``ValidationException`` (400) as Bedrock sends it (``x-amzn-ErrorType`` and ``{"message": ...}``). Valid ones
are answered by the deterministic responder (``sandboxes.bedrock.responder``), and in strict mode every answer
is checked against the operation's output shape. Responses go out whole, with TCP_NODELAY (the shared base).

Control endpoints under ``/_sandbox/`` (not part of the AWS API): ``health``, ``calls``, ``calls/reset``,
``faults`` and ``responder`` (switch the responder's weaker-model behaviours on or off).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

from sandboxes._http import ERROR, THROTTLE, ApiError, EmulatorHandler, EmulatorServer, Faults
from sandboxes._model import ModelValidator
from sandboxes._sigv4 import AuthError, SignedRequest, SigningAccount, access_key, verify
from sandboxes.bedrock.responder import ResponderSettings, estimate_tokens, request_text, respond

SERVICE = "bedrock-runtime"
SIGNING_NAME = "bedrock"
OPERATION = "Converse"
# Foundation models (and cross-region inference profiles) the emulator serves; Bedrock refuses other ids.
MODELS: tuple[str, ...] = (
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
)
# Per model, per Region, per account: "On-demand InvokeModel tokens per minute" (input + output combined) and
# "Model invocation max tokens per day" (by default the per-minute quota x 24 x 60). The values differ per model
# and account (Service Quotas shows an account's own); this default is the figure AWS quoted for Claude models.
DEFAULT_TOKENS_PER_MINUTE = 200_000
# What a request reserves when it sets no maxTokens (Bedrock reserves the model's maximum output)
DEFAULT_MAX_OUTPUT_TOKENS = 4_096
DEFAULT_ACCOUNT = SigningAccount(
    "111122223333", "AKIABEDROCKSANDBOX01", "bedrock-sandbox-secret-key-0000000000001"
)


@dataclass
class Call:
    """One authenticated Converse request and how it ended."""

    model_id: str
    outcome: str  # ok | an error code
    stop_reason: str | None = None
    tools_called: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0


class BedrockSandbox(EmulatorServer):
    """Bedrock Runtime's Converse on 127.0.0.1 for the given signing accounts."""

    request_id_prefix = "brsbx-"
    thread_name = "bedrock-sandbox"

    def __init__(
        self,
        port: int = 0,
        faults: Faults | None = None,
        accounts: list[SigningAccount] | None = None,
        strict: bool = True,
        tokens_per_minute: int = DEFAULT_TOKENS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(_Handler, port, faults)
        self.tokens_per_minute = tokens_per_minute
        self.clock = clock
        self._usage: dict[tuple[str, str], deque[list[float]]] = {}  # [at, tokens] per call
        self.accounts = {a.access_key_id: a for a in (accounts or [DEFAULT_ACCOUNT])}
        self.validator = ModelValidator(SERVICE)
        self.responder = ResponderSettings()
        self.strict = strict
        self.calls: list[Call] = []
        self._counter = 0
        self._calls_lock = threading.Lock()

    def credentials(self, access_key_id: str | None = None) -> dict[str, str]:
        """Keyword arguments for a boto3 ``bedrock-runtime`` client of this sandbox."""
        account = self.accounts[access_key_id] if access_key_id else next(iter(self.accounts.values()))
        return {
            "endpoint_url": self.url,
            "region_name": "us-east-1",
            "aws_access_key_id": account.access_key_id,
            "aws_secret_access_key": account.secret_access_key,
        }

    def record(self, call: Call) -> int:
        """Remember one call; returns its sequence number."""
        with self._calls_lock:
            self.calls.append(call)
            self._counter += 1
            return self._counter

    def reserve_tokens(self, account: str, model_id: str, tokens: int) -> list[float]:
        """Take ``tokens`` from the account's per-model minute and day quotas, or raise ThrottlingException.

        Returns the reservation, which the call settles to the tokens it really used."""
        now = self.clock()
        with self._calls_lock:
            window = self._usage.setdefault((account, model_id), deque())
            while window and window[0][0] <= now - 86_400:
                window.popleft()
            minute = sum(n for at, n in window if at > now - 60)
            day = sum(n for _, n in window)
            if minute + tokens > self.tokens_per_minute or day + tokens > self.tokens_per_minute * 24 * 60:
                raise ApiError(
                    "ThrottlingException", "Too many tokens, please wait before trying again.", 429
                )
            entry = [now, float(tokens)]
            window.append(entry)
            return entry

    def settle_tokens(self, reservation: list[float], used: int) -> None:
        """Replace a reservation by the tokens the call used (Bedrock settles the reservation after the call)."""
        with self._calls_lock:
            reservation[1] = float(used)

    def succeeded_calls(self) -> int:
        with self._calls_lock:
            return sum(1 for c in self.calls if c.outcome == "ok")

    def count(self, outcome: str | None = None) -> int:
        """Calls received, optionally only those with ``outcome``."""
        with self._calls_lock:
            return sum(1 for c in self.calls if outcome is None or c.outcome == outcome)


def serve_in_thread(port: int = 0, faults: Faults | None = None) -> BedrockSandbox:
    """Start a Bedrock sandbox on 127.0.0.1 in a background thread (``.url``, ``.credentials()``, ``.stop()``)."""
    return BedrockSandbox(port, faults).start()


def validation_error(message: str) -> ApiError:
    """Bedrock's ValidationException (400)."""
    return ApiError("ValidationException", message, 400)


def conversation_problems(params: dict[str, Any]) -> list[str]:
    """What Bedrock refuses beyond the model's shapes: turn order, tool pairing, tool configuration."""
    problems: list[str] = []
    messages = params.get("messages", [])
    if params["modelId"] not in MODELS:
        problems.append("The provided model identifier is invalid.")
    if not messages:
        problems.append(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
        return problems
    if messages[0].get("role") != "user":
        problems.append(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
    for prev, message in itertools.pairwise(messages):
        if prev.get("role") == message.get("role"):
            problems.append(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
            )
            break
    offered = {
        t["toolSpec"]["name"] for t in params.get("toolConfig", {}).get("tools", []) if "toolSpec" in t
    }
    uses_tools = any("toolUse" in b or "toolResult" in b for m in messages for b in m.get("content", []))
    if uses_tools and "toolConfig" not in params:
        problems.append(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    open_uses: set[str] = set()
    for i, message in enumerate(messages):
        blocks = message.get("content", [])
        if not blocks:
            problems.append(
                f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            )
        results = {b["toolResult"]["toolUseId"] for b in blocks if "toolResult" in b}
        if message.get("role") == "user":
            if results and results != open_uses:
                problems.append(
                    f"The toolResult blocks at messages.{i}.content do not match the toolUse blocks of the previous turn ({', '.join(sorted(open_uses)) or 'none'})."
                )
            open_uses = set()
        else:
            if results:
                problems.append(f"messages.{i}: an assistant turn cannot carry toolResult blocks.")
            for b in blocks:
                if "toolUse" in b:
                    open_uses.add(b["toolUse"]["toolUseId"])
                    if uses_tools and b["toolUse"]["name"] not in offered and "toolConfig" in params:
                        problems.append(f"The tool {b['toolUse']['name']} is not defined in toolConfig.")
    return problems


class _Handler(EmulatorHandler):
    server: BedrockSandbox

    def _error(self, error: ApiError) -> None:
        body = json.dumps({"message": error.message, **error.members}).encode()
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        }
        self.write(error.status or 400, body, headers)

    def do_GET(self) -> None:
        self.control("GET", self.path.split("?", 1)[0], b"")

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        body = self.read_body()
        if path.startswith("/_sandbox/"):
            self.control("POST", path, body)
            return
        parts = path.split("/")
        if len(parts) != 4 or parts[1] != "model" or parts[3] != "converse":
            self._error(ApiError("UnknownOperationException", f"No operation matches POST {path}", 404))
            return
        model_id = unquote(parts[2])
        server = self.server
        try:
            account = server.accounts.get(access_key(self.headers, (SIGNING_NAME,)))
            if account is None:
                raise AuthError(
                    "UnrecognizedClientException", "The security token included in the request is invalid."
                )
            verify(SignedRequest("POST", path, query, self.headers, body), account.secret_access_key)
        except AuthError as exc:
            server.record(Call(model_id, exc.code))
            self._error(ApiError(exc.code, exc.message, exc.status))
            return
        try:
            response = self._converse(model_id, body, account.access_key_id)
        except ApiError as exc:
            server.record(Call(model_id, exc.code))
            self._error(exc)
            return
        self.write(200, json.dumps(response).encode(), {"Content-Type": "application/json"})

    def _converse(self, model_id: str, body: bytes, account: str) -> dict[str, Any]:
        """The Converse answer to one authenticated request (raises ``ApiError``); the call is recorded."""
        server = self.server
        if server.faults.latency_ms:
            time.sleep(server.faults.latency_ms / 1000.0)
        fate = server.fate(OPERATION)
        if fate == THROTTLE:
            raise ApiError("ThrottlingException", "Too many requests, please wait before trying again.", 429)
        if fate == ERROR:
            raise ApiError(
                "InternalServerException", "The server encountered an internal error (injected).", 500
            )
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise validation_error("The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise validation_error("The request body must be a JSON object.")
        if "modelId" in params:
            raise validation_error(
                "Unknown member 'modelId' in the request body: the model id belongs in the path."
            )
        params["modelId"] = model_id
        problems = [p.message for p in server.validator.input_problems(OPERATION, params)]
        if not problems:
            problems = conversation_problems(params)
        if problems:
            count = len(problems)
            raise validation_error(
                f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems[:5])
            )
        max_output = params.get("inferenceConfig", {}).get("maxTokens", DEFAULT_MAX_OUTPUT_TOKENS)
        reserved = estimate_tokens(request_text(params)) + max_output
        slot = server.reserve_tokens(account, model_id, reserved)
        with server._calls_lock:
            number = server._counter + 1
        response = respond(params, server.responder, number)
        server.settle_tokens(slot, response["usage"]["totalTokens"])
        if server.strict:
            drift = server.validator.output_problems(OPERATION, response)
            if drift:
                raise ApiError(
                    "InternalServerException",
                    "sandbox answer departs from the model: " + "; ".join(p.message for p in drift),
                    500,
                )
        content = response["output"]["message"]["content"]
        call = Call(
            model_id,
            "ok",
            response["stopReason"],
            [b["toolUse"]["name"] for b in content if "toolUse" in b],
            response["usage"]["inputTokens"],
            response["usage"]["outputTokens"],
        )
        server.record(call)
        return response

    def control_result(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        """Health, the recorded calls, fault settings and the responder's switches."""
        server = self.server
        if path == "/_sandbox/health":
            return {"ok": True, "models": list(MODELS)}
        if path == "/_sandbox/calls" and method == "GET":
            with server._calls_lock:
                return [asdict(c) for c in server.calls]
        if path == "/_sandbox/calls/reset" and method == "POST":
            with server._calls_lock:
                server.calls.clear()
            return {"ok": True}
        if path == "/_sandbox/faults" and method == "POST":
            server.set_faults(Faults(**payload))
            return asdict(server.faults)
        if path == "/_sandbox/responder" and method == "POST":
            server.responder = ResponderSettings(**payload)
            return asdict(server.responder)
        return None
