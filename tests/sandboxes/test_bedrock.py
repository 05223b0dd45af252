"""The Bedrock Runtime emulator: the Converse wire protocol, SigV4 and validation against botocore's model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandboxes.bedrock import MODELS, serve_in_thread

MODEL = MODELS[1]
HELLO = [{"role": "user", "content": [{"text": "How do approvals work?"}]}]
DOCS_TOOL = {
    "tools": [
        {
            "toolSpec": {
                "name": "search_docs",
                "description": "search",
                "inputSchema": {"json": {"type": "object", "properties": {"query": {"type": "string"}}}},
            }
        }
    ]
}


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    srv = serve_in_thread()
    yield srv
    srv.stop()


def unvalidated(server: Any, **overrides: Any) -> Any:
    """A client that sends what it is given (botocore's client-side validation off), as a buggy SDK would."""
    settings = {**server.credentials(), **overrides}
    return boto3.client(
        "bedrock-runtime", config=Config(parameter_validation=False, retries={"max_attempts": 1}), **settings
    )


def raw_converse(server: Any, body: bytes, model_id: str = MODEL) -> tuple[int, str | None, dict[str, Any]]:
    """POST a body exactly as given, SigV4-signed with botocore's signer (what no SDK would send)."""
    import urllib.request
    from urllib.parse import quote

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = server.credentials()
    url = f"{server.url}/model/{quote(model_id, safe='')}/converse"
    request = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(
        Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), "bedrock", "us-east-1"
    ).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http) as answer:
            return answer.status, None, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("x-amzn-ErrorType"), json.loads(exc.read())


def error_of(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_converse_with_tool_use_round_trips_through_boto3(server):
    client = boto3.client("bedrock-runtime", **server.credentials())
    first = client.converse(modelId=MODEL, messages=HELLO, toolConfig=DOCS_TOOL)
    use = first["output"]["message"]["content"][0]["toolUse"]
    assert (first["stopReason"], use["name"], use["input"]) == (
        "tool_use",
        "search_docs",
        {"query": "How do approvals work?"},
    )
    result = {
        "toolResult": {
            "toolUseId": use["toolUseId"],
            "content": [
                {"json": {"rows": [{"ref": "doc:docs/a.md#x", "summary": "Approvals need an approver."}]}}
            ],
        }
    }
    second = client.converse(
        modelId=MODEL,
        messages=[*HELLO, first["output"]["message"], {"role": "user", "content": [result]}],
        toolConfig=DOCS_TOOL,
    )
    assert second["stopReason"] == "end_turn"
    assert second["output"]["message"]["content"] == [
        {"text": "search docs:\n- Approvals need an approver. [ref:doc:docs/a.md#x]"}
    ]
    usage = second["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            {"messages": [{"role": "robot", "content": [{"text": "hi"}]}]},
            "Member must satisfy enum value set: [user, assistant, system]",
        ),
        (
            {"messages": HELLO, "inferenceConfig": {"maxTokens": 0}},
            "Member must have value greater than or equal to 1",
        ),
        ({"messages": [{"role": "user", "content": []}]}, "is empty"),
        (
            {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
            "A conversation must start with a user message",
        ),
        ({"messages": [*HELLO, *HELLO]}, "must alternate between user and assistant roles"),
        (
            {
                "messages": [
                    *HELLO,
                    {
                        "role": "assistant",
                        "content": [{"toolUse": {"toolUseId": "t1", "name": "x", "input": {}}}],
                    },
                ]
            },
            "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
        ),
    ],
)
def test_a_malformed_converse_request_gets_validation_exception(server, request_, message):
    client = unvalidated(server)
    code, status, text = error_of(lambda: client.converse(modelId=MODEL, **request_))
    assert (code, status) == ("ValidationException", 400)
    assert message in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": HELLO, "temperatureX": 1}, "Unknown member 'temperatureX' is not part of the request"),
        ({"messages": "hello"}, "Value at 'messages' has the wrong type (str)"),
        (
            {"messages": [{"role": "user", "content": [{"text": 7}]}]},
            "Value at 'messages[0].content[0].text' has the wrong type (int)",
        ),
        (
            {"messages": HELLO, "inferenceConfig": {"maxTokens": "many"}},
            "Value at 'inferenceConfig.maxTokens' has the wrong type (str)",
        ),
        ({"messages": HELLO, "modelId": MODEL}, "the model id belongs in the path"),
    ],
)
def test_a_raw_request_outside_the_model_gets_validation_exception(server, body, message):
    status, error_type, answer = raw_converse(server, json.dumps(body).encode())
    assert (status, (error_type or "").split(":")[0]) == (400, "ValidationException")
    assert message in answer["message"]


