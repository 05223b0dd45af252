"""Backtest of the per-tenant win-probability model and the pipeline forecast on synthetic version histories.

Generates a tenant (lakehouse.platinum.synthetic), computes point-in-time weekly features with the same Spark
transform the platinum step uses, then a time-split backtest: AUC, Brier score and calibration of the model
against the stage-only baseline, and the monthly won-spend forecast against the naive one.
Run: .venv/bin/python bench/platinum_backtest.py [--n 3000] [--cutoff 2025-01-06]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date

from lakehouse.engine import get_spark
from lakehouse.platinum import features, model, synthetic


def feature_frame(spark, tenant: synthetic.SyntheticTenant, start: date, end: date):  # type: ignore[no-untyped-def]
    """The tenant's point-in-time features at every Monday in [start, end], as pandas."""
    cols = [*features.HISTORY_COLUMNS, "expected_monthly_spend_usd"]
    schema = (
        "tenant_id string, opportunity_id string, created_at timestamp, last_modified_at timestamp, stage string, "
        "target_close_date date, customer_industry string, opportunity_type string, "
        "project_delivery_models array<string>, related_solution_ids array<string>, "
        "related_aws_product_ids array<string>, primary_needs_from_aws array<string>, "
        "expected_monthly_spend_usd double"
    )
    history = spark.createDataFrame([tuple(v.get(c) for c in cols) for v in tenant.versions], schema)
    current = spark.createDataFrame([tuple(v.get(c) for c in cols) for v in tenant.current()], schema)
    snaps = features.weekly_snapshots(start, end)
    return features.point_in_time_features(history, features.labels(current), snaps).toPandas()


def main(argv: Sequence[str] | None = None) -> None:
    """Print the backtest tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="opportunities")
    parser.add_argument("--cutoff", type=date.fromisoformat, default=date(2025, 1, 6))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    tenant = synthetic.generate("bench", args.n, seed=args.seed)
    frame = feature_frame(get_spark(), tenant, date(2023, 7, 1), date(2025, 7, 1))
    bt = model.backtest(frame, args.cutoff)
    print(f"{args.n} opportunities, {len(tenant.versions)} versions, {len(frame)} weekly snapshot rows")
    print(f"time split at {bt.cutoff}: train {bt.train_rows} rows (known before), test {bt.test_rows} rows")
    print(f"{'':22}{'AUC':>8}{'Brier':>8}{'ECE':>8}")
    for name, m in (("win model (logreg)", bt.model), ("stage-only baseline", bt.baseline)):
        print(f"{name:22}{m.auc:>8.3f}{m.brier:>8.3f}{m.ece:>8.3f}")
    print("calibration of the win model (mean predicted -> observed, rows):")
    for pred, obs, rows in bt.model.reliability:
        print(f"  {pred:5.2f} -> {obs:5.2f}  ({rows})")
    fc = model.forecast_backtest(frame, args.cutoff)
    print(f"forecast from the deals open on {fc.snapshot} (won monthly spend USD by close month):")
    print(f"  {'month':8}{'actual':>12}{'model':>12}{'naive':>12}")
    for m, a, p, n in zip(fc.months, fc.actual, fc.model, fc.naive, strict=True):
        print(f"  {m:8}{a:>12,.0f}{p:>12,.0f}{n:>12,.0f}")
    print(f"  MAE: model {fc.model_mae:,.0f}, naive {fc.naive_mae:,.0f}")


if __name__ == "__main__":
    main()
