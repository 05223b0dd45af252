"""Compile metric definitions to SQL for each engine, with sqlglot.

sqlglot parses a definition once (dialect-neutral SQL: strict CAST, plain division) into an AST and writes it in the
dialect each consumer runs: ``spark`` for the gold marts, ``postgres`` / ``redshift`` for served warehouse
tables, ``duckdb`` for the Arrow path of the dashboards, notebooks and API. Writing our own SQL generator per
dialect would re-create what sqlglot maintains (quoting, casts, NULLIF/COALESCE spelling, type names) and
drift from it; sqlglot is pure Python, well kept and already the usual tool for exactly this.

A metric's ``filters`` are moved inside its aggregates (``SUM(x)`` with filter ``c`` becomes
``SUM(CASE WHEN c THEN x END)``), so metrics with different filters come out of one scan and one GROUP BY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakehouse.metrics.errors import MetricDefinitionError, MetricQueryError
from lakehouse.metrics.models import MetricDefinition, MetricFilter
from lakehouse.metrics.registry import Registry, get_registry

AUTHORING_DIALECT = ""  # sqlglot's dialect-neutral SQL: CAST is a strict cast, division is plain
DIALECTS: tuple[str, ...] = ("spark", "duckdb", "postgres", "redshift")
TENANT_COLUMN = "tenant_id"


def _parse(sql: str, what: str) -> exp.Expr:
    try:
        tree = sqlglot.parse_one(sql, read=AUTHORING_DIALECT)
    except ParseError as exc:
        raise MetricDefinitionError(f"{what}: {sql!r} does not parse as SQL ({exc})") from None
    if tree is None:
        raise MetricDefinitionError(f"{what}: {sql!r} is empty")
    return tree


def _columns(tree: exp.Expr) -> set[str]:
    return {c.name for c in tree.find_all(exp.Column)}


def _filtered_aggregate(node: exp.Expr, condition: exp.Expr) -> exp.Expr:
    """An aggregate with ``condition`` moved inside it; other nodes unchanged."""
    if not isinstance(node, exp.AggFunc):
        return node
    new = node.copy()
    arg = new.this
    if isinstance(arg, exp.Distinct):
        arg.set(
            "expressions",
            [exp.Case().when(condition.copy(), e) for e in arg.expressions],
        )
        return new
    value = exp.Literal.number(1) if arg is None or isinstance(arg, exp.Star) else arg
    new.set("this", exp.Case().when(condition.copy(), value))
    return new


def measure(metric: MetricDefinition | str, registry: Registry | None = None) -> exp.Expr:
    """The metric's aggregate expression as a sqlglot AST (filters inside, derived metrics expanded)."""
    reg = registry or get_registry()
    definition = reg.get(metric) if isinstance(metric, str) else metric
    what = f"metric {definition.name}"
    tree = _parse(definition.expression, what)
    if definition.derived_from:

        def expand(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column) and node.name in definition.derived_from:
                return exp.Paren(this=measure(reg.get(node.name), reg))
            return node

        return tree.transform(expand)
    if definition.filters:
        condition = exp.and_(*(exp.Paren(this=_parse(f, f"{what} filter")) for f in definition.filters))
        tree = tree.transform(lambda node: _filtered_aggregate(node, condition))
    return tree


def measure_sql(metric: MetricDefinition | str, dialect: str, registry: Registry | None = None) -> str:
    """The metric's aggregate expression in ``dialect`` (what a mart puts in its ``agg``)."""
    _check_dialect(dialect)
    return measure(metric, registry).sql(dialect=dialect)


