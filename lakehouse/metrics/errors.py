"""Typed errors of the semantic layer: each names the metric, column or file that was wrong."""

from __future__ import annotations

from lakehouse.errors import BadInput, LakehouseError


class MetricError(LakehouseError):
    """Base of the semantic layer's errors."""


class MetricDefinitionError(MetricError, BadInput):
    """A metric or model definition is invalid (the message names the file and the problem)."""


class UnknownMetric(MetricError, BadInput):
    """No metric of that name is defined."""


class MetricQueryError(MetricError, BadInput):
    """A request for a metric asked for a dimension, filter or engine the metric does not support."""
