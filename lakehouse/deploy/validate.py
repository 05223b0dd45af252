"""Check a state machine definition: the JSON Schema of ``asl_schema`` plus the rules a schema cannot state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lakehouse.deploy.asl_schema import ASL_SCHEMA


class InvalidStateMachine(ValueError):
    """The definition is not valid Amazon States Language; the message lists every problem with its path."""


def _schema_errors(definition: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(ASL_SCHEMA)
    errors = sorted(validator.iter_errors(definition), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message[:300]}" for e in errors]


def _targets(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        if "Next" in choice:
            yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _check_machine(machine: dict[str, Any], where: str, seen_names: set[str], problems: list[str]) -> None:
    states: dict[str, Any] = machine["States"]
    if machine["StartAt"] not in states:
        problems.append(f"{where}: StartAt {machine['StartAt']!r} is not a state of this scope")
    for name, state in states.items():
        here = f"{where}/{name}"
        if name in seen_names:
            problems.append(f"{here}: state name is used twice in the state machine")
        seen_names.add(name)
        for target in _targets(state):
            if target not in states:
                problems.append(f"{here}: transition to {target!r}, which is not a state of this scope")
        for field in ("Retry", "Catch"):
            rules = state.get(field, [])
            for i, rule in enumerate(rules):
                if "States.ALL" in rule["ErrorEquals"] and (
                    len(rule["ErrorEquals"]) > 1 or i != len(rules) - 1
                ):
                    problems.append(f"{here}: {field}[{i}] uses States.ALL, which must be alone and last")
        for i, choice in enumerate(state.get("Choices", [])):
            for nested in ("And", "Or"):
                for sub in choice.get(nested, []):
                    if "Next" in sub:
                        problems.append(f"{here}: Choices[{i}].{nested} has a nested rule with Next")
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            _check_machine(processor, here, seen_names, problems)
        for b, branch in enumerate(state.get("Branches", [])):
            _check_machine(branch, f"{here}/Branches[{b}]", seen_names, problems)
    # Reachability from StartAt.
    reachable: set[str] = set()
    frontier = [machine["StartAt"]] if machine["StartAt"] in states else []
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        reachable.add(name)
        frontier.extend(t for t in _targets(states[name]) if t in states)
    for name in states:
        if name not in reachable:
            problems.append(f"{where}/{name}: unreachable from StartAt")
    if not any(s.get("End") or s["Type"] in ("Succeed", "Fail") for s in states.values()):
        problems.append(f"{where}: no terminal state (End, Succeed or Fail)")


def validate_definition(definition: Any) -> None:
    """Raise InvalidStateMachine listing every schema and structural problem of ``definition``."""
    problems = _schema_errors(definition)
    if not problems:
        _check_machine(definition, "", set(), problems)
    if problems:
        raise InvalidStateMachine("invalid state machine definition:\n  " + "\n  ".join(problems))


def state_names(definition: dict[str, Any]) -> list[str]:
    """Every state name at any depth (Map processors and Parallel branches included), in document order."""
    out: list[str] = []

    def walk(machine: dict[str, Any]) -> None:
        for name, state in machine["States"].items():
            out.append(name)
            if state["Type"] == "Map":
                walk(state.get("ItemProcessor") or state["Iterator"])
            for branch in state.get("Branches", []):
                walk(branch)

    walk(definition)
    return out


def glue_job_names(definition: dict[str, Any]) -> list[str]:
    """The JobName of every Glue task at any depth, in document order."""
    names: list[str] = []

    def walk(machine: dict[str, Any]) -> None:
        for state in machine["States"].values():
            if state["Type"] == "Task" and ":glue:" in state["Resource"]:
                names.append(state["Parameters"]["JobName"])
            if state["Type"] == "Map":
                walk(state.get("ItemProcessor") or state["Iterator"])
            for branch in state.get("Branches", []):
                walk(branch)

    walk(definition)
    return names
