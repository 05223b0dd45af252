"""Streamlit glue shared by the pages: sign-in gate, tenant picker, cached queries, tables with CSV, empty states."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from control_plane.client import URL_ENV, ControlPlaneClient, normalise_url
from dashboards.lib import datasets
from dashboards.lib.auth import ControlPlaneAccess, SignInFailed, TenantAccess, Viewer
from dashboards.lib.data import LakeReader, default_reader

APP_TITLE = "Partner Central Lakehouse"
CACHE_TTL_SECONDS = int(os.environ.get("LAKEHOUSE_DASHBOARD_CACHE_TTL", "300"))
REVALIDATE_SECONDS = 60  # a revoked key or expired token stops working within a minute

_readers: dict[str, LakeReader] = {}


@dataclass(frozen=True)
class PageContext:
    """What every page works with: who is looking, at which tenant, through which reader."""

    viewer: Viewer
    tenant: str
    reader: LakeReader

    @property
    def source_id(self) -> str:
        return self.reader.source_id


# ------------------------------------------------------------------------------------------ data + cache


def current_reader() -> LakeReader:
    """The reader for the configured lake root (registered so cached queries can find it by id)."""
    reader = default_reader()
    _readers.setdefault(reader.source_id, reader)
    return _readers[reader.source_id]


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=512)
def _cached(
    name: str, source_id: str, tenant: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> Any:
    fn: Callable[..., Any] = getattr(datasets, name)
    return fn(_readers[source_id], tenant, *args, **dict(kwargs))


def query(ctx: PageContext, name: str, *args: Any, **kwargs: Any) -> Any:
    """``dashboards.lib.datasets.<name>(reader, tenant, ...)``, cached for CACHE_TTL_SECONDS per tenant."""
    return _cached(name, ctx.source_id, ctx.tenant, tuple(args), tuple(sorted(kwargs.items())))


def full_csv(ctx: PageContext, name: str, *args: Any, **kwargs: Any) -> Callable[[], bytes]:
    """A deferred CSV of a whole dataset (run only when the download button is clicked, uncached)."""
    reader, tenant = ctx.reader, ctx.tenant

    def build() -> bytes:
        result = getattr(datasets, name)(reader, tenant, *args, **kwargs)
        frame = result[0] if isinstance(result, tuple) else result
        return frame.to_csv(index=False).encode("utf-8")

    return build


def clear_cache() -> None:
    _cached.clear()


# --------------------------------------------------------------------------------------------- sign-in


@st.cache_resource(show_spinner=False)
def _access(control_plane_url: str) -> TenantAccess:
    """One API client (and connection pool) per process and control-plane URL, shared by every session."""
    return ControlPlaneAccess(ControlPlaneClient(control_plane_url))


def tenant_access() -> TenantAccess:
    """The control-plane access for ``LAKEHOUSE_CONTROL_PLANE_URL`` (the only control-plane setting needed here)."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        raise SignInFailed(
            f"{URL_ENV} is not set: the dashboards sign users in through the control-plane API "
            "(start it with `lakehouse api`, or run `lakehouse dashboards --api-url URL`)"
        )
    try:
        return _access(normalise_url(url))
    except ValueError as exc:
        raise SignInFailed(str(exc)) from None


def caller_client() -> ControlPlaneClient:
    """A control-plane client calling with the signed-in user's own credential (the API decides and audits)."""
    access = tenant_access()
    credential = st.session_state.get("_credential")
    if not isinstance(access, ControlPlaneAccess) or not credential:
        raise SignInFailed("sign in through the control plane first")
    return access.client.as_caller(credential)


