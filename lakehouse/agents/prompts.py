"""The prompt registry: versioned system prompts with owner, model, evaluation set and approval status.

Prompts are package data beside the agents (``prompts/<agent>-<version>.yaml``), so a wheel carries exactly the
prompts it was tested with. Each agent runs the newest *approved* version of its prompt; a draft or retired one
never runs (``PromptNotApproved``). Each agent is published to the control plane's module registry as a module
of type ``agent`` (``modules/agent-<name>.yaml``) naming the same prompt id, version, model, evaluation set and
approval, and a test keeps the two in step.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from semantic_version import Version

from lakehouse.errors import BadInput, Refused

APPROVAL_STATUSES: tuple[str, ...] = ("draft", "in_review", "approved", "retired")
AGENTS: tuple[str, ...] = ("advisor", "ops", "support", "doc")


class PromptNotApproved(Refused):
    """The agent has no approved prompt version; nothing was sent to a model."""


@dataclass(frozen=True)
class Prompt:
    """One version of an agent's prompt and what governs it."""

    id: str
    version: str
    agent: str
    owner_team: str
    owner_contact: str | None
    model: str
    evaluation_set: str
    approval_status: str
    approved_by: str | None
    tools: tuple[str, ...]
    system: str
    max_tokens: int
    max_turns: int

    @property
    def approved(self) -> bool:
        return self.approval_status == "approved"

    def as_dict(self) -> dict[str, Any]:
        """The prompt as the API lists it."""
        return {
            "id": self.id,
            "version": self.version,
            "agent": self.agent,
            "owner": {"team": self.owner_team, "contact": self.owner_contact},
            "model": self.model,
            "evaluation_set": self.evaluation_set,
            "approval": {"status": self.approval_status, "approved_by": self.approved_by},
            "tools": list(self.tools),
            "max_tokens": self.max_tokens,
            "max_turns": self.max_turns,
        }


def _parse(name: str, doc: Any) -> Prompt:
    from lakehouse.agents.tools import TOOLS

    if not isinstance(doc, dict):
        raise BadInput(f"prompt file {name} is not a mapping")
    try:
        approval, owner = doc["approval"], doc["owner"]
        prompt = Prompt(
            id=str(doc["id"]),
            version=str(Version(str(doc["version"]))),
            agent=str(doc["agent"]),
            owner_team=str(owner["team"]),
            owner_contact=owner.get("contact"),
            model=str(doc["model"]),
            evaluation_set=str(doc["evaluation_set"]),
            approval_status=str(approval["status"]),
            approved_by=approval.get("approved_by"),
            tools=tuple(doc["tools"]),
            system=str(doc["system"]).strip(),
            max_tokens=int(doc.get("max_tokens", 1024)),
            max_turns=int(doc.get("max_turns", 4)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"prompt file {name}: missing or invalid field ({exc})") from None
    problems = []
    if prompt.agent not in AGENTS:
        problems.append(f"unknown agent {prompt.agent!r}")
    if prompt.approval_status not in APPROVAL_STATUSES:
        problems.append(f"approval status {prompt.approval_status!r} is not one of {APPROVAL_STATUSES}")
    if prompt.approved and not prompt.approved_by:
        problems.append("an approved prompt names who approved it")
    unknown = [t for t in prompt.tools if t not in TOOLS]
    if unknown:
        problems.append(f"unknown tools {unknown}")
    if problems:
        raise BadInput(f"prompt file {name}: " + "; ".join(problems))
    return prompt


@functools.lru_cache(maxsize=1)
def all_prompts() -> tuple[Prompt, ...]:
    """Every prompt version shipped with the package, by agent then version."""
    folder = resources.files("lakehouse.agents") / "prompts"
    prompts = [
        _parse(entry.name, yaml.safe_load(entry.read_text(encoding="utf-8")))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    ]
    seen: set[tuple[str, str]] = set()
    for p in prompts:
        if (p.id, p.version) in seen:
            raise BadInput(f"prompt {p.id} {p.version} is shipped twice")
        seen.add((p.id, p.version))
    return tuple(sorted(prompts, key=lambda p: (p.agent, Version(p.version))))


def prompt_for(agent: str) -> Prompt:
    """The newest approved prompt of ``agent``."""
    if agent not in AGENTS:
        raise BadInput(f"unknown agent {agent!r}: use one of {', '.join(AGENTS)}")
    approved = [p for p in all_prompts() if p.agent == agent and p.approved]
    if not approved:
        raise PromptNotApproved(f"agent {agent} has no approved prompt version; nothing was asked")
    return approved[-1]
