"""`cli.py compare`: two models on the same input (see models/compare.py and the README).

  python cli.py compare TEXT --model-a KEY_OR_PATH --model-b KEY_OR_PATH [--pair TEXT_B]
                             [--exclude-special] [--top K] [--format json|table]
"""

from __future__ import annotations

import argparse
import json

TABLE_HEADS = 10


def add_compare_parser(commands) -> None:
    compare = commands.add_parser("compare", help="compare two models' heads on the same input")
    compare.add_argument("text", help="the sentence to analyse")
    compare.add_argument("--model-a", required=True, metavar="KEY_OR_PATH", help="model A: registry key or local directory")
    compare.add_argument("--model-b", required=True, metavar="KEY_OR_PATH", help="model B: registry key or local directory")
    compare.add_argument("--pair", metavar="TEXT_B", help="second sentence of a pair")
    compare.add_argument("--exclude-special", action="store_true",
                         help="leave special tokens' query rows out of the averages")
    compare.add_argument("--top", type=int, default=10, help="how many changed heads to list (default 10)")
    compare.add_argument("--format", choices=("json", "table"), default="json")


def run_compare(args: argparse.Namespace, error: type[Exception]) -> str:
    """The JSON document or the table; bad input raises `error` (cli.CliError) with one line."""
    from models.compare import compare_models, to_json_dict
    from models.extract import InputError
    from models.loading import ModelLoadError, load_model

    if not args.text.strip():
        raise error("the text is empty: give a sentence to analyse")
    if args.top < 1:
        raise error(f"--top must be at least 1; got {args.top}")
    try:
        loaded_a = load_model(args.model_a)
        loaded_b = loaded_a if args.model_b == args.model_a else load_model(args.model_b)
        comparison = compare_models(loaded_a, loaded_b, args.text, args.pair, args.exclude_special, args.top)
    except (ModelLoadError, InputError) as problem:
        raise error(str(problem)) from None
    document = to_json_dict(comparison)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_compare_table(document)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def format_compare_table(document: dict) -> str:
    a, b = document["a"]["model"], document["b"]["model"]
    lines = [
        f"A: {a['key']} ({a['family']}, {a['layers']} × {a['heads']})   B: {b['key']} ({b['family']}, {b['layers']} × {b['heads']})",
        f"aligned: {'yes, head by head' if document['aligned'] else 'no, layer by layer'}",
        "",
    ]
    if document["aligned"]:
        lines.append(f"{'layer':>5} {'similarity':>10} {'Δcls':>7} {'Δsep':>7} {'Δdiag':>7} {'Δentropy':>8}  (head means)")
        diff = document["diff"]
        for layer, similarity in enumerate(document["similarity"]):
            lines.append(
                f"{layer + 1:>5} {_mean(similarity):>10.3f} {_mean(diff['cls'][layer]):>+7.3f} "
                f"{_mean(diff['sep'][layer]):>+7.3f} {_mean(diff['diagonal'][layer]):>+7.3f} "
                f"{_mean(diff['entropy'][layer]):>+8.3f}"
            )
        lines += ["", "most changed heads (layer.head similarity: role before → after)"]
        if not document["changed"]:
            lines.append("  (none)")
        for change in document["changed"][:TABLE_HEADS]:
            lines.append(
                f"  {change['layer']}.{change['head']}  {change['similarity']:.3f}: {change['role_before']} → "
                f"{change['role_after']}  (cls {change['before']['cls']:.2f} → {change['after']['cls']:.2f}, "
                f"sep {change['before']['sep']:.2f} → {change['after']['sep']:.2f})"
            )
    else:
        lines.append(f"{'A layer':>7} {'B layer':>7} {'A cls':>6} {'B cls':>6} {'A sep':>6} {'B sep':>6}")
        layers = document["layers"]
        for la, lb in layers["matched"]:
            sa, sb = layers["a"][la - 1]["scores"], layers["b"][lb - 1]["scores"]
            lines.append(f"{la:>7} {lb:>7} {sa['cls']:>6.3f} {sb['cls']:>6.3f} {sa['sep']:>6.3f} {sb['sep']:>6.3f}")
    lines.append("")
    lines += [f"summary: {message}" for message in document["summary"]]
    lines += [f"notice: {notice}" for notice in document["notices"]]
    return "\n".join(lines)
