"""`cli.py analyze TEXT`: every layer's and head's scores, roles and the layer story of one
sentence or pair, as JSON (stable keys, README "JSON output") or a table."""

from __future__ import annotations

import argparse
import json

from commands.base import (
    CliError,
    add_device,
    add_exclude_special,
    add_format,
    add_input,
    add_view_options,
    load_and_extract,
)
from commands.lang import COLUMN_LAYER, COLUMN_ROLES, pad
from i18n import N_, _

WORD_LEVEL_LIMIT = 512  # word merges build [N, W] matrices: dense inputs only


def add_parser(commands) -> None:
    analyze = commands.add_parser("analyze", help=_("analyse one sentence or sentence pair"))
    add_input(analyze)
    add_exclude_special(analyze)
    add_format(analyze)
    add_view_options(analyze)
    add_device(analyze)


def check_word_level(args: argparse.Namespace, result) -> None:
    if args.word_level and result.n_tokens > WORD_LEVEL_LIMIT:
        raise CliError(
            N_("--word-level works on inputs up to {limit} tokens; this one has {n}").format(
                limit=WORD_LEVEL_LIMIT, n=result.n_tokens
            )
        )


TABLE_TOKENS = 64  # the table lists at most this many tokens; JSON has them all


def _token_line(tokens: list[str]) -> str:
    shown = " ".join(tokens[:TABLE_TOKENS])
    if len(tokens) <= TABLE_TOKENS:
        return shown
    return _("{tokens} … ({count} more)").format(tokens=shown, count=len(tokens) - TABLE_TOKENS)


LEVELS = {"info": N_("info"), "warning": N_("warning")}
NOTICE = N_("notice: {message}")


def format_table(document: dict) -> str:
    """The analysis as a table: headers and messages in the active language; score and role
    names stay the JSON's identifiers."""
    model = document["model"]
    lines = [
        _("model {key} ({family}, {layers} layers × {heads} heads), {view} view").format(
            key=model["key"],
            family=model["family"],
            layers=model["layers"],
            heads=model["heads"],
            view=document.get("view", "weight"),
        ),
        _("tokens ({count}): {tokens}").format(count=len(document["tokens"]), tokens=_token_line(document["tokens"])),
        "",
        f"{pad(COLUMN_LAYER, 5)} {'cls':>6} {'sep':>6} {'diag':>6} {'entropy':>7} {'cls_out':>7}  {COLUMN_ROLES}",
    ]
    scores = document["scores"]
    for entry in document["layers"]:
        k = entry["layer"] - 1
        mean = {name: sum(scores[name][k]) / len(scores[name][k]) for name in scores}
        roles = ", ".join(f"{role} {share:.0%}" for role, share in entry["roles"].items() if share > 0)
        lines.append(
            f"{entry['layer']:>5} {mean['cls']:>6.3f} {mean['sep']:>6.3f} {mean['diagonal']:>6.3f} "
            f"{mean['entropy']:>7.3f} {mean['cls_out']:>7.3f}  {roles}"
        )
    lines.append("")
    lines.extend(f"{LEVELS.get(d['level'], d['level'])}: {d['message']}" for d in document["diagnosis"])
    lines.extend(_(NOTICE).format(message=notice) for notice in document["notices"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    from models.score.analysis import analyze, to_json_dict

    result = load_and_extract(args)
    check_word_level(args, result)
    analysis = analyze(result, exclude_special=args.exclude_special, view=args.view)
    document = to_json_dict(result, analysis, word_level=args.word_level)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_table(document)
