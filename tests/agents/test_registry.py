"""Agents in the module registry: type ``agent`` manifests, validated, seeded, and in step with the prompts."""

from __future__ import annotations

import copy
from importlib import resources

import pytest
import yaml

from lakehouse.agents.prompts import AGENTS, all_prompts, prompt_for
from tests.control_plane.conftest import uid

MODULES = resources.files("lakehouse.agents") / "modules"


def manifest(agent: str) -> dict:
    return yaml.safe_load((MODULES / f"agent-{agent}.yaml").read_text())


@pytest.mark.parametrize("agent", AGENTS)
def test_each_agent_module_names_the_prompt_version_the_agent_runs(agent):
    section = manifest(agent)["agent"]
    prompt = prompt_for(agent)
    assert section["prompt"] == {
        "id": prompt.id,
        "version": prompt.version,
        "model": prompt.model,
        "evaluation_set": prompt.evaluation_set,
        "approval": {"status": prompt.approval_status, "approved_by": prompt.approved_by},
    }
    assert section["tools"] == list(prompt.tools)


def test_every_prompt_names_an_evaluation_set_that_ships():
    evals = resources.files("lakehouse.agents")
    for prompt in all_prompts():
        assert (evals / prompt.evaluation_set).is_file(), prompt.evaluation_set


def test_agent_modules_are_seeded_and_listed_by_type(sqlite_stack):
    client, admin = sqlite_stack.client, sqlite_stack.admin
    resp = client.get("/registry/modules", params={"type": "agent"}, headers=admin)
    assert resp.status_code == 200, resp.text
    listed = resp.json()
    assert sorted(m["name"] for m in listed) == ["agent-advisor", "agent-doc", "agent-ops", "agent-support"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("agent"), "a module of type agent needs an agent section (prompt, tools)"),
        (lambda m: m.update(type="pipeline"), "only modules of type agent have an agent section"),
        (
            lambda m: m["agent"]["prompt"]["approval"].pop("approved_by"),
            "an approved prompt names its approver",
        ),
        (lambda m: m["agent"]["prompt"].update(version="one"), "one"),
        (lambda m: m["agent"]["prompt"]["approval"].update(status="shipped"), "'shipped' is not one of"),
        (lambda m: m["agent"].update(tools=[]), "should be non-empty"),
    ],
)
def test_an_invalid_agent_manifest_is_refused_naming_the_problem(sqlite_stack, change, message):
    body = copy.deepcopy(manifest("ops"))
    body["name"] = f"agent-{uid()}"
    change(body)
    resp = sqlite_stack.client.post("/registry/modules", json=body, headers=sqlite_stack.admin)
    assert resp.status_code == 422, resp.text
    assert any(message in p["msg"] for p in resp.json()["problems"]), resp.json()["problems"]


def test_a_valid_agent_manifest_publishes(sqlite_stack):
    body = copy.deepcopy(manifest("doc"))
    body["name"] = f"agent-{uid()}"
    resp = sqlite_stack.client.post("/registry/modules", json=body, headers=sqlite_stack.admin)
    assert resp.status_code == 201, resp.text
    assert resp.json()["module_type"] == "agent"
