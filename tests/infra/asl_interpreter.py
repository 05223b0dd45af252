"""A small, strict interpreter of the Amazon States Language subset we generate, for tests.

moto 5.2.5 executes the definition too (``test_state_machine_moto.py``), but only after a workaround for its
Glue ``.sync`` integration, and it cannot make a Glue run fail or throttle on demand. This interpreter runs the
definition with scripted task results, so retries, backoff, bounded attempts and Parallel waves are tested
deterministically. It supports: Pass, Task, Choice, Map (inline, items in order), Parallel, Succeed, Fail, with InputPath,
Parameters/ItemSelector, ResultSelector, ResultPath, OutputPath, Retry (backoff, MaxDelaySeconds, the
States.ALL / States.TaskFailed wildcards) and Catch. Waits are recorded in ``sleeps``, never slept.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonpath_ng.ext import parse as jsonpath


class StatesError(Exception):
    """An ASL error (``Error`` / ``Cause``) raised by a task or a Fail state."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


_MISSING = object()


def _definite(path: str) -> bool:
    return not any(token in path for token in ("[?", "[*]", ".*", ".."))


def get_path(data: Any, path: str, context: dict[str, Any]) -> Any:
    """Evaluate a JSONPath (``$...``) or context path (``$$...``); _MISSING when a definite path has no value."""
    if path.startswith("$$"):
        data, path = context, path[1:]
    if path == "$":
        return data
    matches = [m.value for m in jsonpath(path).find(data)]
    if _definite(path):
        return matches[0] if matches else _MISSING
    return matches


def _payload(template: Any, data: Any, context: dict[str, Any]) -> Any:
    """Evaluate a Parameters / ItemSelector / ResultSelector template."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                got = (
                    _intrinsic(value, data, context)
                    if value.startswith("States.")
                    else get_path(data, value, context)
                )
                if got is _MISSING:
                    raise StatesError("States.Runtime", f"path {value} of {key} matched nothing")
                out[key[:-2]] = copy.deepcopy(got)
            else:
                out[key] = _payload(value, data, context)
        return out
    if isinstance(template, list):
        return [_payload(v, data, context) for v in template]
    return template


_ARRAY_CONTAINS = re.compile(r"^States\.ArrayContains\((\$[^,]*),\s*'([^']*)'\)$")


def _intrinsic(expression: str, data: Any, context: dict[str, Any]) -> Any:
    """The intrinsic functions the generator uses: States.ArrayContains($.path, 'literal')."""
    match = _ARRAY_CONTAINS.match(expression)
    if not match:
        raise NotImplementedError(f"intrinsic function not interpreted: {expression}")
    array = get_path(data, match.group(1), context)
    if not isinstance(array, list):
        raise StatesError("States.Runtime", f"{match.group(1)} is not an array in {expression}")
    return match.group(2) in array


def _set_path(data: Any, path: str | None, value: Any) -> Any:
    if path is None:
        return data
    if path == "$":
        return value
    if not path.startswith("$.") or not _definite(path):
        raise NotImplementedError(f"ResultPath {path!r}")
    root = copy.deepcopy(data) if isinstance(data, dict) else {}
    node = root
    parts = path[2:].split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return root


def _matches(names: list[str], error: str) -> bool:
    if error in names:
        return True
    if "States.ALL" in names and error != "States.Runtime":
        return True
    # States.TaskFailed matches any error of a task except a timeout.
    return "States.TaskFailed" in names and error not in ("States.Timeout", "States.Runtime")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "NumericEquals": lambda a, b: isinstance(a, (int, float)) and a == b,
    "NumericGreaterThan": lambda a, b: isinstance(a, (int, float)) and a > b,
    "NumericLessThan": lambda a, b: isinstance(a, (int, float)) and a < b,
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a == b,
}


@dataclass
class Execution:
    """The result of one run: status, output or error, the trace of states entered, and recorded waits."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    trace: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)


