"""The shareable URL: every input and view option lives in the link.

Widgets are bound to the URL with Streamlit's `bind="query-params"` (the widget key is
the parameter name).  Streamlit then updates the link by *replacing* the browser's
current history entry, seeds each widget from the link when a page opens, restores it
from the link when the browser goes Back or Forward, and drops a value it cannot use.
This module adds what the binding leaves out: a visible note that names every value of
the opened link that could not be used, and which default took its place; the adoption
of values spelled another way (a link made before a widget's options became
identifiers); and the browser history (below).

History: a new analysis (a new text, pair, model or folder, NEW_ENTRY_KEYS) adds a
history entry, so Back returns to the previous sentence; a view tweak (layer, head,
font, a switch) replaces the current entry.  A value written with `st.query_params`
(the text) is pushed by Streamlit as a new entry itself; a bound widget's change (the
model) is written by the browser in place, so `keep_history` then has the tiny LINK_JS
component give the current entry its previous values back and push the new link.  The
same component writes the values a bound widget cannot write in the form they are read
back (`write_link`: the rollout token by position), replacing the current entry.  It only
edits the URL's query string through the history API: it draws nothing and loads
nothing.  On a Back/Forward run (`history_navigation`), the values written by hand are
read back from the link (`restored`; the text in `remember_link`).

A bound selection widget writes its *displayed* option text into the link, so those texts
are language-neutral identifiers (`view=norm`, `score=entropy`): a link made in Japanese
opens in English and the other way round.  The notes are kept as language-neutral
messages and shown in the language of the moment.

The text is the one input written into the link by hand (`link_text` / `text_of_link`):
a long text, Japanese above all (nine characters of link per character), would make a
link the server refuses, so past PACK_OVER characters it is written deflated and
base64url-encoded behind the PACKED prefix (`text=z:...`); past LINK_TEXT_LIMIT even
that is too long and the link leaves the text out.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import uuid
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib import parse

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from i18n import N_

LINK_KEY = "_link_at_start"  # session state: the query parameters the session was opened with
NOTES_KEY = "_link_notes"
CHECKED_KEY = "_link_checked"
ADOPTED_KEY = "_link_adopted"
BIND = "query-params"
NOTE = N_("The link's {key}={value} could not be used ({why}); {default} is shown instead.")
PACKED = "z:"  # the prefix of a text written into the link compressed
PACK_OVER = 8_000  # a text whose link value would be longer is written compressed
LINK_TEXT_LIMIT = 60_000  # a compressed value longer than this is left out of the link
MAX_UNPACKED_BYTES = 1_000_000  # a packed link value never unpacks to more (no zip bombs)
NEW_ENTRY_KEYS = ("text", "pair", "model", "dir")  # a change in any of these is a new analysis
ENTRY_KEY = "_link_entry"  # session state: the NEW_ENTRY_KEYS values of the current history entry
# The browser side of `keep_history` and `write_link`: it sets or deletes query values of the
# current URL through history.replaceState / pushState (nothing is drawn, nothing fetched).
# Each instruction carries a nonce and is carried out once.
LINK_JS = """
const done = new Set();
const encode = (text) => encodeURIComponent(text).replace(/%20/g, "+");
const keyOf = (part) => {
  try { return decodeURIComponent(part.split("=")[0].replace(/\\+/g, " ")); } catch { return null; }
};
const valueOf = (part) => {
  try { return decodeURIComponent(part.split("=").slice(1).join("=").replace(/\\+/g, " ")); } catch { return null; }
};
// `search` with each key of `values` set to its value (the first of its places), or deleted for null
function withValues(search, values) {
  const out = [];
  const written = new Set();
  for (const part of search.replace(/^\\?/, "").split("&")) {
    const key = part ? keyOf(part) : null;
    if (key === null || !Object.prototype.hasOwnProperty.call(values, key)) {
      if (part) out.push(part);
      continue;
    }
    if (written.has(key)) continue;
    written.add(key);
    if (values[key] === null) continue;
    out.push(valueOf(part) === values[key] ? part : encode(key) + "=" + encode(values[key]));
  }
  for (const [key, value] of Object.entries(values)) {
    if (!written.has(key) && value !== null) out.push(encode(key) + "=" + encode(value));
  }
  return out.length ? "?" + out.join("&") : "";
}
export default function ({ data }) {
  if (!data || !data.nonce || done.has(data.nonce)) return;
  done.add(data.nonce);
  const { pathname, search, hash } = window.location;
  if (data.push) {
    const before = withValues(search, data.push);
    if (before !== search) {
      window.history.replaceState(window.history.state, "", pathname + before + hash);
      window.history.pushState({}, "", pathname + search + hash);
    }
  }
  if (data.set) {
    const now = window.location.search;
    const wanted = withValues(now, data.set);
    if (wanted !== now) window.history.replaceState(window.history.state, "", pathname + wanted + hash);
  }
}
"""
JS_KEY = "_link_js_"  # the prefix of the component's keys: their element containers are hidden
# (an empty element still takes a gap in the page's layout); hiding them stops no script
_link_component = st.components.v2.component(
    "attention_link", js=LINK_JS, css=f'[class*="st-key-{JS_KEY}"] {{\n  display: none;\n}}', isolate_styles=False
)


class LinkTextError(ValueError):
    """A packed link value that is not a compressed text."""


def link_text(text: str) -> str | None:
    """The link's value for `text`: the text itself when its link value stays under
    PACK_OVER characters, else PACKED + deflated base64url; None when even that is
    longer than LINK_TEXT_LIMIT (the text is then too long to share by link).  A text
    that itself begins with PACKED is always packed, so it reads back unchanged."""
    if len(parse.quote_plus(text)) <= PACK_OVER and not text.startswith(PACKED):
        return text
    packed = base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii").rstrip("=")
    value = PACKED + packed
    return value if len(value) <= LINK_TEXT_LIMIT else None


def text_of_link(value: str) -> str:
    """The text a link value stands for (the inverse of `link_text`); raises
    LinkTextError for a packed value that does not unpack to UTF-8 text."""
    if not value.startswith(PACKED):
        return value
    data = value[len(PACKED) :]
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        unpacker = zlib.decompressobj()
        unpacked = unpacker.decompress(raw, MAX_UNPACKED_BYTES)
        if unpacker.unconsumed_tail or not unpacker.eof:
            raise LinkTextError(value)
        return unpacked.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as error:
        raise LinkTextError(value) from error


def remember_link(known: set[str]) -> None:
    """At the top of every run.  On a session's first run, keep the link it was opened with
    and note unknown keys.  On a Back/Forward run, give the text area the text of the link
    the browser went back to (the bound widgets Streamlit restores itself)."""
    state = st.session_state
    if history_navigation():
        _restore_text()
    if LINK_KEY in state:
        return
    params = st.query_params
    state[LINK_KEY] = {key: params.get_all(key) for key in params}
    state[NOTES_KEY] = [
        N_("The link's {key}={value} is not an option of this app and was ignored.").format(
            key=key, value=_shown(values)
        )
        for key, values in state[LINK_KEY].items()
        if key not in known
    ]
    state[CHECKED_KEY] = set()


def linked(key: str) -> list[str] | None:
    """The values the session's link gave for `key`, or None when it gave none."""
    return st.session_state.get(LINK_KEY, {}).get(key)


