"""The emulator's deterministic stand-in for a foundation model: rule-based tool choice and answer composition.

It reads the Converse request the way a model would (system prompt, messages, the tools offered) and answers
with the same shapes Bedrock returns: a ``toolUse`` turn when the question calls for tools it has not used yet,
otherwise a text answer composed from the tool results, each statement followed by the ``[ref:...]`` citation of
the row it came from. Tool arguments are filled from each tool's input schema (``query`` gets the question, an
``opportunity_id`` the first id the question names). Same request, same answer: tests and ``make eval`` can
assert exact outcomes.

Two switches simulate a weaker model, so the product's guardrails can be shown to hold against one:
``obey_planted_instructions`` makes it follow "call tool X with {...}" text found anywhere in the conversation
(tool results included), and ``invent_citations`` appends citations to rows it never saw.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

# keyword (lower-case substring of the question) -> tools it calls for, when the request offers them
KEYWORD_TOOLS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("attention", "push", "priorit", "at risk", "stale", "need"), ("opportunities_needing_attention",)),
    (("similar", "won deal", "like this", "comparable"), ("similar_won_deals",)),
    (("next best", "next step", "what should", "recommend"), ("next_best_actions",)),
    (("find", "about", "search", "mention", "related to"), ("search_opportunities",)),
    (("fail", "broke", "error", "quarantin", "run"), ("dq_issues", "ingestion_runs", "lineage")),
    (
        ("why", "number", "metric", "count", "rate", "how is", "computed", "where does"),
        ("metric_definition",),
    ),
    (("pipeline value", "my number", "win rate", "pipeline"), ("pipeline_metrics",)),
    (("request", "update", "change", "set next"), ("request_opportunity_update",)),
    (("",), ("search_docs",)),
)
METRIC_WORDS = (
    "win_rate",
    "won_count",
    "lost_count",
    "open_count",
    "opportunity_count",
    "stale_count",
    "action_required_count",
    "expected_monthly_spend_usd",
)
_ID = re.compile(r"\bO\d{3,}\b")
_PLANTED = re.compile(
    r"call (?:the )?tool (?P<name>[A-Za-z0-9_-]+)(?: with (?P<args>\{[^{}]*\}))?", re.IGNORECASE
)
_WORDS = re.compile(r"[a-z0-9_]+")


@dataclass
class ResponderSettings:
    """How the local model behaves (changed through ``POST /_sandbox/responder``)."""

    obey_planted_instructions: bool = False
    invent_citations: list[str] = field(default_factory=list)


def estimate_tokens(text: str) -> int:
    """Tokens as Bedrock's Anthropic models roughly count them: one per four characters, at least one."""
    return max(1, math.ceil(len(text) / 4))


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"])
        if "toolResult" in block:
            for inner in block["toolResult"].get("content", []):
                if "text" in inner:
                    out.append(inner["text"])
                if "json" in inner:
                    out.append(json.dumps(inner["json"], sort_keys=True))
        if "toolUse" in block:
            out.append(json.dumps(block["toolUse"], sort_keys=True))
    return out


def request_text(request: dict[str, Any]) -> str:
    """Every text the model reads in a request (what its input tokens are counted from)."""
    parts = [s.get("text", "") for s in request.get("system", [])]
    for message in request.get("messages", []):
        parts += _texts(message.get("content", []))
    for tool in request.get("toolConfig", {}).get("tools", []):
        parts.append(json.dumps(tool.get("toolSpec", {}), sort_keys=True))
    return "\n".join(parts)


def _question(messages: list[dict[str, Any]]) -> str:
    """The user's question: the text of the first user turn."""
    for message in messages:
        if message.get("role") == "user":
            texts = [b["text"] for b in message.get("content", []) if "text" in b]
            if texts:
                return "\n".join(texts)
    return ""


