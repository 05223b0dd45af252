"""The Marketplace services' models as the emulator applies them, and the timestamps their wire forms carry.

Requests are validated by the shared ``sandboxes._model.ModelValidator``; this module adds where
``marketplace-catalog`` accepts other values than its model says, and turns wire timestamps (epoch numbers, ISO
strings, CBOR datetimes) into aware UTC datetimes following the input shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape

from sandboxes._model import ModelValidator

SERVICES = ("marketplace-catalog", "marketplace-agreement", "marketplace-entitlement", "meteringmarketplace")

# Where botocore's model disagrees with the service, the sandbox applies what the service accepts: ChangeName is
# ^[a-zA-Z]$ (one letter) in the model, but the service and every AWS example use names like "CreateProductChange".
# EntityType is shared by ListEntities ("SaaSProduct") and StartChangeSet's Entity.Type, which the service and its
# documentation version ("SaaSProduct@1.0"). An Entity.Identifier may reference an entity created earlier in the
# same change set ("$CreateProductChange.Entity.Identifier", the documented syntax). EntityNameString's pattern is
# double-escaped in the model (it would only match a literal backslash).
CATALOG_PATTERN_FIXES = {
    "ChangeName": "^[a-zA-Z]+$",
    "EntityType": r"^[a-zA-Z]+(@[0-9]+\.[0-9]+)?$",
    "EntityNameString": r"^\S+[\S\s]*",
    "Identifier": r"^([\w\-@]+|\$[a-zA-Z]+\.Entity\.Identifier)$",
}


def validator(service: str) -> ModelValidator:
    """The validator of one Marketplace service (with the catalog's pattern fixes)."""
    return ModelValidator(service, CATALOG_PATTERN_FIXES if service == "marketplace-catalog" else None)


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
            parsed = datetime.fromisoformat(value)
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
