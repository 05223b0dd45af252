"""Server-side request validation against botocore's own service model, the way AWS answers it.

botocore's ``ParamValidator`` checks types, required members, unknown members and minimums (what the SDK checks
before sending). AWS additionally enforces maximums, enums and patterns on the server; ``RequestValidator`` does
both and reports every problem as a ``ValidationExceptionError`` (``FieldName``, ``Message``, ``Code``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

try:  # the service model's patterns use \p{L} classes, which only the ``regex`` package understands
    import regex as _regex_module
except ImportError:  # pragma: no cover - regex ships with the pinned environment
    _regex_module = None

SERVICE_NAME = "partnercentral-selling"
CATALOGS = ("AWS", "Sandbox")


@functools.lru_cache(maxsize=4)
def service_model(name: str = SERVICE_NAME) -> ServiceModel:
    """botocore's model of ``name`` (loaded once per process)."""
    from botocore.loaders import Loader

    return ServiceModel(Loader().load_service_model(name, "service-2"), service_name=name)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Callable[[str], Any]:
    if _regex_module is not None:
        return _regex_module.compile(pattern).fullmatch
    translated = pattern.replace(r"\p{L}", r"^\W\d_").replace(r"\p{N}", r"\d").replace(r"\p{Z}", r"\s")
    return re.compile(translated).fullmatch


def _field(name: str) -> str:
    return name.lstrip(".")


def _quote(value: Any, shape: Shape | None) -> str:
    if shape is not None and shape.metadata.get("sensitive"):
        return ""
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return f"Value {text[:120]} "