def linked_once(key: str) -> list[str] | None:
    """The values the session's link gave for `key` the first time a session asks, then
    None: for a widget seeded from the link by hand."""
    adopted = st.session_state.setdefault(ADOPTED_KEY, set())
    if key in adopted:
        return None
    adopted.add(key)
    return linked(key)


def check(key: str, value: Any, why: str = N_("not one of the choices"), shown: Callable[[Any], str] = str) -> None:
    """Once per key and session: note the link's value for `key` when the widget ended up
    with something else (`value`, the widget's current value; `shown` is the widget's
    format_func, which is how a selection widget writes its value into the link).  `why`
    is a message (a LazyText, so the note follows a language switch)."""
    state = st.session_state
    given = linked(key)
    checked = state.setdefault(CHECKED_KEY, set())
    if given is None or key in checked:
        return
    checked.add(key)
    written = _as_link(value, shown)
    if written != given:
        state.setdefault(NOTES_KEY, []).append(
            NOTE.format(key=key, value=_shown(given), why=why, default=_shown(written))
        )


def reject(key: str, value: str, why: str, default: str) -> None:
    """Note a link value the app itself refused (e.g. a window that breaks the rule)."""
    notes = st.session_state.setdefault(NOTES_KEY, [])
    note = NOTE.format(key=key, value=value, why=why, default=default)
    if note not in notes:
        notes.append(note)


