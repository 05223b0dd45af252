"""What botocore's ``partnercentral-selling`` service model says about payload shapes, for silver's checks.

The model is the contract AWS publishes (and the emulator validates against), so the limits and the nested
types silver enforces are read from it rather than copied by hand:

* ``container_paths(shape)``: every member path (outside lists) whose value must be a JSON object or list. A
  payload where such a member holds another JSON type is quarantined with the path named, instead of the member
  silently parsing to null (``from_json`` nulls a mismatched member).
* ``length_limits(shape)``: every string member path (outside lists) with a maximum length, from the member's
  ``max`` or its ``.{m,n}`` pattern (``ProjectAdditionalCommentsString`` is ``(?s).{1,255}``). Longer values are
  quarantined, never truncated.
* ``spark_schema(shape)``: a ``from_json`` schema with every scalar read as text (typed afterwards, so a bad
  value is caught rather than nulled), used for the entities whose silver columns come from the model directly.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pyspark.sql.types import ArrayType, DataType, MapType, StringType, StructField, StructType

SERVICE = "partnercentral-selling"
_LENGTH_PATTERN = re.compile(r"^(?:\(\?s\))?\.\{(\d+),(\d+)\}$")

ContainerKind = Literal["object", "list"]


@cache
def _model() -> dict[str, Any]:
    import botocore.loaders

    model: dict[str, Any] = botocore.loaders.Loader().load_service_model(SERVICE, "service-2")
    return model


def output_shape(operation: str) -> str:
    """The output shape name of an operation (KeyError naming it when the model has no such operation)."""
    ops = _model()["operations"]
    if operation not in ops:
        raise KeyError(f"{SERVICE} has no operation {operation!r}")
    return str(ops[operation]["output"]["shape"])


def list_item_shape(operation: str, member: str) -> str:
    """The shape of one item of a list member of an operation's output (ListSolutions' SolutionSummaries)."""
    shapes = _model()["shapes"]
    list_shape = shapes[output_shape(operation)]["members"][member]["shape"]
    return str(shapes[list_shape]["member"]["shape"])


def member_shape(shape: str, *path: str) -> str:
    """The shape name reached from ``shape`` by member names (a list step goes through its member)."""
    shapes = _model()["shapes"]
    current = shape
    for name in path:
        target = shapes[current]
        if target["type"] == "list":
            current = target["member"]["shape"]
            target = shapes[current]
        current = target["members"][name]["shape"]
    return current


def _max_length(spec: dict[str, Any]) -> int | None:
    if "max" in spec:
        return int(spec["max"])
    match = _LENGTH_PATTERN.match(str(spec.get("pattern", "")))
    return int(match.group(2)) if match else None


def _walk(shape: str, prefix: str, seen: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """(path, shape spec) of every member below a structure, not descending into lists, maps or recursion."""
    shapes = _model()["shapes"]
    out: list[tuple[str, dict[str, Any]]] = []
    for name, ref in shapes[shape]["members"].items():
        spec = shapes[ref["shape"]]
        path = f"{prefix}{name}"
        out.append((path, spec))
        if spec["type"] == "structure" and ref["shape"] not in seen:
            out += _walk(ref["shape"], f"{path}.", (*seen, ref["shape"]))
    return out


@cache
def container_paths(shape: str) -> dict[str, ContainerKind]:
    """Member paths (dotted, outside lists) whose value must be a JSON object or a JSON list."""
    kinds: dict[str, ContainerKind] = {}
    for path, spec in _walk(shape, "", (shape,)):
        if spec["type"] in ("structure", "map"):
            kinds[path] = "object"
        elif spec["type"] == "list":
            kinds[path] = "list"
    return kinds


@cache
def length_limits(shape: str) -> dict[str, int]:
    """Maximum lengths of string member paths (dotted, outside lists), from the model's max or pattern."""
    limits: dict[str, int] = {}
    for path, spec in _walk(shape, "", (shape,)):
        if spec["type"] == "string":
            limit = _max_length(spec)
            if limit is not None:
                limits[path] = limit
    return limits


def _spark_type(shape: str, seen: tuple[str, ...]) -> DataType:
    spec = _model()["shapes"][shape]
    kind = spec["type"]
    if kind == "structure":
        fields = [
            StructField(name, _spark_type(ref["shape"], (*seen, shape)), True)
            for name, ref in spec["members"].items()
            if ref["shape"] not in seen  # recursive members are read as nothing (none in the Selling model)
        ]
        return StructType(fields)
    if kind == "list":
        return ArrayType(_spark_type(spec["member"]["shape"], seen))
    if kind == "map":
        return MapType(StringType(), StringType())
    return StringType()


@cache
def spark_schema(shape: str) -> StructType:
    """A ``from_json`` schema of ``shape``: structures, lists and maps as such, every scalar as text."""
    schema = _spark_type(shape, ())
    assert isinstance(schema, StructType)
    return schema
