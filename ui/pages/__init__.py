"""One module per page; each exposes `page()`, run by st.navigation in app.py."""
