"""`cli.py rollout TEXT`: attention rollout (Abnar & Zuidema 2020) of chosen query tokens,
in either view, over tokens or words."""

from __future__ import annotations

import argparse
import json

from commands.analyze import check_word_level
from commands.base import CliError, add_device, add_format, add_input, add_view_options, load_and_extract
from i18n import _

ROLLOUT_TOP = 5  # the table shows each layer's largest sources
ROLLOUT_DECIMALS = 6


def add_parser(commands) -> None:
    rollout = commands.add_parser("rollout", help=_("attention rollout (Abnar & Zuidema 2020) of chosen query tokens"))
    add_input(rollout)
    rollout.add_argument(
        "--query",
        type=int,
        nargs="+",
        metavar="POS",
        help=_("query positions (words with --word-level; default: the [CLS] position)"),
    )
    add_format(rollout)
    add_view_options(rollout)
    add_device(rollout)


def run(args: argparse.Namespace) -> str:
    from models.score.rollout import check_queries, query_rollout
    from models.score.words import word_rollout

    result = load_and_extract(args)
    check_word_level(args, result)
    try:
        if args.word_level:
            words, queries, rows = word_rollout(result, args.query, args.view)
            labels = list(words.labels)
        else:
            queries = check_queries(result, args.query)
            rows, labels = query_rollout(result, queries, args.view), list(result.tokens)
    except ValueError as error:
        raise CliError(str(error)) from None
    document = {
        "model": result.model.key,
        "view": args.view,
        "word_level": args.word_level,
        "tokens": labels,
        "queries": list(queries),
        "rollout": [[[round(float(v), ROLLOUT_DECIMALS) for v in layer] for layer in row] for row in rows],
    }
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_rollout_table(document)


def format_rollout_table(document: dict) -> str:
    tokens = document["tokens"]
    heading = (
        _("rollout ({view} view, Abnar & Zuidema 2020) on {model}, {count} words")
        if document["word_level"]
        else _("rollout ({view} view, Abnar & Zuidema 2020) on {model}, {count} tokens")
    )
    lines = [heading.format(view=document["view"], model=document["model"], count=len(tokens))]
    for query, layers in zip(document["queries"], document["rollout"]):
        lines.append("")
        lines.append(
            _("query {query} {token}: largest sources after each layer").format(query=query, token=repr(tokens[query]))
        )
        for layer, row in enumerate(layers):
            top = sorted(range(len(row)), key=lambda j: -row[j])[:ROLLOUT_TOP]
            lines.append(f"{layer + 1:>5}  " + ", ".join(f"{tokens[j]} {row[j]:.3f}" for j in top))
    return "\n".join(lines)
