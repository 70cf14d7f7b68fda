"""The interface language of a session: English or Japanese.

On the first visit it is the browser's language (`st.context.locale`); the switch at the
top of the sidebar changes it, and it is bound to the link as `?lang=ja|en` like every other
option (Streamlit leaves it out of the link while it equals the browser's language).  Every
full run sets it with `i18n.set_language`; fragment reruns and other threads the session
starts find it through `i18n.set_language_source`.  Switching reruns the script in the new
language and keeps every other widget and every cached result (they are language-neutral).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

import i18n
from i18n import LANGUAGE_NAMES, LANGUAGES, N_, Language
from ui import state

LANG_KEY = "lang"
SWITCH_LABEL = "Language / 言語"  # both languages on purpose: a reader of either finds the switch

T = TypeVar("T")

i18n.set_language_source(lambda: st.session_state.get(LANG_KEY))


def browser_language() -> Language:
    """The browser's language when the app speaks it, else English."""
    try:
        locale = st.context.locale
    except Exception:  # no browser context (bare mode)
        locale = None
    return i18n.normalize_language(locale) or i18n.DEFAULT_LANGUAGE


def language_switch() -> Language:
    """Draw the language switch in the sidebar and make its language the active one."""
    _adopt_link_spelling()
    default = browser_language()
    with st.sidebar:
        language = st.radio(
            SWITCH_LABEL,
            LANGUAGES,
            index=LANGUAGES.index(default),
            key=LANG_KEY,
            captions=[LANGUAGE_NAMES[code] for code in LANGUAGES],
            horizontal=True,
            bind=state.BIND,
        )
    i18n.set_language(language)
    state.check(LANG_KEY, language, N_("not a language of this app"))
    return language


def _adopt_link_spelling() -> None:
    """A link's `lang=ja-JP` or `lang=JA` means `ja`: adopted before the switch is drawn
    (Streamlit would drop anything but the exact option)."""
    given = state.linked(LANG_KEY)
    if not given or LANG_KEY in st.session_state or given[0] in LANGUAGES:
        return
    code = i18n.normalize_language(given[0])
    if code is not None:
        state.adopt(LANG_KEY, code)


def keep_language(make: Callable[[], T]) -> Callable[[], T]:
    """`make`, run in the language active now.  For a download button's deferred data: Streamlit
    calls it later in a worker thread, where the session's language is not known."""
    language = i18n.get_language()

    def made() -> T:
        with i18n.using(language):
            return make()

    return made
