"""The command line's language: `--lang ja|en` (default from LANG), argparse's own messages
in that language, and table columns padded by display width (a kanji is two columns wide).

argparse builds its messages from English templates before `error()` sees them, so
`translate_argparse` recognises those templates (Python 3.11's) and rebuilds them in the
active language; a message it does not recognise stays as argparse wrote it.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections.abc import Sequence

from i18n import LANGUAGES, N_, Language, _, language_from_env, normalize_language

ERR_EMPTY_TEXT = N_("the text is empty: give a sentence to analyse")  # every command's first check
ERROR_LINE = N_("error: {message}")
COLUMN_LAYER = N_("layer")  # table column headers (score and role names stay English identifiers)
COLUMN_ROLES = N_("roles")
SECTIONS = {"positional arguments": N_("positional arguments"), "options": N_("options")}

# argparse's message templates (3.11), and ours for them; the first match wins.
ARGUMENT = N_("argument {argument}: {message}")
ARGPARSE_MESSAGES: tuple[tuple[str, str], ...] = (
    (
        r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
        N_("invalid choice: {value} (choose from {choices})"),
    ),
    (r"invalid (?P<type>\w+) value: (?P<value>.+)", N_("invalid {type} value: {value}")),
    (
        r"the following arguments are required: (?P<arguments>.+)",
        N_("the following arguments are required: {arguments}"),
    ),
    (r"unrecognized arguments: (?P<arguments>.+)", N_("unrecognized arguments: {arguments}")),
    (r"expected one argument", N_("expected one argument")),
    (r"expected at least one argument", N_("expected at least one argument")),
    (r"expected at most one argument", N_("expected at most one argument")),
    (
        r"ambiguous option: (?P<option>.+?) could match (?P<matches>.+)",
        N_("ambiguous option: {option} could match {matches}"),
    ),
    (r"ignored explicit argument (?P<value>.+)", N_("ignored explicit argument {value}")),
)


def preparse_language(argv: Sequence[str]) -> Language:
    """The --lang given anywhere in argv (an unknown value is left for the full parser to
    refuse), else the language LANG and friends ask for."""
    probe = argparse.ArgumentParser(add_help=False)
    probe.add_argument("--lang")
    known, _rest = probe.parse_known_args(list(argv))
    return normalize_language(known.lang) or language_from_env()


def add_language_option(parser: argparse.ArgumentParser, commands: argparse._SubParsersAction | None) -> None:
    """--lang on the main parser and on every command (so it may follow the command)."""
    default = language_from_env()
    help_text = _("language of messages and tables: ja or en (default: from LANG, now {default})").format(
        default=default
    )
    parser.add_argument("--lang", choices=LANGUAGES, default=default, help=help_text)
    for command in commands.choices.values() if commands is not None else ():
        command.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=help_text)


def translate_argparse(message: str) -> str:
    """One of argparse's error messages in the active language (unknown ones unchanged)."""
    wrapped = re.fullmatch(r"argument (?P<argument>[^:]+): (?P<message>.*)", message, flags=re.S)
    if wrapped:
        inner = translate_argparse(wrapped["message"])
        return _(ARGUMENT).format(argument=wrapped["argument"], message=inner)
    for pattern, template in ARGPARSE_MESSAGES:
        found = re.fullmatch(pattern, message, flags=re.S)
        if found:
            return _(template).format(**found.groupdict())
    return message


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help with its headings and usage prefix in the active language."""

    def start_section(self, heading: str | None) -> None:
        super().start_section(_(SECTIONS[heading]) if heading in SECTIONS else heading)

    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        super().add_usage(usage, actions, groups, prefix if prefix is not None else _("usage: "))


def add_help_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-h", "--help", action="help", default=argparse.SUPPRESS, help=_("show this help message and exit")
    )


def width(text: str) -> int:
    """Columns the text takes in a terminal: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: object, columns: int, align: str = ">") -> str:
    """`text` padded with spaces to `columns` display columns (align ">" right, "<" left)."""
    shown = str(text)
    fill = " " * max(columns - width(shown), 0)
    return fill + shown if align == ">" else shown + fill
