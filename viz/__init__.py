"""Figures, HTML and export bytes built from an AttentionResult and its Analysis.

Nothing here loads a model or imports streamlit: every function takes arrays (or the
immutable result types) and returns a plotly figure, a string or bytes.
"""
