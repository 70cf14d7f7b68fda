"""Translations for the engine, the CLI and the app: gettext catalogues managed with Babel.

The language is per call, never per process: it lives in a ContextVar, so every thread
(each Streamlit session runs its script in its own thread) and every `with using("ja"):`
block has its own.  Nothing here imports streamlit, plotly or torch.

  set_language("ja")            the active language of this thread/context (returns a token)
  using("ja")                   a with-block in one language
  _(msgid), gettext, ngettext, pgettext   translate now, in the active language
  N_(msgid)                     mark a module-level constant; it stays a LazyText that
                                translates whenever it is shown (str(), f-string, .format)
  lazy_ngettext(singular, plural, count="n")   the same with a plural chosen by {n}
  LazyText.format(**params)     a language-neutral message: template + params, rendered in
                                the language active where it is shown (translated *before*
                                the {placeholders} are filled)
  format_list(items)            "a, b and c" / "a、b、c", lazily
  as_text(value), message_of(error)   display text of any value; an exception's lazy message
  set_language_source(fn)       where contexts that set no language look (the app's session)

A LazyText is a `str` whose value is the English text, so it compares, hashes, sorts and
pickles as that English text (the cached results stay language-neutral), while str(),
format(), f-strings, `+` and `%` show it in the active language.  json.dumps and "".join
see the English value: convert with str() (or `as_text()`) where text is handed on.

Catalogues: i18n/locale/<lang>/LC_MESSAGES/messages.po, package data found through the
package (compiled to .mo by `make`; a missing or older .mo falls back to reading the .po).
README "日本語 / Japanese" has the pybabel commands.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, get_args

Language = Literal["en", "ja"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "ja": "日本語"}
DEFAULT_LANGUAGE: Language = "en"
DOMAIN = "messages"
LOCALE_DIR = Path(str(files(__name__) / "locale"))  # i18n/locale: <lang>/LC_MESSAGES/messages.po
ENV_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order of precedence

ERR_LANGUAGE = "Unknown language '{language}'; use one of: {choices}."

_active: ContextVar[Language | None] = ContextVar("language", default=None)
_source: Callable[[], object] | None = None


# --- the active language ---------------------------------------------------------------


def normalize_language(value: object) -> Language | None:
    """'ja', 'ja_JP.UTF-8', 'ja-JP', 'JA' → 'ja'; 'en_US' → 'en'; anything else → None."""
    if not isinstance(value, str):
        return None
    first = value.split(":")[0].strip().lower().replace("-", "_")
    code = first.split(".")[0].split("@")[0].split("_")[0]
    return code if code in LANGUAGES else None  # type: ignore[return-value]


def language_from_env(environ: Mapping[str, str] | None = None) -> Language:
    """The language the environment asks for (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English.

    The first variable that is set decides, as in gettext; 'C' and 'POSIX' mean English.
    """
    environ = os.environ if environ is None else environ
    for name in ENV_VARIABLES:
        value = environ.get(name, "")
        if value:
            return normalize_language(value) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def set_language(language: object) -> Token:
    """Make `language` active in the current thread/context; ValueError for an unknown one.

    Returns the token `reset_language` takes.  Other threads and sessions are not affected.
    """
    code = normalize_language(language)
    if code is None:
        raise ValueError(ERR_LANGUAGE.format(language=language, choices=", ".join(LANGUAGES)))
    return _active.set(code)


def reset_language(token: Token) -> None:
    _active.reset(token)


@contextmanager
def using(language: object) -> Iterator[Language]:
    """`with using("ja"): ...` runs the block in one language and restores the previous one."""
    token = set_language(language)
    try:
        yield get_language()
    finally:
        _active.reset(token)


def set_language_source(source: Callable[[], object] | None) -> None:
    """Where to look when no language was set in the current context (None to stop).

    For frameworks that run code in threads they start themselves: the Streamlit app passes
    a function that reads its own session (`lambda: st.session_state.get("lang")`), so a
    fragment rerun in a fresh thread still finds the session's language.  The source is
    called on every lookup; an error or an unknown value means English.
    """
    global _source
    _source = source


def get_language() -> Language:
    """The active language: the context's own, else the language source's, else English."""
    code = _active.get()
    if code is not None:
        return code
    if _source is not None:
        try:
            return normalize_language(_source()) or DEFAULT_LANGUAGE
        except Exception:  # a source outside its framework (no session here): English
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


# --- catalogues -------------------------------------------------------------------------


@cache
def catalog(language: Language) -> _gettext.NullTranslations:
    """The compiled catalogue of `language`: the .mo, or the .po when the .mo is missing or
    older (a fresh clone before `make`), or no translation at all."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return _gettext.GNUTranslations(handle)
    if po.is_file():
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as handle:
            parsed = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, parsed, use_fuzzy=False)
        buffer.seek(0)
        return _gettext.GNUTranslations(buffer)
    return _gettext.NullTranslations()


def _translate(
    msgid: str, language: Language, plural: str | None = None, n: int = 1, context: str | None = None
) -> str:
    translations = catalog(language)
    if plural is None:
        return translations.pgettext(context, msgid) if context else translations.gettext(msgid)
    if context:
        return translations.npgettext(context, msgid, plural, n)
    return translations.ngettext(msgid, plural, n)


