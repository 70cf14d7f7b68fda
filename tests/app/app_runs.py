"""Opening app.py under AppTest as a link does: the query parameters first, then a run; and
switching to a function page of st.navigation."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash
from tiers import ROOT

APP = str(ROOT / "app.py")


def opened(timeout: float, **params: object) -> AppTest:
    """app.py run once with `params` in its link; any exception fails the test."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Switch to a function page registered by st.navigation (AppTest.switch_page only knows
    file pages; a function page's script hash is the hash of its url_path)."""
    at._page_hash = calc_hash(url_path)
    return at.run()