class Interpreter:
    """Runs a definition; ``task(resource, parameters, context)`` returns a result or raises StatesError."""

    def __init__(
        self, definition: dict[str, Any], task: Callable[[str, dict[str, Any], dict[str, Any]], Any]
    ) -> None:
        self.definition = definition
        self.task = task

    def run(self, execution_input: Any, *, name: str = "run-1") -> Execution:
        """Execute with ``execution_input``; the execution name becomes ``$$.Execution.Name``."""
        arn = "arn:aws:states:us-east-1:123456789012:execution:pipeline:" + name
        context = {
            "Execution": {"Id": arn, "Name": name, "Input": execution_input},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline"},
        }
        result = Execution(status="RUNNING")
        try:
            result.output = self._machine(
                self.definition, copy.deepcopy(execution_input), context, result, ""
            )
            result.status = "SUCCEEDED"
        except StatesError as exc:
            result.status, result.error, result.cause = "FAILED", exc.error, exc.cause
        return result

    # -- machinery -------------------------------------------------------------------------------------------
    def _machine(
        self, machine: dict[str, Any], data: Any, context: dict[str, Any], run: Execution, scope: str
    ) -> Any:
        name = machine["StartAt"]
        steps = 0
        while True:
            steps += 1
            if steps > 1000:
                raise RuntimeError("more than 1000 transitions: a loop in the definition?")
            state = machine["States"][name]
            run.trace.append(scope + name)
            next_name, data, done = self._state(name, state, data, context, run, scope)
            if done:
                return data
            name = next_name

    def _state(
        self, name: str, state: dict[str, Any], raw: Any, context: dict[str, Any], run: Execution, scope: str
    ) -> tuple[str | None, Any, bool]:
        kind = state["Type"]
        if kind == "Fail":
            raise StatesError(state.get("Error", "States.Fail"), state.get("Cause", ""))
        effective = raw if state.get("InputPath", "$") == "$" else get_path(raw, state["InputPath"], context)
        if kind == "Succeed":
            return None, effective, True
        if kind == "Choice":
            for rule in state["Choices"]:
                if self._rule(rule, effective, context):
                    return rule["Next"], effective, False
            if "Default" not in state:
                raise StatesError("States.NoChoiceMatched", f"no choice of {name} matched")
            return state["Default"], effective, False

        try:
            result = self._with_retry(name, state, effective, context, run, scope)
        except StatesError as exc:
            for catcher in state.get("Catch", []):
                if _matches(catcher["ErrorEquals"], exc.error):
                    run.trace.append(f"{scope}{name} !caught {exc.error}")
                    out = _set_path(
                        raw, catcher.get("ResultPath", "$"), {"Error": exc.error, "Cause": exc.cause}
                    )
                    return catcher["Next"], out, False
            raise
        if "ResultSelector" in state:
            result = _payload(state["ResultSelector"], result, context)
        out = _set_path(raw, state.get("ResultPath", "$"), result)
        if state.get("OutputPath", "$") != "$":
            out = get_path(out, state["OutputPath"], context)
        if state.get("End"):
            return None, out, True
        return state["Next"], out, False

    def _with_retry(
        self, name: str, state: dict[str, Any], data: Any, context: dict[str, Any], run: Execution, scope: str
    ) -> Any:
        attempts = [0] * len(state.get("Retry", []))
        while True:
            try:
                return self._execute(name, state, data, context, run, scope)
            except StatesError as exc:
                for i, retrier in enumerate(state.get("Retry", [])):
                    if _matches(retrier["ErrorEquals"], exc.error):
                        if attempts[i] >= retrier.get("MaxAttempts", 3):
                            raise
                        wait = (
                            retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** attempts[i]
                        )
                        if "MaxDelaySeconds" in retrier:
                            wait = min(wait, retrier["MaxDelaySeconds"])
                        attempts[i] += 1
                        run.sleeps.append(wait)
                        run.trace.append(f"{scope}{name} !retry {exc.error} after {wait:g}s")
                        break
                else:
                    raise

    def _execute(
        self, name: str, state: dict[str, Any], data: Any, context: dict[str, Any], run: Execution, scope: str
    ) -> Any:
        kind = state["Type"]
        if kind == "Pass":
            if "Parameters" in state:
                return _payload(state["Parameters"], data, context)
            return copy.deepcopy(state.get("Result", data))
        if kind == "Task":
            params = _payload(state.get("Parameters", {}), data, context)
            return self.task(state["Resource"], params, context)
        if kind == "Parallel":
            return [
                self._machine(branch, copy.deepcopy(data), context, run, f"{scope}{name}/")
                for branch in state["Branches"]
            ]
        if kind == "Map":
            items = get_path(data, state.get("ItemsPath", "$"), context)
            if not isinstance(items, list):
                raise StatesError("States.Runtime", f"ItemsPath of {name} is not an array")
            processor = state.get("ItemProcessor") or state["Iterator"]
            outputs = []
            for index, value in enumerate(items):
                item_context = {**context, "Map": {"Item": {"Index": index, "Value": value}}}
                selector = state.get("ItemSelector") or state.get("Parameters")
                item = _payload(selector, data, item_context) if selector else copy.deepcopy(value)
                outputs.append(self._machine(processor, item, context, run, f"{scope}{name}[{index}]/"))
            return outputs
        raise NotImplementedError(f"state type {kind}")

    def _rule(self, rule: dict[str, Any], data: Any, context: dict[str, Any]) -> bool:
        if "And" in rule:
            return all(self._rule(r, data, context) for r in rule["And"])
        if "Or" in rule:
            return any(self._rule(r, data, context) for r in rule["Or"])
        if "Not" in rule:
            return not self._rule(rule["Not"], data, context)
        value = get_path(data, rule["Variable"], context)
        if "IsPresent" in rule:
            return (value is not _MISSING) == rule["IsPresent"]
        for op, compare in _COMPARE.items():
            if op in rule:
                return value is not _MISSING and compare(value, rule[op])
        raise NotImplementedError(f"choice rule {json.dumps(rule)}")
