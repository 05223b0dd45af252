"""JSON Schema (draft 2020-12) for the subset of Amazon States Language (JSONPath query language) we generate.

It covers the top level and the state types Task, Pass, Choice, Map (inline), Parallel, Wait, Succeed and Fail,
with their Retry / Catch blocks and Choice rules, field by field (unknown fields are errors). Rules that JSON
Schema cannot express (targets exist, every state reachable, States.ALL last) are in ``validate.py``.
"""

from __future__ import annotations

from typing import Any

_PATH = {"type": "string", "pattern": r"^\$"}
_PATH_OR_NULL = {"anyOf": [_PATH, {"type": "null"}]}
_STATE_NAME = {"type": "string", "minLength": 1, "maxLength": 80}
_POSITIVE_INT = {"type": "integer", "minimum": 1}
_COMMON = {
    "Type": {"type": "string"},
    "Comment": {"type": "string"},
}
_IO = {"InputPath": _PATH_OR_NULL, "OutputPath": _PATH_OR_NULL}
_TRANSITION = {"Next": _STATE_NAME, "End": {"const": True}}
_ERROR_NAMES = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}

_RETRIER = {
    "type": "object",
    "required": ["ErrorEquals"],
    "additionalProperties": False,
    "properties": {
        "ErrorEquals": _ERROR_NAMES,
        "IntervalSeconds": _POSITIVE_INT,
        "MaxAttempts": {"type": "integer", "minimum": 0, "maximum": 99999999},
        "BackoffRate": {"type": "number", "minimum": 1.0},
        "MaxDelaySeconds": _POSITIVE_INT,
        "JitterStrategy": {"enum": ["FULL", "NONE"]},
        "Comment": {"type": "string"},
    },
}
_CATCHER = {
    "type": "object",
    "required": ["ErrorEquals", "Next"],
    "additionalProperties": False,
    "properties": {
        "ErrorEquals": _ERROR_NAMES,
        "Next": _STATE_NAME,
        "ResultPath": _PATH_OR_NULL,
        "Comment": {"type": "string"},
    },
}

_COMPARATORS = {
    **{
        op: {"type": "string"}
        for op in (
            "StringEquals",
            "StringLessThan",
            "StringGreaterThan",
            "StringLessThanEquals",
            "StringGreaterThanEquals",
            "StringMatches",
            "TimestampEquals",
            "TimestampLessThan",
            "TimestampGreaterThan",
            "TimestampLessThanEquals",
            "TimestampGreaterThanEquals",
        )
    },
    **{
        op: {"type": "number"}
        for op in (
            "NumericEquals",
            "NumericLessThan",
            "NumericGreaterThan",
            "NumericLessThanEquals",
            "NumericGreaterThanEquals",
        )
    },
    **{
        op + "Path": _PATH
        for op in (
            "StringEquals",
            "StringLessThan",
            "StringGreaterThan",
            "StringLessThanEquals",
            "StringGreaterThanEquals",
            "NumericEquals",
            "NumericLessThan",
            "NumericGreaterThan",
            "NumericLessThanEquals",
            "NumericGreaterThanEquals",
            "BooleanEquals",
            "TimestampEquals",
            "TimestampLessThan",
            "TimestampGreaterThan",
            "TimestampLessThanEquals",
            "TimestampGreaterThanEquals",
        )
    },
    "BooleanEquals": {"type": "boolean"},
    **{
        op: {"type": "boolean"}
        for op in ("IsPresent", "IsNull", "IsBoolean", "IsNumeric", "IsString", "IsTimestamp")
    },
}

_CHOICE_RULE: dict[str, Any] = {
    "$anchor": "choiceRule",
    "type": "object",
    "oneOf": [
        {
            "required": ["Variable"],
            "properties": {
                "Variable": _PATH,
                "Next": _STATE_NAME,
                "Comment": {"type": "string"},
                **_COMPARATORS,
            },
            "additionalProperties": False,
            "minProperties": 2,
            # exactly one comparator besides Variable/Next/Comment
            "not": {
                "anyOf": [
                    {"required": [a, b]}
                    for i, a in enumerate(sorted(_COMPARATORS))
                    for b in sorted(_COMPARATORS)[i + 1 :]
                ]
            },
            "anyOf": [{"required": [op]} for op in sorted(_COMPARATORS)],
        },
        {
            "required": ["And"],
            "properties": {
                "And": {"type": "array", "minItems": 1, "items": {"$ref": "#choiceRule"}},
                "Next": _STATE_NAME,
                "Comment": {"type": "string"},
            },
            "additionalProperties": False,
        },
        {
            "required": ["Or"],
            "properties": {
                "Or": {"type": "array", "minItems": 1, "items": {"$ref": "#choiceRule"}},
                "Next": _STATE_NAME,
                "Comment": {"type": "string"},
            },
            "additionalProperties": False,
        },
        {
            "required": ["Not"],
            "properties": {
                "Not": {"$ref": "#choiceRule"},
                "Next": _STATE_NAME,
                "Comment": {"type": "string"},
            },
            "additionalProperties": False,
        },
    ],
}