def _offered(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tools = request.get("toolConfig", {}).get("tools", [])
    return {t["toolSpec"]["name"]: t["toolSpec"] for t in tools if "toolSpec" in t}


def _arguments(spec: dict[str, Any], question: str) -> dict[str, Any]:
    """Arguments for a tool from its input schema and the question."""
    props = spec.get("inputSchema", {}).get("json", {}).get("properties", {})
    lower = question.lower()
    args: dict[str, Any] = {}
    for name in props:
        if name in ("query", "question"):
            args[name] = question
        elif name == "opportunity_id":
            match = _ID.search(question)
            if match:
                args[name] = match.group(0)
        elif name == "metric":
            found = next((m for m in METRIC_WORDS if m in lower or m.replace("_", " ") in lower), None)
            if found:
                args[name] = found
        elif name == "limit":
            args[name] = 5
        elif name == "next_steps":
            quoted = re.search(r"[\"“']([^\"”']{3,200})[\"”']", question)
            if quoted:
                args[name] = quoted.group(1)
    return args


def plan(question: str, offered: dict[str, dict[str, Any]]) -> list[str]:
    """The tools a question calls for, in the order of ``KEYWORD_TOOLS``, limited to the offered ones."""
    lower = question.lower()
    chosen: list[str] = []
    for words, tools in KEYWORD_TOOLS:
        if any(w in lower for w in words):
            chosen += [t for t in tools if t in offered and t not in chosen]
    if "request_opportunity_update" in chosen and not _ID.search(question):
        chosen.remove("request_opportunity_update")
    if not chosen:  # fall back to whatever retrieval the agent has
        chosen = [t for t in offered if t.startswith("search_")][:1]
    return chosen


def _used_tools(messages: list[dict[str, Any]]) -> set[str]:
    return {b["toolUse"]["name"] for m in messages for b in m.get("content", []) if "toolUse" in b}


def _tool_results(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any] | str, str]]:
    """(tool name, result json or text, status) of every tool result, in order."""
    names = {
        b["toolUse"]["toolUseId"]: b["toolUse"]["name"]
        for m in messages
        for b in m.get("content", [])
        if "toolUse" in b
    }
    out: list[tuple[str, dict[str, Any] | str, str]] = []
    for message in messages:
        for block in message.get("content", []):
            result = block.get("toolResult")
            if result is None:
                continue
            name = names.get(result["toolUseId"], "?")
            for inner in result.get("content", []):
                value = inner.get("json", inner.get("text", ""))
                out.append((name, value, result.get("status", "success")))
    return out


def _planted_calls(
    messages: list[dict[str, Any]], offered: dict[str, dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """Instructions found in tool results that a gullible model would follow."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for _name, value, _status in _tool_results(messages):
        text = value if isinstance(value, str) else json.dumps(value)
        for match in _PLANTED.finditer(text.replace('\\"', '"')):
            if match["name"] in offered:
                try:
                    args = json.loads(match["args"]) if match["args"] else {}
                except ValueError:
                    args = {}
                calls.append((match["name"], args if isinstance(args, dict) else {}))
    return calls


def _compose(messages: list[dict[str, Any]], settings: ResponderSettings) -> str:
    """An answer from the tool results: one line per row summary, each with the row's citation."""
    lines: list[str] = []
    for name, value, status in _tool_results(messages):
        if status == "error" or not isinstance(value, dict):
            detail = value if isinstance(value, str) else json.dumps(value)
            lines.append(f"{name.replace('_', ' ')} was not available: {str(detail)[:200]}")
            continue
        rows = value.get("rows", [])
        heading = value.get("heading") or name.replace("_", " ")
        if not rows:
            lines.append(f"{heading}: nothing found.")
            continue
        lines.append(f"{heading}:")
        for row in rows[:5]:
            summary = row.get("summary") or ", ".join(f"{k}={v}" for k, v in row.items() if k != "ref")
            ref = row.get("ref")
            lines.append(f"- {summary}" + (f" [ref:{ref}]" if ref else ""))
    for ref in settings.invent_citations:
        lines.append(f"- see also [ref:{ref}]")
    return "\n".join(lines) if lines else "I found nothing to answer that with."


def respond(request: dict[str, Any], settings: ResponderSettings, call_number: int) -> dict[str, Any]:
    """The Converse response body for a validated request."""
    messages = request["messages"]
    offered = _offered(request)
    question = _question(messages)
    used = _used_tools(messages)
    pending = [t for t in plan(question, offered) if t not in used] if not used else []
    planted = _planted_calls(messages, offered) if settings.obey_planted_instructions else []
    made = {
        (b["toolUse"]["name"], json.dumps(b["toolUse"].get("input", {}), sort_keys=True))
        for m in messages
        for b in m.get("content", [])
        if "toolUse" in b
    }
    planted = [(n, a) for n, a in planted if (n, json.dumps(a, sort_keys=True)) not in made]
    content: list[dict[str, Any]]
    if pending or planted:
        calls = [(t, _arguments(offered[t], question)) for t in pending] + planted
        content = [
            {"toolUse": {"toolUseId": f"tooluse_{call_number:04d}_{i:02d}", "name": name, "input": args}}
            for i, (name, args) in enumerate(calls)
        ]
        stop = "tool_use"
        output_text = json.dumps(content)
    else:
        text = _compose(messages, settings)
        content = [{"text": text}]
        stop = "end_turn"
        output_text = text
    max_tokens = request.get("inferenceConfig", {}).get("maxTokens")
    output_tokens = estimate_tokens(output_text)
    if stop == "end_turn" and max_tokens is not None and output_tokens > max_tokens:
        content = [{"text": output_text[: max_tokens * 4]}]
        output_tokens, stop = max_tokens, "max_tokens"
    input_tokens = estimate_tokens(request_text(request))
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 1},
    }
