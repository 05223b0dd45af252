"""Shared dashboard code: data access (data), datasets, pure processing, charts, sign-in (auth), Streamlit glue (ui)."""
