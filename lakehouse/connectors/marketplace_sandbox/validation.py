"""Server-side validation of requests (and, in strict mode, of our own responses) against botocore's models.

botocore's ``ParamValidator`` checks what the SDK checks before sending (types, required and unknown members,
minimums, unions, documents); AWS also enforces maximums, enums and patterns on the server, which ``Validator``
adds. Problems come back as ``Problem(field, message)`` in the wording AWS uses
("Value at 'usageRecords' failed to satisfy constraint: ..."); each protocol front formats them its own way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import regex
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator

SERVICES = ("marketplace-catalog", "marketplace-agreement", "marketplace-entitlement", "meteringmarketplace")

# Where botocore's model disagrees with the service, the sandbox applies what the service accepts: ChangeName is
# ^[a-zA-Z]$ (one letter) in the model, but the service and every AWS example use names like "CreateProductChange".
# EntityType is shared by ListEntities ("SaaSProduct") and StartChangeSet's Entity.Type, which the service and its
# documentation version ("SaaSProduct@1.0"). An Entity.Identifier may reference an entity created earlier in the
# same change set ("$CreateProductChange.Entity.Identifier", the documented syntax). EntityNameString's pattern is
# double-escaped in the model (it would only match a literal backslash).
_PATTERN_FIXES = {
    ("marketplace-catalog", "ChangeName"): "^[a-zA-Z]+$",
    ("marketplace-catalog", "EntityType"): r"^[a-zA-Z]+(@[0-9]+\.[0-9]+)?$",
    ("marketplace-catalog", "EntityNameString"): r"^\S+[\S\s]*",
    ("marketplace-catalog", "Identifier"): r"^([\w\-@]+|\$[a-zA-Z]+\.Entity\.Identifier)$",
}


@dataclass(frozen=True)
class Problem:
    """One validation failure: the member path (``UsageRecords[0].Dimension``) and what was wrong."""

    field: str
    message: str


@functools.lru_cache(maxsize=8)
def service_model(name: str) -> ServiceModel:
    """botocore's service model for ``name`` (loaded once per process)."""
    from botocore.loaders import Loader

    return ServiceModel(Loader().load_service_model(name, "service-2"), service_name=name)


@functools.lru_cache(maxsize=1024)
def _matcher(pattern: str) -> Callable[[str], Any]:
    return regex.compile(pattern).search


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


class Validator:
    """Validates parsed request parameters of one service against its botocore model."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.model = service_model(service)
        self._param_validator = ParamValidator()

    def input_problems(self, operation: str, params: Any) -> list[Problem]:
        """Every problem with a request's parameters (empty when valid)."""
        shape = self.model.operation_model(operation).input_shape
        return self._problems(params, shape)

    def output_problems(self, operation: str, body: Any) -> list[Problem]:
        """Every way a response body departs from the operation's output shape (sandbox self-check)."""
        shape = self.model.operation_model(operation).output_shape
        return self._problems(_strip_nulls(body), shape)

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
        kind, name, extra = error
        field = name.lstrip(".")
        if kind == "missing required field":
            child = f"{field}.{extra['required_name']}" if field else extra["required_name"]
            return Problem(child, f"Member must not be null (member '{child}' is required)")
        if kind == "unknown field":
            child = f"{field}.{extra['unknown_param']}" if field else extra["unknown_param"]
            return Problem(child, f"Unknown member '{child}'")
        if kind == "invalid type":
            return Problem(field, f"Value at '{field}' has the wrong type ({type(extra['param']).__name__})")
        if kind == "invalid length":
            return Problem(
                field,
                f"Value at '{field}' failed to satisfy constraint: Member must have length "
                f"greater than or equal to {extra['min_allowed']}",
            )
        if kind == "invalid range":
            return Problem(
                field,
                f"Value at '{field}' failed to satisfy constraint: Member must have value "
                f"greater than or equal to {extra['min_allowed']}",
            )
        if kind in ("empty input", "more than one input"):
            return Problem(field, f"Union '{field}' must set exactly one member")
        return Problem(field, f"Value at '{field}' is invalid ({kind})")

    def _walk(self, value: Any, shape: Shape, path: str, problems: list[Problem]) -> None:
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
            for key, child in value.items():
                member = shape.members.get(key)
                if member is not None and child is not None:
                    self._walk(child, member, f"{path}.{key}" if path else key, problems)
        elif kind == "list" and isinstance(value, list):
            maximum = shape.metadata.get("max")
            if maximum is not None and len(value) > maximum:
                problems.append(
                    Problem(
                        path,
                        f"Value at '{_lower_first(path)}' failed to satisfy constraint: "
                        f"Member must have length less than or equal to {maximum}",
                    )
                )
            for i, item in enumerate(value):
                if item is not None:
                    self._walk(item, shape.member, f"{path}[{i}]", problems)
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                self._walk(key, shape.key, f"{path}.{key}", problems)
                if item is not None:
                    self._walk(item, shape.value, f"{path}.{key}", problems)
        elif kind == "string" and isinstance(value, str):
            if shape.enum and value not in shape.enum:
                problems.append(
                    Problem(
                        path,
                        f"Value '{value[:100]}' at '{_lower_first(path)}' failed to satisfy "
                        f"constraint: Member must satisfy enum value set: "
                        f"[{', '.join(shape.enum)}]",
                    )
                )
                return
            maximum = shape.metadata.get("max")
            if maximum is not None and len(value) > maximum:
                problems.append(
                    Problem(
                        path,
                        f"Value at '{_lower_first(path)}' failed to satisfy constraint: "
                        f"Member must have length less than or equal to {maximum}",
                    )
                )
            pattern = _PATTERN_FIXES.get((self.service, shape.name), shape.metadata.get("pattern"))
            if pattern and not _matcher(pattern)(value):
                shown = "" if shape.metadata.get("sensitive") else f"'{value[:100]}' "
                problems.append(
                    Problem(
                        path,
                        f"Value {shown}at '{_lower_first(path)}' failed to satisfy "
                        f"constraint: Member must satisfy regular expression pattern: "
                        f"{pattern}",
                    )
                )
        elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
            maximum = shape.metadata.get("max")
            if maximum is not None and value > maximum:
                problems.append(
                    Problem(
                        path,
                        f"Value at '{_lower_first(path)}' failed to satisfy constraint: "
                        f"Member must have value less than or equal to {maximum}",
                    )
                )


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def to_datetime(value: Any) -> datetime | None:
    """A timestamp as the wire carries it (epoch number, ISO string, CBOR datetime) -> aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def coerce_timestamps(value: Any, shape: Shape | None) -> Any:
    """Turn the timestamp members of a parsed request into datetimes, following the input shape."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "timestamp":
        converted = to_datetime(value)
        return converted if converted is not None else value
    if kind == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
        return {
            k: coerce_timestamps(v, shape.members[k]) if k in shape.members else v for k, v in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [coerce_timestamps(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce_timestamps(v, shape.value) for k, v in value.items()}
    return value