def gettext(msgid: str) -> str:
    """`msgid` in the active language (a LazyText: its template, translated)."""
    if isinstance(msgid, LazyText):
        return msgid.render()
    return _translate(msgid, get_language())


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the active language."""
    return _translate(singular, get_language(), plural, n)


def pgettext(context: str, msgid: str) -> str:
    """`msgid` in `context` (the same English words meaning different things), translated."""
    return _translate(msgid, get_language(), context=context)


# --- lazy messages ----------------------------------------------------------------------


class LazyText(str):
    """A message that translates when shown; its `str` value is the English text.

    Build one with N_(msgid), lazy_ngettext(...) or lazy_pgettext(...), then fill it with
    `.format(**params)` (a new LazyText).  Params may be LazyTexts too; they are rendered
    in the same language.  See the module docstring for what translates and what does not.
    """

    __slots__ = ("context", "count", "msgid", "params", "plural")

    msgid: str
    plural: str | None
    count: str
    context: str | None
    params: Mapping[str, Any]

    def __new__(
        cls,
        msgid: str,
        params: Mapping[str, Any] | None = None,
        plural: str | None = None,
        count: str = "n",
        context: str | None = None,
    ) -> LazyText:
        params = dict(params or {})
        english = _render(str.__str__(msgid), params, "en", plural, count, context, translate=False)
        self = super().__new__(cls, english)
        self.msgid, self.params = str.__str__(msgid), params
        self.plural, self.count, self.context = plural, count, context
        return self

    def render(self, language: object = None) -> str:
        """The text in `language` (default: the active one)."""
        code = normalize_language(language) if language is not None else get_language()
        return _render(self.msgid, self.params, code or DEFAULT_LANGUAGE, self.plural, self.count, self.context)

    def format(self, *args: object, **params: Any) -> LazyText:  # type: ignore[override]
        """This message with its {placeholders} filled, still language-neutral."""
        if args:
            raise TypeError("LazyText.format takes named placeholders only, e.g. .format(name=...)")
        return LazyText(self.msgid, {**self.params, **params}, self.plural, self.count, self.context)

    def __str__(self) -> str:
        return self.render()

    def __format__(self, spec: str) -> str:
        return format(self.render(), spec)

    def __add__(self, other: object) -> str:
        return self.render() + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + self.render()

    def __mod__(self, values: object) -> str:
        return self.render() % values

    def __reduce__(self):
        return (LazyText, (self.msgid, self.params, self.plural, self.count, self.context))

    def __copy__(self) -> LazyText:
        return self

    def __deepcopy__(self, memo: dict) -> LazyText:
        return self


def _render(
    msgid: str,
    params: Mapping[str, Any],
    language: Language,
    plural: str | None,
    count: str,
    context: str | None,
    translate: bool = True,
) -> str:
    n = params.get(count, 1) if plural is not None else 1
    try:
        n = int(n)
    except (TypeError, ValueError):
        n = 1
    english = msgid if plural is None or n == 1 else plural
    template = _translate(msgid, language, plural, n, context) if translate else english
    values = {key: value.render(language) if isinstance(value, LazyText) else value for key, value in params.items()}
    if not values:
        return template
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):  # a broken translation shows the English text
        return english.format_map(values)


def N_(msgid: str) -> LazyText:
    """Mark a module-level message for extraction; it translates whenever it is shown."""
    return LazyText(msgid)


def lazy_ngettext(singular: str, plural: str, count: str = "n") -> LazyText:
    """A lazy message with a plural form, chosen by the number given as {count} in .format."""
    return LazyText(singular, plural=plural, count=count)


def lazy_pgettext(context: str, msgid: str) -> LazyText:
    """A lazy message in a context (see pgettext)."""
    return LazyText(msgid, context=context)


def as_text(value: object, language: object = None) -> str:
    """Any value as display text: a LazyText rendered (in `language` or the active one)."""
    if isinstance(value, LazyText):
        return value.render(language)
    message = getattr(value, "message", None)  # a typed notice (models.types.Notice)
    if message is not None and not isinstance(value, str):
        return as_text(message, language)
    return str(value)


LIST_PAIR = lazy_pgettext("list", "{first} and {last}")
LIST_SEPARATOR = lazy_pgettext("list", ", ")


class _ListText(LazyText):
    """Items joined as a reader of the language expects ("1, 3 and 4" / "1、3、4")."""

    __slots__ = ("items",)

    def __new__(cls, items: Iterable[object]) -> _ListText:
        items = tuple(items)
        self = str.__new__(cls, _join(items, "en"))
        self.msgid, self.params, self.plural, self.count, self.context = "", {}, None, "n", None
        self.items = items
        return self

    def render(self, language: object = None) -> str:
        code = normalize_language(language) if language is not None else get_language()
        return _join(self.items, code or DEFAULT_LANGUAGE)

    def format(self, *args: object, **params: Any) -> LazyText:  # type: ignore[override]
        return self

    def __reduce__(self):
        return (_ListText, (self.items,))


def _join(items: tuple, language: Language) -> str:
    shown = [as_text(item, language) for item in items]
    if len(shown) < 2:
        return "".join(shown)
    separator = LIST_SEPARATOR.render(language)
    return LIST_PAIR.render(language).format(first=separator.join(shown[:-1]), last=shown[-1])


def format_list(items: Iterable[object]) -> LazyText:
    """A lazy list: "a, b and c" in English, "a、b、c" in Japanese."""
    return _ListText(items)


def message_of(error: BaseException) -> str:
    """An exception's message, kept lazy when it is a LazyText (to re-raise it as another type)."""
    if len(error.args) == 1 and isinstance(error.args[0], LazyText):
        return error.args[0]
    return str(error)