class RequestValidator:
    """Validates a parsed JSON request body against an operation's input shape."""

    def __init__(self, model: ServiceModel | None = None) -> None:
        self.model = model or service_model()
        self._param_validator = ParamValidator()

    def operation(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def validate(self, operation_name: str, params: Any) -> list[dict[str, str]]:
        """Every problem with ``params`` as AWS ``ErrorList`` entries (empty when the request is valid)."""
        shape = self.operation(operation_name).input_shape
        if not isinstance(params, dict):
            return [
                {
                    "FieldName": "",
                    "Message": "The request body must be a JSON object",
                    "Code": "INVALID_VALUE",
                }
            ]
        errors = [self._translate(e) for e in self._param_validator.validate(params, shape)._errors]
        self._walk(params, shape, "", errors)
        catalog = params.get("Catalog")
        if isinstance(catalog, str) and "Catalog" in shape.members and catalog not in CATALOGS:
            errors.append(
                {
                    "FieldName": "Catalog",
                    "Message": f"Value '{catalog}' at 'Catalog' failed to satisfy constraint: Member must be one of "
                    f"[{', '.join(CATALOGS)}]",
                    "Code": "INVALID_VALUE",
                }
            )
        return errors

    @staticmethod
    def _translate(error: tuple[str, str, dict[str, Any]]) -> dict[str, str]:
        kind, name, extra = error
        field = _field(name)
        if kind == "missing required field":
            child = f"{field}.{extra['required_name']}" if field else extra["required_name"]
            return {
                "FieldName": child,
                "Message": f"Member '{child}' is required but was not provided",
                "Code": "REQUIRED_FIELD_MISSING",
            }
        if kind == "unknown field":
            child = f"{field}.{extra['unknown_param']}" if field else extra["unknown_param"]
            return {
                "FieldName": child,
                "Message": f"Unknown member '{child}' is not part of the request",
                "Code": "INVALID_VALUE",
            }
        if kind == "invalid type":
            return {
                "FieldName": field,
                "Message": f"Value at '{field}' has the wrong type (got {type(extra['param']).__name__})",
                "Code": "INVALID_VALUE",
            }
        if kind == "invalid length":
            param = extra["param"]
            code = "NOT_ENOUGH_VALUES" if isinstance(param, (list, tuple)) else "VALUE_OUT_OF_RANGE"
            return {
                "FieldName": field,
                "Message": f"Value at '{field}' failed to satisfy constraint: Member must "
                f"have length greater than or equal to {extra['min_allowed']}",
                "Code": code,
            }
        if kind == "invalid range":
            return {
                "FieldName": field,
                "Message": f"Value at '{field}' failed to satisfy constraint: Member must "
                f"have value greater than or equal to {extra['min_allowed']}",
                "Code": "VALUE_OUT_OF_RANGE",
            }
        if kind in ("empty input", "more than one input"):
            return {
                "FieldName": field,
                "Message": f"Union '{field}' must set exactly one member ({kind})",
                "Code": "INVALID_VALUE",
            }
        return {
            "FieldName": field,
            "Message": f"Value at '{field}' is invalid: {kind}",
            "Code": "INVALID_VALUE",
        }

    def _walk(self, value: Any, shape: Shape, path: str, errors: list[dict[str, str]]) -> None:
        """The server-side constraints ParamValidator leaves out: maximums, enums and patterns."""
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict):
            members = shape.members
            for key, child in value.items():
                if key in members and child is not None:
                    self._walk(child, members[key], f"{path}.{key}" if path else key, errors)
        elif kind == "list" and isinstance(value, list):
            maximum = shape.metadata.get("max")
            if maximum is not None and len(value) > maximum:
                errors.append(
                    {
                        "FieldName": path,
                        "Message": f"Value at '{path}' failed to satisfy constraint: "
                        f"Member must have length less than or equal to {maximum}",
                        "Code": "TOO_MANY_VALUES",
                    }
                )
            for i, item in enumerate(value):
                if item is not None:
                    self._walk(item, shape.member, f"{path}[{i}]", errors)
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                self._walk(key, shape.key, f"{path}.{key}", errors)
                if item is not None:
                    self._walk(item, shape.value, f"{path}.{key}", errors)
        elif kind == "string" and isinstance(value, str):
            enum = shape.enum
            if enum and value not in enum:
                errors.append(
                    {
                        "FieldName": path,
                        "Message": f"{_quote(value, shape)}at '{path}' failed to satisfy "
                        f"constraint: Member must satisfy enum value set: [{', '.join(enum)}]",
                        "Code": "INVALID_ENUM_VALUE",
                    }
                )
                return
            maximum = shape.metadata.get("max")
            if maximum is not None and len(value) > maximum:
                errors.append(
                    {
                        "FieldName": path,
                        "Message": f"Value at '{path}' failed to satisfy constraint: "
                        f"Member must have length less than or equal to {maximum}",
                        "Code": "VALUE_OUT_OF_RANGE",
                    }
                )
            pattern = shape.metadata.get("pattern")
            if pattern and not _compiled(pattern)(value):
                errors.append(
                    {
                        "FieldName": path,
                        "Message": f"{_quote(value, shape)}at '{path}' failed to satisfy "
                        f"constraint: Member must satisfy regular expression pattern: {pattern}",
                        "Code": "INVALID_STRING_FORMAT",
                    }
                )
        elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
            maximum = shape.metadata.get("max")
            if maximum is not None and value > maximum:
                errors.append(
                    {
                        "FieldName": path,
                        "Message": f"Value at '{path}' failed to satisfy constraint: "
                        f"Member must have value less than or equal to {maximum}",
                        "Code": "VALUE_OUT_OF_RANGE",
                    }
                )


def strip_nulls(value: Any) -> Any:
    """``value`` without null members (AWS responses carry explicit nulls; the validator treats them as absent)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def validate_output(
    operation_name: str, body: Any, model: ServiceModel | None = None
) -> list[dict[str, str]]:
    """Problems of a response body against the operation's output shape (used to check seeded data)."""
    validator = RequestValidator(model)
    shape = validator.operation(operation_name).output_shape
    cleaned = strip_nulls(body)
    errors = [validator._translate(e) for e in validator._param_validator.validate(cleaned, shape)._errors]
    validator._walk(cleaned, shape, "", errors)
    return errors