def test_a_body_that_is_not_json_is_refused(server):
    status, _error_type, answer = raw_converse(server, b"{not json")
    assert (status, answer["message"]) == (400, "The request body is not valid JSON.")


def test_an_unknown_model_and_an_overlong_model_id_are_refused(server):
    client = unvalidated(server)
    assert error_of(lambda: client.converse(modelId="acme.unknown-model-v1", messages=HELLO)) == (
        "ValidationException",
        400,
        "1 validation error detected: The provided model identifier is invalid.",
    )
    code, _, text = error_of(lambda: client.converse(modelId="m" * 2049, messages=HELLO))
    assert code == "ValidationException" and "Member must have length less than or equal to 2048" in text


def test_requests_signed_with_a_wrong_secret_or_unknown_key_are_refused(server):
    wrong = unvalidated(server, aws_secret_access_key="not-the-secret")
    assert error_of(lambda: wrong.converse(modelId=MODEL, messages=HELLO))[:2] == (
        "InvalidSignatureException",
        403,
    )
    stranger = unvalidated(server, aws_access_key_id="AKIASTRANGER0000000")
    assert error_of(lambda: stranger.converse(modelId=MODEL, messages=HELLO))[:2] == (
        "UnrecognizedClientException",
        403,
    )


def test_injected_throttling_is_retried_by_botocore(server):
    throttled, ok = server.count("ThrottlingException"), server.count("ok")
    server.script("Converse", "throttle")
    client = boto3.client(
        "bedrock-runtime",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
        **server.credentials(),
    )
    assert client.converse(modelId=MODEL, messages=HELLO)["stopReason"] == "end_turn"
    assert (server.count("ThrottlingException") - throttled, server.count("ok") - ok) == (1, 1)


def test_every_answer_matches_the_output_shape_of_the_model(server):
    from sandboxes._model import ModelValidator

    client = boto3.client("bedrock-runtime", **server.credentials())
    body = client.converse(modelId=MODEL, messages=HELLO, toolConfig=DOCS_TOOL)
    body.pop("ResponseMetadata")
    assert (
        ModelValidator("bedrock-runtime").output_problems(
            "Converse", json.loads(json.dumps(body, default=str))
        )
        == []
    )


def test_the_tokens_per_minute_quota_throttles_until_the_minute_passes():
    from sandboxes.bedrock import BedrockSandbox

    now = [1000.0]
    server = BedrockSandbox(tokens_per_minute=600, clock=lambda: now[0]).start()
    try:
        client = boto3.client(
            "bedrock-runtime", config=Config(retries={"max_attempts": 1}), **server.credentials()
        )
        ask = lambda: client.converse(modelId=MODEL, messages=HELLO, inferenceConfig={"maxTokens": 100})  # noqa: E731
        first = ask()  # reserves input + 100, settles to what it used
        used = first["usage"]["totalTokens"]
        calls = 1
        while used + first["usage"]["inputTokens"] + 100 <= 600:
            used += ask()["usage"]["totalTokens"]
            calls += 1
        assert error_of(ask) == (
            "ThrottlingException",
            429,
            "Too many tokens, please wait before trying again.",
        )
        now[0] += 61
        assert ask()["stopReason"] == "end_turn"
        assert calls >= 2
    finally:
        server.stop()
