"""Streamlit dashboards: Home.py, pages/ and the shared lib/ (data access, processing, charts, sign-in)."""
