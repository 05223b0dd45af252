"""``lakehouse metrics``: list the metric definitions, print their SQL per dialect, compute one for a tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.commands.table import OutputFormat, render
from lakehouse.errors import BadInput

if TYPE_CHECKING:
    from lakehouse.metrics import MetricFilter

metrics_app = typer.Typer(help="Metrics as code: one definition per KPI.", no_args_is_help=True)

FILTER_HELP = "column:op[:value], op one of = != < <= > >= in (comma-separated values) 'is null' 'not null'"


def _filter(text: str) -> MetricFilter:
    from lakehouse.metrics import MetricFilter

    column, sep, rest = text.partition(":")
    op, _, value = rest.partition(":")
    if not sep or not op:
        raise BadInput(f"filter {text!r} is not {FILTER_HELP}")
    parsed: object = tuple(value.split(",")) if op in ("in", "not in") else (value or None)
    try:
        return MetricFilter(column=column, op=op, value=parsed)
    except ValueError as exc:
        raise BadInput(f"filter {text!r}: {exc}") from None


@metrics_app.command("list")
def list_cmd(
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")] = OutputFormat.table,
) -> None:
    """Every metric: name, version, owner, model table, dimensions, format, classification."""
    from lakehouse import metrics

    columns = ["name", "version", "owner", "table", "dimensions", "format", "classification", "description"]
    records = [
        {
            "name": m.name,
            "version": m.version,
            "owner": m.owner,
            "table": metrics.model_of(m.name).table,
            "dimensions": ", ".join(m.dimensions),
            "format": m.format,
            "classification": m.classification,
            "description": m.description,
        }
        for m in metrics.list_metrics()
    ]
    typer.echo(render(columns, records, fmt, "metrics"), nl=fmt is not OutputFormat.csv)


@metrics_app.command("sql")
def sql_cmd(
    name: Annotated[list[str], typer.Argument(help="Metric name(s) of one model")],
    dialect: Annotated[str, typer.Option(help="spark, duckdb, postgres or redshift")] = "spark",
    relation: Annotated[str | None, typer.Option(help="Table to select from (default: the model's)")] = None,
    tenant: Annotated[str | None, typer.Option(help="Restrict to this tenant")] = None,
    dimension: Annotated[list[str] | None, typer.Option(help="Group by (repeatable)")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help=FILTER_HELP)] = None,
) -> None:
    """The compiled query of the metric(s) in a dialect (what the marts, warehouse and dashboards run)."""
    from lakehouse import metrics
    from lakehouse.tenancy import validate_tenant_id

    if tenant is not None:
        validate_tenant_id(tenant)
    table = relation or metrics.model_of(name[0]).table.replace(".", "_")
    sql = metrics.compile_sql(
        name,
        dialect,
        relation=table,
        tenant=tenant,
        dimensions=dimension or (),
        filters=[_filter(f) for f in filter_ or ()],
    )
    typer.echo(sql)


@metrics_app.command("compute")
def compute_cmd(
    name: Annotated[list[str], typer.Argument(help="Metric name(s) of one model")],
    tenant: Annotated[str, typer.Option(help="Tenant id")],
    dimension: Annotated[list[str] | None, typer.Option(help="Group by (repeatable)")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help=FILTER_HELP)] = None,
    engine: Annotated[str, typer.Option(help="arrow (DuckDB over delta-rs) or spark")] = "arrow",
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")] = OutputFormat.table,
) -> None:
    """The metric(s) for a tenant from the lake's gold tables."""
    from lakehouse import metrics
    from lakehouse.tenancy import validate_tenant_id

    validate_tenant_id(tenant)
    if engine not in metrics.ENGINES:
        raise BadInput(f"unknown engine {engine!r}; one of {', '.join(metrics.ENGINES)}")
    frame = metrics.compute(
        name,
        tenant,
        dimension or (),
        [_filter(f) for f in filter_ or ()],
        engine=engine,  # type: ignore[arg-type]
    )
    columns = [str(c) for c in frame.columns]
    records = [dict(zip(columns, r, strict=True)) for r in frame.itertuples(index=False, name=None)]
    typer.echo(render(columns, records, fmt, f"{', '.join(name)} · {tenant}"), nl=fmt is not OutputFormat.csv)


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")
