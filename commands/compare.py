"""`cli.py compare`: two models on the same input (see models/compare/heads.py and the README).

python cli.py compare TEXT --model-a KEY_OR_PATH --model-b KEY_OR_PATH [--pair TEXT_B]
                           [--exclude-special] [--top K] [--format json|table]
python cli.py compare --corpus FILE --model-a KEY_OR_PATH --model-b KEY_OR_PATH [--limit N]
                      [--column NAME] [--pair-column NAME] [--view weight|norm] [--format json|table]

The corpus form is commands/compare_corpus.py (models/corpus/compare.py).
"""

from __future__ import annotations

import argparse
import json

from commands.base import CliError, add_device, add_exclude_special, add_format, add_pair, add_text
from commands.compare_corpus import add_corpus_arguments, run_compare_corpus
from commands.lang import COLUMN_LAYER, ERR_EMPTY_TEXT, pad
from i18n import N_, _

TABLE_HEADS = 10
COLUMN_SIMILARITY = N_("similarity")
COLUMN_A_LAYER = N_("A layer")
COLUMN_B_LAYER = N_("B layer")
HEAD_MEANS = N_("(head means)")


def add_parser(commands) -> None:
    compare = commands.add_parser("compare", help=_("compare two models' heads on the same input"))
    add_text(compare, optional=True)
    compare.add_argument(
        "--model-a", required=True, metavar="KEY_OR_PATH", help=_("model A: registry key or local directory")
    )
    compare.add_argument(
        "--model-b", required=True, metavar="KEY_OR_PATH", help=_("model B: registry key or local directory")
    )
    add_pair(compare)
    add_exclude_special(compare)
    compare.add_argument("--top", type=int, default=10, help=_("how many changed heads to list (default 10)"))
    add_format(compare)
    add_corpus_arguments(compare)
    add_device(compare)


def run(args: argparse.Namespace) -> str:
    """The JSON document or the table; bad input raises CliError with one line."""
    from models.compare.heads import compare_models, to_json_dict
    from models.extract.attention import InputError
    from models.load.loading import ModelLoadError, load_model

    if args.corpus is not None and args.text is not None:
        raise CliError(N_("give either TEXT or --corpus FILE, not both"))
    if args.corpus is None and args.text is None:
        raise CliError(N_("give the TEXT to compare on, or --corpus FILE"))
    if args.corpus is None and not args.text.strip():
        raise CliError(ERR_EMPTY_TEXT)
    if args.top < 1:
        raise CliError(N_("--top must be at least 1; got {top}").format(top=args.top))
    if args.corpus is not None:
        return run_compare_corpus(args)
    try:
        loaded_a = load_model(args.model_a, device=args.device)
        loaded_b = loaded_a if args.model_b == args.model_a else load_model(args.model_b, device=args.device)
        comparison = compare_models(loaded_a, loaded_b, args.text, args.pair, args.exclude_special, args.top)
    except (ModelLoadError, InputError) as problem:
        raise CliError(str(problem)) from None
    document = to_json_dict(comparison)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_compare_table(document)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def format_compare_table(document: dict) -> str:
    """The comparison as a table: headers and messages in the active language; score and role
    names stay the JSON's identifiers."""
    a, b = document["a"]["model"], document["b"]["model"]
    lines = [
        f"A: {a['key']} ({a['family']}, {a['layers']} × {a['heads']})   "
        f"B: {b['key']} ({b['family']}, {b['layers']} × {b['heads']})",
        _("aligned: yes, head by head") if document["aligned"] else _("aligned: no, layer by layer"),
        "",
    ]
    if document["aligned"]:
        lines.append(
            f"{pad(COLUMN_LAYER, 5)} {pad(COLUMN_SIMILARITY, 10)} {'Δcls':>7} {'Δsep':>7} {'Δdiag':>7} "
            f"{'Δentropy':>8}  {HEAD_MEANS}"
        )
        diff = document["diff"]
        for layer, similarity in enumerate(document["similarity"]):
            lines.append(
                f"{layer + 1:>5} {_mean(similarity):>10.3f} {_mean(diff['cls'][layer]):>+7.3f} "
                f"{_mean(diff['sep'][layer]):>+7.3f} {_mean(diff['diagonal'][layer]):>+7.3f} "
                f"{_mean(diff['entropy'][layer]):>+8.3f}"
            )
        lines += ["", _("most changed heads (layer.head similarity: role before → after)")]
        if not document["changed"]:
            lines.append("  " + _("(none)"))
        for change in document["changed"][:TABLE_HEADS]:
            lines.append(
                f"  {change['layer']}.{change['head']}  {change['similarity']:.3f}: {change['role_before']} → "
                f"{change['role_after']}  (cls {change['before']['cls']:.2f} → {change['after']['cls']:.2f}, "
                f"sep {change['before']['sep']:.2f} → {change['after']['sep']:.2f})"
            )
    else:
        lines.append(
            f"{pad(COLUMN_A_LAYER, 7)} {pad(COLUMN_B_LAYER, 7)} {'A cls':>6} {'B cls':>6} {'A sep':>6} {'B sep':>6}"
        )
        layers = document["layers"]
        for la, lb in layers["matched"]:
            sa, sb = layers["a"][la - 1]["scores"], layers["b"][lb - 1]["scores"]
            lines.append(f"{la:>7} {lb:>7} {sa['cls']:>6.3f} {sb['cls']:>6.3f} {sa['sep']:>6.3f} {sb['sep']:>6.3f}")
    lines.append("")
    lines += [_("summary: {message}").format(message=message) for message in document["summary"]]
    lines += [_("notice: {message}").format(message=notice) for notice in document["notices"]]
    return "\n".join(lines)