def filter_condition(filters: Sequence[MetricFilter]) -> exp.Expr | None:
    """The callers' filters as one condition (values become escaped SQL literals through the AST)."""
    parts: list[exp.Expr] = []
    for f in filters:
        col = exp.column(f.column)
        if f.op in ("is null", "not null"):
            is_null = exp.Is(this=col, expression=exp.Null())
            parts.append(is_null if f.op == "is null" else exp.Not(this=is_null))
            continue
        if f.op in ("in", "not in"):
            values = f.value if isinstance(f.value, tuple) else (f.value,)
            if not values or any(v is None for v in values):
                raise MetricQueryError(f"filter {f.column} {f.op} needs a non-empty list of values")
            isin = col.isin(*(exp.convert(v) for v in values))
            parts.append(
                isin
                if f.op == "in"
                else exp.Paren(
                    this=exp.or_(exp.Not(this=isin), exp.Is(this=col.copy(), expression=exp.Null()))
                )
            )
            continue
        if f.value is None or isinstance(f.value, tuple):
            raise MetricQueryError(f"filter {f.column} {f.op} needs one value")
        op = {"=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[f.op]
        parts.append(op(this=col, expression=exp.convert(f.value)))
    return exp.and_(*parts) if parts else None


def resolve_dimensions(
    metrics: Sequence[MetricDefinition], dimensions: Sequence[str], filters: Sequence[MetricFilter]
) -> list[str]:
    """The GROUP BY columns: the requested dimensions, then every required one; refuses what a metric lacks."""
    dims = list(dict.fromkeys(dimensions))
    for m in metrics:
        for d in m.required_dimensions:
            if d not in dims:
                dims.append(d)
    for m in metrics:
        allowed = set(m.dimensions) | set(m.required_dimensions)
        bad = [d for d in dims if d not in allowed]
        if bad:
            raise MetricQueryError(
                f"metric {m.name} has no dimension {', '.join(map(repr, bad))}; its dimensions: "
                f"{', '.join(m.dimensions) or '(none)'}"
            )
        bad = [f.column for f in filters if f.column not in allowed]
        if bad:
            raise MetricQueryError(
                f"metric {m.name} cannot be filtered on {', '.join(map(repr, bad))}; its dimensions: "
                f"{', '.join(m.dimensions) or '(none)'}"
            )
    return dims


def definitions(names: Sequence[str], registry: Registry | None = None) -> list[MetricDefinition]:
    """The named metrics, which must share one semantic model (one relation, one scan)."""
    reg = registry or get_registry()
    if not names:
        raise MetricQueryError("no metric named")
    metrics = [reg.get(n) for n in names]
    models = {m.model for m in metrics}
    if len(models) > 1:
        raise MetricQueryError(
            f"metrics {', '.join(names)} aggregate different models ({', '.join(sorted(models))}): query them "
            "separately"
        )
    return metrics


def select(
    names: Sequence[str],
    *,
    relation: str | exp.Expr,
    tenant: str | None = None,
    dimensions: Sequence[str] = (),
    filters: Sequence[MetricFilter] = (),
    registry: Registry | None = None,
) -> exp.Select:
    """SELECT [tenant_id,] dims..., metric AS name... FROM relation WHERE tenant and filters GROUP BY dims."""
    reg = registry or get_registry()
    metrics = definitions(names, reg)
    dims = resolve_dimensions(metrics, dimensions, filters)
    table = exp.to_table(relation) if isinstance(relation, str) else relation
    columns: list[exp.Expr] = [exp.column(d) for d in dims]
    columns += [exp.alias_(measure(m, reg), m.name) for m in metrics]
    query = exp.select(*columns).from_(table)
    conditions: list[exp.Expr] = []
    if tenant is not None:
        conditions.append(exp.EQ(this=exp.column(TENANT_COLUMN), expression=exp.Literal.string(tenant)))
    condition = filter_condition(filters)
    if condition is not None:
        conditions.append(condition)
    if conditions:
        query = query.where(exp.and_(*conditions))
    if dims:
        query = query.group_by(*(exp.column(d) for d in dims)).order_by(*(exp.column(d) for d in dims))
    return query


def compile_sql(
    names: str | Sequence[str],
    dialect: str,
    *,
    relation: str,
    tenant: str | None = None,
    dimensions: Sequence[str] = (),
    filters: Sequence[MetricFilter] = (),
    registry: Registry | None = None,
) -> str:
    """The query for one or more metrics in ``dialect`` (``spark``, ``duckdb``, ``postgres``, ``redshift``)."""
    _check_dialect(dialect)
    metric_names = [names] if isinstance(names, str) else list(names)
    tree = select(
        metric_names,
        relation=relation,
        tenant=tenant,
        dimensions=dimensions,
        filters=filters,
        registry=registry,
    )
    return tree.sql(dialect=dialect)


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise MetricQueryError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")


def validate_registry(registry: Registry) -> None:
    """Refuse definitions that reference unknown models, columns or metrics, or do not compile everywhere."""
    for metric in registry.metrics.values():
        what = f"{registry.source}/{metric.name}.yaml"
        if metric.model not in registry.models:
            raise MetricDefinitionError(f"{what}: unknown model {metric.model!r}")
        model = registry.models[metric.model]
        known = set(model.dimensions) | set(model.measures)
        bad_dims = [d for d in (*metric.dimensions, *metric.required_dimensions) if d not in model.dimensions]
        if bad_dims:
            raise MetricDefinitionError(
                f"{what}: {', '.join(map(repr, bad_dims))} is not a dimension of model {model.name} "
                f"({', '.join(model.dimensions)})"
            )
        tree = _parse(metric.expression, what)
        if metric.derived_from:
            missing = [d for d in metric.derived_from if d not in registry.metrics]
            if missing:
                raise MetricDefinitionError(f"{what}: derived from unknown metric(s) {', '.join(missing)}")
            other = [d for d in metric.derived_from if registry.metrics[d].model != metric.model]
            if other:
                raise MetricDefinitionError(f"{what}: {', '.join(other)} aggregate another model")
            if metric.filters:
                raise MetricDefinitionError(f"{what}: a derived metric takes its filters from its parts")
            unknown = _columns(tree) - set(metric.derived_from)
            if unknown:
                raise MetricDefinitionError(
                    f"{what}: {', '.join(sorted(unknown))} not in derived_from ({', '.join(metric.derived_from)})"
                )
            _check_cycle(registry, metric.name, ())
        else:
            if not any(isinstance(n, exp.AggFunc) for n in tree.walk()):
                raise MetricDefinitionError(
                    f"{what}: the expression aggregates nothing: {metric.expression!r}"
                )
            used: set[str] = set(_columns(tree))
            for f in metric.filters:
                used |= _columns(_parse(f, f"{what} filter"))
            unknown = used - known
            if unknown:
                raise MetricDefinitionError(
                    f"{what}: column(s) {', '.join(sorted(unknown))} not in model {model.name} "
                    f"({', '.join(sorted(known))})"
                )
        for dialect in DIALECTS:
            measure(metric, registry).sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)


def _check_cycle(registry: Registry, name: str, seen: tuple[str, ...]) -> None:
    if name in seen:
        raise MetricDefinitionError(f"metric {name} is derived from itself ({' -> '.join((*seen, name))})")
    for dep in registry.metrics[name].derived_from:
        _check_cycle(registry, dep, (*seen, name))


def literal(value: Any) -> exp.Expr:
    """A Python value as a SQL literal node (escaped by sqlglot)."""
    return exp.convert(value)
