"""Input hygiene for request bodies: NUL and control characters are refused (422) in every string.

PostgreSQL cannot store NUL in text (the driver raises, which became a 500), and control characters in
identifiers, reasons or payloads end up in logs, paths and audit entries. Every request schema derives from
``RequestModel``, whose one validator walks the raw input (nested objects, list items and object keys
included), so no field needs its own check; ``SafeJson`` applies the same walk to free-form JSON bodies.
TAB, LF and CR stay allowed: free text (descriptions, reasons) may be multi-line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, model_validator
from pydantic_core import PydanticCustomError

# C0 controls except TAB/LF/CR, DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_DEPTH = 64


def _where(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "the body"


def refuse_control_characters(value: Any, path: tuple[str | int, ...] = (), depth: int = 0) -> Any:
    """Return ``value`` unchanged if no string in it (keys included) holds NUL or a control character."""
    if depth > _MAX_DEPTH:
        raise PydanticCustomError(
            "too_deep", "the body nests deeper than {limit} levels", {"limit": _MAX_DEPTH}
        )
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character",
                "{where} contains the control character U+{code} at position {position}; "
                "NUL and control characters (other than tab and line breaks) are refused",
                {"where": _where(path), "code": f"{ord(found.group()):04X}", "position": found.start()},
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(key, (*path, "<key>"), depth + 1)
            refuse_control_characters(item, (*path, str(key)), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            refuse_control_characters(item, (*path, index), depth + 1)
    return value


SafeJson = Annotated[Any, BeforeValidator(refuse_control_characters)]
"""Any JSON value whose strings hold no NUL or control character (for bodies validated elsewhere)."""


class RequestModel(BaseModel):
    """Base of every request body: refuses NUL and control characters in any string it receives."""

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        return refuse_control_characters(data)
