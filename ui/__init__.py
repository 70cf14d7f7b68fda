"""The Streamlit side of the app: URL state, shared inputs, caches and one module per page.

Only app.py and this package import streamlit; they wire widgets to models/ and viz/
and hold no analysis logic of their own.
"""
