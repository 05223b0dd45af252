"""AWS Marketplace: metered usage by dimension and day with its estimated revenue, and subscriptions per product."""

from __future__ import annotations

import streamlit as st

from dashboards.lib import marketplace as M
from dashboards.lib import processing as P
from dashboards.lib import ui

# the tables show revenue to the cent and plain days (the CSV keeps every decimal)
COLUMN_CONFIG = {
    "estimated_revenue": st.column_config.NumberColumn("estimated_revenue", format="%.2f"),
    "usage_date": st.column_config.DateColumn("usage_date", format="YYYY-MM-DD"),
}

ctx = ui.page("Marketplace", ":material/storefront:")
viewer, tenant = ctx.viewer, ctx.tenant
options: M.MarketplaceOptions = ui.query(ctx, "marketplace_options")
if options.empty:
    ui.empty_state(
        f"No Marketplace data for tenant `{tenant}` yet: gold.marketplace_usage and gold.marketplace_subscriptions "
        "have no rows for it.",
        f"Bill usage with `lakehouse metering run --tenant {tenant}`, read agreements with "
        f"`lakehouse marketplace sync --tenant {tenant}` (or run `lakehouse marketplace demo`), then press "
        "Refresh data.",
    )
    st.stop()

# columns above the viewer's clearance (quantities and revenue are confidential) are never read
usage_columns = M.visible_columns(viewer, M.USAGE)
subscription_columns = M.visible_columns(viewer, M.SUBSCRIPTIONS)
revenue_ok = "estimated_revenue" in usage_columns
quantities_ok = all(c in usage_columns for c in M.QUANTITY_COLUMNS)
restricted_help = f"Confidential: needs analyst clearance (your role is cleared for {viewer.clearance} data)"

# ----------------------------------------------------------------------------------------------- filters
filters = M.UsageFilters()
if options.has_usage:
    first, last = options.first_date, options.last_date
    with st.sidebar:
        st.header("Filters")
        picked = st.date_input(
            "Usage days (UTC)", value=(first, last), min_value=first, max_value=last, key=f"m_dates_{tenant}"
        )
        picked = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,)
        day_from = picked[0] if picked else first
        day_to = (
            picked[1] if len(picked) > 1 else (picked[0] if picked else last)
        )  # one end picked so far: one day
        products: list[str] = []
        if len(options.products) > 1:
            products = st.multiselect(
                "Product", list(options.products), key=f"m_products_{tenant}", placeholder="All products"
            )
        dimensions = st.multiselect(
            "Dimension", list(options.dimensions), key=f"m_dims_{tenant}", placeholder="All dimensions"
        )
        if not (quantities_ok and revenue_ok):
            st.caption(
                f"Quantities and revenue are confidential; your role is cleared for {viewer.clearance} data."
            )
    filters = M.UsageFilters(
        date_from=day_from if day_from != first else None,
        date_to=day_to if day_to != last else None,
        products=tuple(products),
        dimensions=tuple(dimensions),
    )

# --------------------------------------------------------------------------------------------------- usage
st.subheader("Metered usage")
if not options.has_usage:
    ui.empty_state(
        f"No metered usage for tenant `{tenant}` yet: gold.marketplace_usage has no rows for it.",
        f"Bill usage with `lakehouse metering run --tenant {tenant}`, then press Refresh data.",
    )
else:
    usage = ui.query(ctx, "marketplace_usage", filters, usage_columns)
    kpis = M.usage_kpis(usage)
    k1, k2, k3, k4 = st.columns(4)
    k1.metric(
        "Estimated revenue",
        M.format_money(kpis.revenue) if revenue_ok else "restricted",
        help="Σ quantity sent × the buyer's agreement (offer) price" if revenue_ok else restricted_help,
    )
    k2.metric(
        "Records sent",
        P.format_count(kpis.records_sent),
        help="Usage records billed through BatchMeterUsage (Success)",
    )
    k3.metric("Days with usage", P.format_count(kpis.days))
    k4.metric("Dimensions", P.format_count(kpis.dimensions), help="Product × dimension pairs with usage")
    st.caption(
        f"Source: {M.USAGE} · usage days {filters.date_from or options.first_date} to "
        f"{filters.date_to or options.last_date} (UTC)"
    )
    if usage.empty:
        ui.empty_state(
            "No usage matches these filters.", "Widen the day range or the product and dimension filters."
        )
    else:
        measures = (
            ([("Quantity", "quantity")] if quantities_ok else [])
            + ([("Estimated revenue", "estimated_revenue")] if revenue_ok else [])
            + [("Records sent", "records_sent")]
        )
        for tab, (_, measure) in zip(st.tabs([label for label, _ in measures]), measures, strict=True):
            with tab:
                if measure == "quantity":
                    series = st.selectbox(
                        "Product / dimension",
                        M.usage_series(usage),
                        key=f"m_series_{tenant}",
                        help="Quantities of different dimensions have different units",
                    )
                    st.altair_chart(M.quantity_chart(usage, series), width="stretch")
                else:
                    st.altair_chart(M.usage_chart(usage, measure), width="stretch")
        st.markdown("**By dimension** (summed over the selected days)")
        ui.table(
            M.usage_by_dimension(usage),
            key="mp_by_dimension",
            column_config=COLUMN_CONFIG,
            file_name=f"{tenant}_marketplace_usage_by_dimension",
        )
        st.markdown("**By dimension and day**")
        ui.table(
            usage,
            key="mp_usage",
            file_name=f"{tenant}_marketplace_usage",
            column_config=COLUMN_CONFIG,
            caption=None
            if quantities_ok and revenue_ok
            else f"Quantities and revenue are hidden: columns limited to your clearance ({viewer.clearance}).",
        )

# ------------------------------------------------------------------------------------------- subscriptions
st.subheader("Subscriptions")
if not options.has_subscriptions:
    ui.empty_state(
        f"No subscriptions for tenant `{tenant}` yet: gold.marketplace_subscriptions has no rows for it.",
        f"Read agreements with `lakehouse marketplace sync --tenant {tenant} --what catalog,agreements`, "
        "then press Refresh data.",
    )
else:
    subscriptions = ui.query(ctx, "marketplace_subscriptions", subscription_columns)
    totals = M.subscription_totals(subscriptions)
    s1, s2, s3 = st.columns(3)
    s1.metric("Active", P.format_count(totals["active"]))
    s2.metric(
        "Pending cancellation",
        P.format_count(totals["pending_cancellation"]),
        help="Active, but auto-renew was turned off: ends at the end of the term",
    )
    s3.metric(
        "Expired", P.format_count(totals["expired"]), help="Expired, cancelled or terminated agreements"
    )
    as_of = M.as_of_text(subscriptions)
    st.caption(
        "All products of the tenant (the usage filters do not apply)" + (f" · as of {as_of}" if as_of else "")
    )
    left, right = st.columns([2, 3])
    left.altair_chart(M.subscriptions_chart(subscriptions), width="stretch")
    with right:
        ui.table(subscriptions, key="mp_subscriptions", file_name=f"{tenant}_marketplace_subscriptions")