def adopt(key: str, value: Any) -> None:
    """Give a bound widget `value` before it is drawn, for a link value the widget would not
    recognise as written (it then notes nothing about that key)."""
    st.session_state[key] = value
    st.session_state.setdefault(CHECKED_KEY, set()).add(key)


def adopt_aliases(key: str, aliases: Mapping[str, Any]) -> None:
    """Once per key and session, before the widget is drawn: a link value that is an alias
    (say the English label older links wrote, `view=Words`) becomes its option."""
    adopted = st.session_state.setdefault(ADOPTED_KEY, set())
    given = linked(key)
    if key in adopted or not given:
        return
    adopted.add(key)
    if given[0] in aliases:
        adopt(key, aliases[given[0]])


def history_navigation() -> bool:
    """Whether this run follows the browser's Back or Forward button."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.is_history_navigation)


def restored(key: str) -> list[str] | None:
    """On a Back/Forward run, the values of `key` in the link the browser went back to
    ([] when that link has none); None on any other run.  For the values written by hand
    (`write_link`), which Streamlit does not restore."""
    if not history_navigation():
        return None
    return st.query_params.get_all(key)


def write_link(values: dict[str, str | None], name: str) -> None:
    """Put `values` into the link (None deletes the key), replacing the browser's current
    history entry, as a bound widget's change does; for values a bound widget cannot
    write in the form they are read back.  `name` names the call site; draw it where the
    values are decided (in the fragment that decides them, so its reruns write them)."""
    _link_component(data={"nonce": uuid.uuid4().hex, "set": values}, key=JS_KEY + name)


def keep_history() -> None:
    """On every full run, once the shared inputs are drawn (ui.navigation runs it before each
    page): when the text, pair, model or folder changed since the last run (and the browser
    did not just go Back or Forward), make the link a new history entry, so Back shows the
    previous analysis.  The text is written with st.query_params, which Streamlit pushes
    as a new entry itself; a bound widget's value (pair, model, folder) is written by the
    browser into the current entry, so LINK_JS gives that entry its previous values back
    and pushes the new link."""
    params = st.query_params
    now = {name: (params.get_all(name) or [None])[-1] for name in NEW_ENTRY_KEYS}
    before = st.session_state.get(ENTRY_KEY)
    st.session_state[ENTRY_KEY] = now
    if before is None or before == now or history_navigation() or before["text"] != now["text"]:
        return
    previous = {name: before[name] for name in NEW_ENTRY_KEYS if before[name] != now[name]}
    _link_component(data={"nonce": uuid.uuid4().hex, "push": previous}, key=JS_KEY + "history")


def _restore_text() -> None:
    """The text area's text on a Back/Forward run: the text of the link (unpacked), or the
    default sentence when the link holds none; a link value that does not unpack leaves
    the text as it is."""
    from ui.inputs import DEFAULT_TEXT, TEXT_KEY  # ui.inputs imports this module

    values = st.query_params.get_all(TEXT_KEY)
    with contextlib.suppress(LinkTextError):
        st.session_state[TEXT_KEY] = text_of_link(values[-1]) if values else DEFAULT_TEXT


def show_notes(where) -> None:
    """Draw the notes about the link into `where` (a container near the top of the page)."""
    for note in st.session_state.get(NOTES_KEY, []):
        where.warning(str(note), icon=":material/link_off:")


def _as_link(value: Any, shown: Callable[[Any], str] = str) -> list[str]:
    """A widget value written as the link writes it."""
    if isinstance(value, (list, tuple)):
        return [_as_link(item, shown)[0] for item in value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if value is None:
        return [""]
    return [shown(value)]


def _shown(values: list[str]) -> str:
    return ",".join(values) if values else N_("(empty)")