def _sign_in_form() -> None:
    st.title(APP_TITLE)
    st.write(
        "Sign in with a control-plane **API key** (`lh.<tenant>.<key id>.<secret>`) or a **bearer token** "
        "issued by the control plane. You will see only the tenants its policy lets you read."
    )
    error = st.session_state.pop("_signin_error", None)
    with st.form("signin", clear_on_submit=True):
        credential = st.text_input(
            "API key or token",
            type="password",
            key="signin_credential",
            placeholder="lh.acme.k0123456789abcdef.…",
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            viewer = tenant_access().sign_in(credential)
        except SignInFailed as exc:
            error = str(exc)
        else:
            st.session_state["_credential"] = credential.strip()
            st.session_state["_viewer"] = viewer
            st.session_state["_validated_at"] = time.monotonic()
            st.rerun()
    if error:
        st.error(error)


def sign_out() -> None:
    for key in ("_credential", "_viewer", "_validated_at", "_tenant"):
        st.session_state.pop(key, None)


def signed_in_viewer() -> Viewer:
    """The signed-in viewer, re-validated every minute; renders the sign-in form and stops otherwise."""
    state = st.session_state
    credential = state.get("_credential")
    if credential and time.monotonic() - state.get("_validated_at", 0.0) > REVALIDATE_SECONDS:
        try:
            state["_viewer"] = tenant_access().sign_in(credential)
            state["_validated_at"] = time.monotonic()
        except SignInFailed as exc:
            sign_out()
            state["_signin_error"] = f"signed out: {exc}"
    if state.get("_credential") and "_viewer" in state:
        viewer: Viewer = state["_viewer"]
        return viewer
    _sign_in_form()
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises


def _pick_tenant(viewer: Viewer) -> str:
    tenants = list(viewer.tenants)
    if not tenants:
        st.warning(
            f"Signed in as {viewer.subject} ({viewer.role}), but the policy lets you read no tenant's data."
        )
        st.stop()
    current = st.session_state.get("_tenant")
    if current not in tenants:
        current = viewer.home_tenant if viewer.home_tenant in tenants else tenants[0]
    if len(tenants) > 1:

        def label(t: str) -> str:
            name = viewer.tenant_names.get(t)
            return f"{name} ({t})" if name and name != t else t

        choice = st.sidebar.selectbox(
            "Tenant",
            tenants,
            index=tenants.index(current),
            format_func=label,
            key="tenant_picker",
            help="Platform admins and admins of a parent tenant can switch tenant.",
        )
    else:
        st.sidebar.markdown(f"**Tenant:** `{current}`")
        choice = current
    if choice != st.session_state.get("_tenant"):
        try:  # before any of the tenant's data is shown: the API audits looks outside the viewer's own tenant
            tenant_access().record_view(st.session_state["_credential"], viewer, choice)
        except SignInFailed as exc:
            st.error(f"Cannot open tenant {choice!r}: {exc}")
            st.stop()
        st.session_state["_tenant"] = choice
    return choice


def page(title: str, icon: str) -> PageContext:
    """Set the page up: sign-in gate, sidebar (who, tenant, refresh, sign out); returns the page context."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide")
    viewer = signed_in_viewer()
    tenant = _pick_tenant(viewer)
    if not viewer.may_read(
        tenant
    ):  # the picker only offers readable tenants; never trust session state blindly
        st.error(f"Not allowed to read tenant {tenant!r}.")
        st.stop()
    with st.sidebar:
        st.caption(
            f"Signed in as **{viewer.subject}** · role **{viewer.role}** · cleared for "
            f"**{viewer.clearance}** data"
        )
        left, right = st.columns(2)
        if left.button("Refresh data", key="refresh", help=f"Data is cached for {CACHE_TTL_SECONDS} s"):
            clear_cache()
        if right.button("Sign out", key="signout"):
            sign_out()
            st.rerun()
    st.title(title)
    reader = current_reader()
    _warm_in_background(reader, tenant)
    return PageContext(viewer=viewer, tenant=tenant, reader=reader)


_warming: set[tuple[str, str]] = set()
_warmed_at: dict[tuple[str, str], float] = {}
_warming_lock = threading.Lock()
WARM_EVERY_SECONDS = 30.0


def _warm_in_background(reader: LakeReader, tenant: str) -> None:
    """Start loading the tenant's big tables (if the reader keeps them in memory) while the user looks around."""
    warm = getattr(reader, "warm", None)
    key = (reader.source_id, tenant)
    if warm is None:
        return
    with _warming_lock:
        if key in _warming or time.monotonic() - _warmed_at.get(key, -1e9) < WARM_EVERY_SECONDS:
            return
        _warming.add(key)
        _warmed_at[key] = time.monotonic()

    def run() -> None:
        try:
            warm(tenant)
        except Exception:  # a failed warm-up only means that the page loads the data itself
            logging.getLogger(__name__).debug("warm-up of %s failed", key, exc_info=True)
        finally:
            with _warming_lock:
                _warming.discard(key)

    threading.Thread(target=run, name=f"dash-warm-{tenant}", daemon=True).start()


# ---------------------------------------------------------------------------------------------- widgets


def empty_state(message: str, hint: str | None = None) -> None:
    """An explicit 'nothing here yet' panel (never an exception or a blank page)."""
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/inbox:")


def table(
    frame: pd.DataFrame | None,
    *,
    key: str,
    file_name: str,
    empty: str = "No rows.",
    caption: str | None = None,
    column_config: dict[str, Any] | None = None,
    csv: Callable[[], bytes] | None = None,
) -> None:
    """A dataframe with a CSV download button (of ``frame``, or of what ``csv`` builds), or an empty state."""
    if frame is None or frame.empty:
        st.caption(f"_{empty}_")
        return
    config = {
        c: st.column_config.NumberColumn(c, format="dollar") for c in frame.columns if c.endswith("_usd")
    }
    config.update(column_config or {})
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)
    if caption:
        st.caption(caption)
    if csv is None:
        data = frame.copy()

        def csv() -> bytes:
            return data.to_csv(index=False).encode("utf-8")

    st.download_button(
        "Download CSV",
        data=csv,
        file_name=f"{file_name}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        icon=":material/download:",
    )
