"""Model side of the app: registry, loading, attention extraction and scoring.

Nothing here imports streamlit or plotly; `viz/` and `app.py` build on top.
"""
