"""Command line for the attention analysis engine.

  python cli.py analyze TEXT [--pair TEXT_B] [--model KEY_OR_PATH] [--window W]
                             [--global POS ...] [--exclude-special] [--format json|table]
  python cli.py models

Bad input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A bad input, reported as one line on stderr."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    from models.registry import DEFAULT_MODEL, DEFAULT_WINDOW

    parser = Parser(prog="cli.py", description="Attention-map analysis of BERT and Longformer heads.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    analyze = commands.add_parser("analyze", help="analyse one sentence or sentence pair")
    analyze.add_argument("text", help="the sentence to analyse")
    analyze.add_argument("--pair", metavar="TEXT_B", help="second sentence of a pair")
    analyze.add_argument("--model", default=DEFAULT_MODEL, help="registry key or local model directory")
    analyze.add_argument("--window", default=DEFAULT_WINDOW, help="Longformer attention window (even)")
    analyze.add_argument("--global", dest="global_positions", type=int, nargs="+", metavar="POS",
                         help="Longformer global token positions (default: [CLS])")
    analyze.add_argument("--exclude-special", action="store_true",
                         help="leave special tokens' query rows out of the averages")
    analyze.add_argument("--format", choices=("json", "table"), default="json")
    commands.add_parser("models", help="list the model registry")
    return parser


def run_models() -> str:
    from models.registry import REGISTRY

    width = max(len(key) for key in REGISTRY)
    return "\n".join(
        f"{spec.key:<{width}}  {spec.family:<10}  {spec.max_tokens:>5} tokens  {spec.description}"
        for spec in REGISTRY.values()
    )


def format_table(document: dict) -> str:
    model = document["model"]
    lines = [
        f"model {model['key']} ({model['family']}, {model['layers']} layers × {model['heads']} heads)",
        f"tokens ({len(document['tokens'])}): {' '.join(document['tokens'])}",
        "",
        f"{'layer':>5} {'cls':>6} {'sep':>6} {'diag':>6} {'entropy':>7} {'cls_out':>7}  roles",
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
    lines.extend(f"{d['level']}: {d['message']}" for d in document["diagnosis"])
    lines.extend(f"notice: {notice}" for notice in document["notices"])
    return "\n".join(lines)


def run_analyze(args: argparse.Namespace) -> str:
    from models.analysis import analyze, to_json_dict
    from models.extract import InputError, extract
    from models.loading import ModelLoadError, load_model

    if not args.text.strip():
        raise CliError("the text is empty: give a sentence to analyse")
    try:
        loaded = load_model(args.model, args.window)
        result = extract(loaded, args.text, args.pair, args.global_positions)
    except (ModelLoadError, InputError) as error:
        raise CliError(str(error)) from None
    document = to_json_dict(result, analyze(result, exclude_special=args.exclude_special))
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_table(document)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        output = run_models() if args.command == "models" else run_analyze(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
