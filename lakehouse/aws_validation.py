"""Check a request against botocore's service model before sending it (the dry run of an approved write).

botocore's own ``ParamValidator`` covers what the SDK refuses (types, required and unknown members, minimums);
AWS also refuses, on the server, values over a maximum, outside an enum or off a pattern, so ``RequestCheck``
adds those three from the same model. The product does this itself rather than asking an emulator: the
emulators are development tools that never ship, and they must stay an independent check of this code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator

Problem = dict[str, str]  # {"FieldName": ..., "Message": ...}, the shape of AWS's ErrorList entries


@functools.lru_cache(maxsize=8)
def _model(service: str) -> ServiceModel:
    return ServiceModel(Loader().load_service_model(service, "service-2"), service_name=service)


@functools.lru_cache(maxsize=512)
def _search(pattern: str) -> Callable[[str], Any] | None:
    """The model's pattern as a search function; None when neither ``regex`` nor ``re`` can compile it."""
    try:  # the models use \p{L} classes, which only the third-party ``regex`` module knows
        import regex

        return regex.compile(pattern).search  # type: ignore[no-any-return]
    except ImportError:
        try:
            return re.compile(pattern).search
        except re.error:
            return None


class RequestCheck:
    """``RequestCheck("partnercentral-selling")("CreateOpportunity", params)`` -> every problem, [] if none."""

    def __init__(self, service: str) -> None:
        self.model = _model(service)

    def __call__(self, operation: str, params: dict[str, Any]) -> list[Problem]:
        """Every reason AWS would refuse ``params`` for ``operation`` (botocore's checks, then the server's)."""
        shape = self.model.operation_model(operation).input_shape
        report = ParamValidator().validate(params, shape)
        problems = [
            {"FieldName": "", "Message": line.strip()} for line in report.generate_report().splitlines()
        ]
        problems = [
            p for p in problems if p["Message"] and not p["Message"].startswith("Parameter validation")
        ]
        problems += [
            {"FieldName": path, "Message": f"{path}: {why}"} for path, why in _server_rules(params, shape, "")
        ]
        return problems


def _server_rules(value: Any, shape: Shape, path: str) -> Iterator[tuple[str, str]]:
    """(member path, reason) for each maximum, enum or pattern ``value`` breaks, depth first."""
    if value is None:
        return
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            yield from _server_rules(value.get(name), member, f"{path}.{name}".lstrip("."))
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield path, f"has {len(value)} items, more than {meta['max']}"
        for i, item in enumerate(value):
            yield from _server_rules(item, shape.member, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _server_rules(key, shape.key, f"{path}.{key}")
            yield from _server_rules(item, shape.value, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        search = _search(meta["pattern"]) if "pattern" in meta else None
        if shape.enum and value not in shape.enum:
            yield path, f"{value!r} is not one of {', '.join(shape.enum)}"
        elif "max" in meta and len(value) > meta["max"]:
            yield path, f"is {len(value)} characters long, more than {meta['max']}"
        elif search is not None and not search(value):
            shown = "the value" if meta.get("sensitive") else repr(value)
            yield path, f"{shown} does not match the pattern {meta['pattern']}"
    elif kind in ("integer", "long") and isinstance(value, int) and "max" in meta and value > meta["max"]:
        yield path, f"{value} is more than {meta['max']}"
