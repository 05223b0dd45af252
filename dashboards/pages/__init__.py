"""Streamlit pages (discovered by file name; this file only makes them part of the installed package)."""