_NEXT_XOR_END = {
    "oneOf": [
        {"required": ["Next"], "not": {"required": ["End"]}},
        {"required": ["End"], "not": {"required": ["Next"]}},
    ]
}


def _state(
    type_name: str, properties: dict[str, Any], required: list[str], transition: bool
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["Type", *required],
        "additionalProperties": False,
        "properties": {
            **_COMMON,
            "Type": {"const": type_name},
            **properties,
            **(_TRANSITION if transition else {}),
        },
    }
    if transition:
        schema["allOf"] = [_NEXT_XOR_END]
    return schema


_STATES: dict[str, Any] = {
    "Task": _state(
        "Task",
        {
            **_IO,
            "Resource": {"type": "string", "pattern": r"^arn:aws[a-z-]*:(states|lambda|glue|sqs):"},
            "Parameters": {"type": "object"},
            "Credentials": {"type": "object"},
            "ResultSelector": {"type": "object"},
            "ResultPath": _PATH_OR_NULL,
            "TimeoutSeconds": _POSITIVE_INT,
            "TimeoutSecondsPath": _PATH,
            "HeartbeatSeconds": _POSITIVE_INT,
            "HeartbeatSecondsPath": _PATH,
            "Retry": {"type": "array", "items": _RETRIER},
            "Catch": {"type": "array", "items": _CATCHER},
        },
        ["Resource"],
        True,
    ),
    "Pass": _state(
        "Pass",
        {**_IO, "Parameters": {"type": "object"}, "Result": {}, "ResultPath": _PATH_OR_NULL},
        [],
        True,
    ),
    "Choice": _state(
        "Choice",
        {
            **_IO,
            "Choices": {
                "type": "array",
                "minItems": 1,
                "items": {"allOf": [{"$ref": "#choiceRule"}, {"required": ["Next"]}]},
            },
            "Default": _STATE_NAME,
        },
        ["Choices"],
        False,
    ),
    "Wait": {
        **_state(
            "Wait",
            {
                **_IO,
                "Seconds": _POSITIVE_INT,
                "SecondsPath": _PATH,
                "Timestamp": {"type": "string"},
                "TimestampPath": _PATH,
            },
            [],
            True,
        ),
    },
    "Succeed": _state("Succeed", dict(_IO), [], False),
    "Fail": _state(
        "Fail",
        {"Error": {"type": "string"}, "Cause": {"type": "string"}, "ErrorPath": _PATH, "CausePath": _PATH},
        [],
        False,
    ),
    "Parallel": _state(
        "Parallel",
        {
            **_IO,
            "Branches": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/machine"}},
            "Parameters": {"type": "object"},
            "ResultSelector": {"type": "object"},
            "ResultPath": _PATH_OR_NULL,
            "Retry": {"type": "array", "items": _RETRIER},
            "Catch": {"type": "array", "items": _CATCHER},
        },
        ["Branches"],
        True,
    ),
    "Map": _state(
        "Map",
        {
            **_IO,
            "ItemsPath": _PATH,
            "ItemSelector": {"type": "object"},
            "Parameters": {"type": "object"},
            "ItemProcessor": {
                "type": "object",
                "required": ["StartAt", "States"],
                "additionalProperties": False,
                "properties": {
                    "ProcessorConfig": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"Mode": {"const": "INLINE"}},
                    },
                    "StartAt": _STATE_NAME,
                    "States": {"$ref": "#/$defs/states"},
                    "Comment": {"type": "string"},
                },
            },
            "Iterator": {"$ref": "#/$defs/machine"},
            "MaxConcurrency": {"type": "integer", "minimum": 0},
            "ResultSelector": {"type": "object"},
            "ResultPath": _PATH_OR_NULL,
            "Retry": {"type": "array", "items": _RETRIER},
            "Catch": {"type": "array", "items": _CATCHER},
        },
        [],
        True,
    ),
}
# A Map needs exactly one of ItemProcessor (current) or Iterator (legacy).
_STATES["Map"]["allOf"].append({"oneOf": [{"required": ["ItemProcessor"]}, {"required": ["Iterator"]}]})

ASL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://partner-central-lakehouse.local/schemas/asl-subset.json",
    "title": "Amazon States Language (subset generated by lakehouse.deploy.asl)",
    "$ref": "#/$defs/machine",
    "$defs": {
        "choiceRule": _CHOICE_RULE,
        "machine": {
            "type": "object",
            "required": ["StartAt", "States"],
            "additionalProperties": False,
            "properties": {
                "Comment": {"type": "string"},
                "StartAt": _STATE_NAME,
                "States": {"$ref": "#/$defs/states"},
                "Version": {"const": "1.0"},
                "TimeoutSeconds": _POSITIVE_INT,
                "QueryLanguage": {"const": "JSONPath"},
            },
        },
        "states": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": _STATE_NAME,
            "additionalProperties": {
                "type": "object",
                "required": ["Type"],
                "properties": {"Type": {"enum": sorted(_STATES)}},
                "allOf": [
                    {"if": {"properties": {"Type": {"const": name}}}, "then": schema}
                    for name, schema in sorted(_STATES.items())
                ],
            },
        },
    },
}
