"""The gettext catalogues, read with Babel's own parser: every message the source marks is in
them, every Japanese entry is translated (not empty, not fuzzy), each translation keeps the
original's {placeholders} with their format specs, and the glossary's terms are used."""

from __future__ import annotations

import io
import re
import string
import tokenize
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from tiers import ROOT

from i18n import LOCALE_DIR

LOCALE = LOCALE_DIR  # i18n/locale, found through the package
LANGUAGES = ("ja", "en")
# Variants docs/glossary.md rules out, and the term the Japanese text uses instead.
AVOIDED_TERMS = {
    "スパースアテンション": "疎なアテンション",
    "ローカル窓": "局所窓",
    "ウィンドウ": "窓",
    "レイヤー": "層",
    "注意機構": "アテンション",
    "大域アテンション": "グローバルアテンション",
}


@cache
def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def entries(language: str) -> list:
    return [message for message in catalog(language) if message.id]


def key(message) -> tuple:
    singular = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
    return (message.context, singular)


def fields(text: str) -> set[tuple[str, str]]:
    """The {placeholder:spec} fields of a brace-format string (a translation may repeat one)."""
    return {(name, spec or "") for _literal, name, spec, _conv in string.Formatter().parse(text) if name is not None}


@cache
def source_messages() -> dict[tuple, set[str]]:
    """Every message the sources mark, extracted as `make catalogs` does (babel.cfg and the
    Makefile's BABEL_KEYWORDS): (context, msgid) → files."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    extra = re.search(r"^BABEL_KEYWORDS := (.*)$", makefile, flags=re.M).group(1)
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(re.findall(r"-k (\S+)", extra)))
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[tuple, set[str]] = {}
    for filename, _line, message, _comments, context in extract_from_dir(str(ROOT), method_map, options_map, keywords):
        singular = message[0] if isinstance(message, (tuple, list)) else message
        found.setdefault((context, singular), set()).add(filename)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_message_is_in_the_catalogue(language):
    marked = source_messages()
    assert len(marked) > 150, "the extraction found too few messages: is babel.cfg read?"
    present = {key(message) for message in entries(language)}
    missing = {message: sorted(files) for message, files in marked.items() if message not in present}
    assert not missing, f"run `make catalogs` and translate: {missing}"


def test_every_japanese_entry_is_translated_and_not_fuzzy():
    problems = []
    for message in entries("ja"):
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.fuzzy or not all(text.strip() for text in strings):
            problems.append(message.id)
    assert not problems, problems
    assert len(entries("ja")) == len(entries("en"))


def test_placeholders_match_the_original():
    for message in entries("ja"):
        originals = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        translations = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        expected = fields(originals[0])
        for original in originals[1:]:
            assert fields(original) == expected, original  # singular and plural agree
        for translation in translations:
            assert fields(translation) == expected, (message.id, translation)


@pytest.mark.parametrize("language", LANGUAGES)
def test_babel_compile_checks_pass(language):
    """`pybabel compile` (run by the Makefile's install step) refuses a catalogue that fails
    Babel's checkers, e.g. a literal "95% i…" read as a %-placeholder the translation lacks."""
    problems = [(message.id, str(error)) for message, errors in catalog(language).check() for error in errors]
    assert not problems, problems


def test_japanese_uses_the_glossary_terms():
    glossary = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    terms = ("アテンション", "ヘッド", "層", "特殊トークン", "グローバルアテンション", "局所窓", "疎なアテンション")
    for term in terms:
        assert term in glossary, term
    for message in entries("ja"):
        translations = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for translation in translations:
            for avoided, preferred in AVOIDED_TERMS.items():
                assert avoided not in translation, f"{translation!r}: write {preferred} (docs/glossary.md)"


def test_no_translated_call_hides_inside_an_f_string():
    """pybabel (on Python 3.11) does not look inside f-strings, so _("…") there is never extracted."""
    offenders = []
    for pattern in ("i18n", "models", "viz", "ui"):
        paths = list((ROOT / pattern).rglob("*.py"))
        offenders += [path for path in paths if _marks_in_f_strings(path)]
    offenders += [path for path in ROOT.glob("*.py") if _marks_in_f_strings(path)]
    assert not offenders, [str(Path(path).relative_to(ROOT)) for path in offenders]


def _marks_in_f_strings(path: Path) -> bool:
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        f_string = token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string)
        if f_string and re.search(r"\b(N_|_|gettext|ngettext|pgettext)\(", token.string):
            return True
    return False
