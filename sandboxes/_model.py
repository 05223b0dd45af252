"""Server-side request validation against botocore's own service models, the way AWS answers it.

botocore's ``ParamValidator`` checks what the SDK checks before sending (types, required and unknown members,
minimums, unions); AWS also enforces maximums, enums and patterns on the server, which ``ModelValidator`` adds
by walking the input shape. Every emulator validates with this one class; each protocol front formats the
``Problem`` list the way its service does. It is written here, not borrowed from the product's dry-run check,
because an emulator must share no code with the clients it checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import regex  # the models' patterns use \p{L} classes, which only the ``regex`` package understands
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator


@dataclass(frozen=True)
class Problem:
    """One validation failure: the member path (``UsageRecords[0].Dimension``), AWS's message and code."""

    field: str
    message: str
    code: str = "INVALID_VALUE"


@functools.lru_cache(maxsize=16)
def service_model(name: str) -> ServiceModel:
    """botocore's service model for ``name`` (loaded once per process)."""
    return ServiceModel(Loader().load_service_model(name, "service-2"), service_name=name)


@functools.lru_cache(maxsize=1024)
def _matcher(pattern: str) -> Callable[[str], Any]:
    search: Callable[[str], Any] = regex.compile(pattern).search  # Smithy patterns are not anchored
    return search


def _lower_first(path: str) -> str:
    """AWS's messages name members camel-cased (``usageRecords``), its field lists as modelled."""
    return path[:1].lower() + path[1:]


def strip_nulls(value: Any) -> Any:
    """``value`` without null members (AWS responses carry explicit nulls; validation treats them as absent)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def as_accepted(value: Any, shape: Shape | None) -> Any:
    """A request as a JSON-protocol AWS service reads it: explicit ``null`` members count as absent and members
    the input shape does not model are ignored (AWS answers such bodies with 200, so an emulator must too)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
        return {
            k: as_accepted(v, shape.members[k])
            for k, v in value.items()
            if v is not None and k in shape.members
        }
    if kind == "list" and isinstance(value, list):
        return [as_accepted(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: as_accepted(v, shape.value) for k, v in value.items() if v is not None}
    return value


def _constraint(path: str, text: str, code: str, shown: str = "") -> Problem:
    return Problem(path, f"Value {shown}at '{_lower_first(path)}' failed to satisfy constraint: {text}", code)


class ModelValidator:
    """Validates parsed request parameters (or response bodies) of one service against its botocore model.

    ``pattern_fixes`` maps a shape name to the pattern the service really applies, where the model's differs.
    """

    def __init__(self, service: str, pattern_fixes: Mapping[str, str] | None = None) -> None:
        self.service = service
        self.model = service_model(service)
        self._pattern_fixes = dict(pattern_fixes or {})
        self._param_validator = ParamValidator()

    def input_problems(self, operation: str, params: Any) -> list[Problem]:
        """Every problem with a request's parameters (empty when valid)."""
        return self._problems(params, self.model.operation_model(operation).input_shape)

    def output_problems(self, operation: str, body: Any) -> list[Problem]:
        """Every way a response body departs from the operation's output shape (the emulator's self-check)."""
        return self._problems(strip_nulls(body), self.model.operation_model(operation).output_shape)

    def _problems(self, params: Any, shape: Shape | None) -> list[Problem]:
        if shape is None:
            return []
        if not isinstance(params, dict):
            return [Problem("", "The request body must be an object")]
        report = self._param_validator.validate(params, shape)
        problems = [self._translate(e) for e in report._errors]
        self._walk(params, shape, "", problems)
        return problems

    @staticmethod
    def _translate(error: tuple[str, str, dict[str, Any]]) -> Problem:
        """One ParamValidator error in AWS's words."""
        kind, name, extra = error
        field = name.lstrip(".")
        if kind == "missing required field":
            child = f"{field}.{extra['required_name']}" if field else extra["required_name"]
            return _constraint(child, "Member must not be null", "REQUIRED_FIELD_MISSING", "null ")
        if kind == "unknown field":
            child = f"{field}.{extra['unknown_param']}" if field else extra["unknown_param"]
            return Problem(child, f"Unknown member '{_lower_first(child)}' is not part of the request")
        if kind == "invalid type":
            got = type(extra["param"]).__name__
            return Problem(field, f"Value at '{_lower_first(field)}' has the wrong type ({got})")
        if kind == "invalid length":
            code = "NOT_ENOUGH_VALUES" if isinstance(extra["param"], list | tuple) else "VALUE_OUT_OF_RANGE"
            text = f"Member must have length greater than or equal to {extra['min_allowed']}"
            return _constraint(field, text, code)
        if kind == "invalid range":
            text = f"Member must have value greater than or equal to {extra['min_allowed']}"
            return _constraint(field, text, "VALUE_OUT_OF_RANGE")
        if kind in ("empty input", "more than one input"):
            return Problem(field, f"Union '{_lower_first(field)}' must set exactly one member")
        return Problem(field, f"Value at '{_lower_first(field)}' is invalid ({kind})")

    def _walk(self, value: Any, shape: Shape, path: str, problems: list[Problem]) -> None:
        """The server-side constraints ParamValidator leaves out: maximums, enums and patterns."""
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
            for key, child in value.items():
                member = shape.members.get(key)
                if member is not None and child is not None:
                    self._walk(child, member, f"{path}.{key}" if path else key, problems)
        elif kind == "list" and isinstance(value, list):
            maximum = shape.metadata.get("max")
            if maximum is not None and len(value) > maximum:
                text = f"Member must have length less than or equal to {maximum}"
                problems.append(_constraint(path, text, "TOO_MANY_VALUES"))
            for i, item in enumerate(value):
                if item is not None:
                    self._walk(item, shape.member, f"{path}[{i}]", problems)
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                self._walk(key, shape.key, f"{path}.{key}", problems)
                if item is not None:
                    self._walk(item, shape.value, f"{path}.{key}", problems)
        elif kind == "string" and isinstance(value, str):
            self._check_string(value, shape, path, problems)
        elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
            maximum = shape.metadata.get("max")
            if maximum is not None and value > maximum:
                text = f"Member must have value less than or equal to {maximum}"
                problems.append(_constraint(path, text, "VALUE_OUT_OF_RANGE"))

    def _check_string(self, value: str, shape: Shape, path: str, problems: list[Problem]) -> None:
        shown = "" if shape.metadata.get("sensitive") else f"'{value[:100]}' "
        if shape.enum and value not in shape.enum:
            text = f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            problems.append(_constraint(path, text, "INVALID_ENUM_VALUE", shown))
            return
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            text = f"Member must have length less than or equal to {maximum}"
            problems.append(_constraint(path, text, "VALUE_OUT_OF_RANGE"))
        pattern = self._pattern_fixes.get(shape.name, shape.metadata.get("pattern"))
        if pattern and not _matcher(pattern)(value):
            text = f"Member must satisfy regular expression pattern: {pattern}"
            problems.append(_constraint(path, text, "INVALID_STRING_FORMAT", shown))
