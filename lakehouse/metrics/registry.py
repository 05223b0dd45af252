"""The metric registry: definitions loaded from YAML package data (or a directory, for reviewing a change).

Definitions live in ``lakehouse/metrics/definitions/`` (one file per metric, ``models.yaml`` for the semantic
models) and are read with importlib.resources, so they ship in the wheel the Glue jobs run. Setting
``LAKEHOUSE_METRICS_DIR`` loads another directory of the same shape instead (a changed copy, tried end to end
without a code change). Every definition is validated at load: pydantic for the shape, sqlglot for the SQL
(each expression must parse, use only its model's columns, and compile to every target dialect).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lakehouse.metrics.errors import MetricDefinitionError, UnknownMetric
from lakehouse.metrics.models import MetricDefinition, SemanticModel

DIR_ENV = "LAKEHOUSE_METRICS_DIR"
MODELS_FILE = "models.yaml"


@dataclass(frozen=True, eq=False)  # hashed by identity: compiled queries are cached per registry
class Registry:
    """Metrics and semantic models by name (validated as a whole: references and SQL)."""

    metrics: dict[str, MetricDefinition]
    models: dict[str, SemanticModel]
    source: str = field(default="package")

    def get(self, name: str) -> MetricDefinition:
        """The metric called ``name``; ``UnknownMetric`` names the defined ones otherwise."""
        try:
            return self.metrics[name]
        except KeyError:
            raise UnknownMetric(f"no metric {name!r}; defined: {', '.join(sorted(self.metrics))}") from None

    def model(self, name: str) -> SemanticModel:
        """The semantic model called ``name``."""
        try:
            return self.models[name]
        except KeyError:
            raise MetricDefinitionError(f"no semantic model {name!r}") from None

    def model_of(self, metric: str | MetricDefinition) -> SemanticModel:
        """The semantic model a metric aggregates."""
        definition = self.get(metric) if isinstance(metric, str) else metric
        return self.model(definition.model)


def _load_yaml(item: Traversable, what: str) -> Any:
    try:
        return yaml.safe_load(item.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MetricDefinitionError(f"{what}: not valid YAML ({exc})") from None


def load(root: Traversable | Path, *, source: str) -> Registry:
    """Read and validate every definition under ``root``."""
    models_file = root / MODELS_FILE
    if not models_file.is_file():
        raise MetricDefinitionError(f"{source}: {MODELS_FILE} is missing")
    raw_models = _load_yaml(models_file, f"{source}/{MODELS_FILE}")
    if not isinstance(raw_models, list):
        raise MetricDefinitionError(f"{source}/{MODELS_FILE}: expected a list of models")
    models: dict[str, SemanticModel] = {}
    for i, raw in enumerate(raw_models):
        try:
            model = SemanticModel.model_validate(raw)
        except ValidationError as exc:
            raise MetricDefinitionError(f"{source}/{MODELS_FILE}[{i}]: {_first(exc)}") from None
        if model.name in models:
            raise MetricDefinitionError(f"{source}/{MODELS_FILE}: model {model.name!r} defined twice")
        models[model.name] = model
    metrics: dict[str, MetricDefinition] = {}
    for item in sorted(root.iterdir(), key=lambda t: t.name):
        if not item.name.endswith(".yaml") or item.name == MODELS_FILE:
            continue
        what = f"{source}/{item.name}"
        try:
            metric = MetricDefinition.model_validate(_load_yaml(item, what))
        except ValidationError as exc:
            raise MetricDefinitionError(f"{what}: {_first(exc)}") from None
        if item.name != f"{metric.name}.yaml":
            raise MetricDefinitionError(f"{what}: metric {metric.name!r} must be in {metric.name}.yaml")
        metrics[metric.name] = metric
    registry = Registry(metrics=metrics, models=models, source=source)
    from lakehouse.metrics.compiler import validate_registry

    validate_registry(registry)
    return registry


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(root)"
    return f"{where}: {err['msg']}"


_CACHE: dict[str, Registry] = {}
_OVERRIDE: list[Registry] = []


def get_registry() -> Registry:
    """The registry in force: an override (``use_registry``), ``LAKEHOUSE_METRICS_DIR``, or the package's."""
    if _OVERRIDE:
        return _OVERRIDE[-1]
    directory = os.environ.get(DIR_ENV, "").strip()
    key = directory or "package"
    if key not in _CACHE:
        if directory:
            path = Path(directory)
            if not path.is_dir():
                raise MetricDefinitionError(f"{DIR_ENV}={directory!r} is not a directory")
            _CACHE[key] = load(path, source=str(path))
        else:
            _CACHE[key] = load(
                resources.files("lakehouse.metrics") / "definitions", source="lakehouse.metrics/definitions"
            )
    return _CACHE[key]


def package_definitions() -> Traversable:
    """The packaged definitions directory (copy it to try a change with ``LAKEHOUSE_METRICS_DIR``)."""
    return resources.files("lakehouse.metrics") / "definitions"


def clear_cache() -> None:
    """Forget loaded registries (the next call re-reads the files)."""
    _CACHE.clear()


@contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Use ``registry`` in this process for the duration of the block (tests and previews)."""
    _OVERRIDE.append(registry)
    try:
        yield registry
    finally:
        _OVERRIDE.remove(registry)
