"""Command line for the attention analysis engine.

  python cli.py analyze TEXT [--pair TEXT_B] [--model KEY_OR_PATH] [--window W]
                             [--global POS ...] [--exclude-special] [--format json|table]
                             [--view weight|norm] [--word-level]
  python cli.py rollout TEXT [--pair TEXT_B] [--query POS ...] [--model KEY_OR_PATH] [--window W]
                             [--global POS ...] [--view weight|norm] [--word-level]
                             [--format json|table]
  python cli.py sparse TEXT --pattern local|dilated|global|longformer|bigbird|lsh|topk
                            [--window W] [--dilation D] [--global POS ...] [--block B]
                            [--random R] [--buckets K] [--topk K] [--seed S] [--share F]
                            [--pair TEXT_B] [--model KEY_OR_PATH] [--format json|table]
  python cli.py plot TEXT --layer L --head H [--pair TEXT_B] [--model KEY_OR_PATH] [--window W]
                         [--global POS ...] [--kind head|grid|overview|partition] [--score NAME]
                         [--view weight|norm] [--word-level]
                         [--font-size PX] [--width PX] [--scale S] --format png|svg|pdf|html -o FILE
  python cli.py compare TEXT --model-a KEY_OR_PATH --model-b KEY_OR_PATH [--pair TEXT_B]
                           [--exclude-special] [--top K] [--format json|table]
  python cli.py corpus FILE [--column NAME] [--pair-column NAME] [--model KEY_OR_PATH] [--window W]
                            [--batch-size B] [--limit N] [--engine local|ray] [--top K]
                            [--format json|table]   (all options: corpus_cli.py)
  python cli.py models

A window W means W/2 tokens on each side, as in Longformer: --window 2 allows |i − j| ≤ 1.

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


def window_argument(minimum: int):
    """An argparse type: the project's one window rule, its message kept on error."""
    from models.window import validate_window

    def parse(value: str) -> int:
        try:
            return validate_window(value, minimum=minimum)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    from models.registry import DEFAULT_MODEL
    from models.window import MIN_WINDOW, PATTERN_MIN_WINDOW

    parser = Parser(prog="cli.py", description="Attention-map analysis of BERT and Longformer heads.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    analyze = commands.add_parser("analyze", help="analyse one sentence or sentence pair")
    analyze.add_argument("text", help="the sentence to analyse")
    analyze.add_argument("--pair", metavar="TEXT_B", help="second sentence of a pair")
    analyze.add_argument("--model", default=DEFAULT_MODEL, help="registry key or local model directory")
    analyze.add_argument("--window", type=window_argument(MIN_WINDOW),
                         help="Longformer attention window (even; default 16 for windowed models)")
    analyze.add_argument("--global", dest="global_positions", type=int, nargs="+", metavar="POS",
                         help="Longformer global token positions (default: [CLS])")
    analyze.add_argument("--exclude-special", action="store_true",
                         help="leave special tokens' query rows out of the averages")
    analyze.add_argument("--format", choices=("json", "table"), default="json")
    add_view_options(analyze)
    add_rollout_parser(commands)
    commands.add_parser("models", help="list the model registry")
    add_plot_parser(commands)
    from compare_cli import add_compare_parser

    add_compare_parser(commands)

    from models.sparse import PATTERNS, PatternParams

    defaults = PatternParams()
    sparse = commands.add_parser("sparse", help="measure a sparse attention pattern against the real attention")
    sparse.add_argument("text", help="the sentence to analyse")
    sparse.add_argument("--pattern", choices=PATTERNS, required=True)
    sparse.add_argument("--pair", metavar="TEXT_B", help="second sentence of a pair")
    sparse.add_argument("--model", default=DEFAULT_MODEL, help="registry key or local model directory (dense runs)")
    sparse.add_argument("--window", type=window_argument(PATTERN_MIN_WINDOW), default=defaults.window,
                        help="local window W (W/2 each side)")
    sparse.add_argument("--dilation", type=int, default=defaults.dilation)
    sparse.add_argument("--global", dest="global_positions", type=int, nargs="+", metavar="POS",
                        help="global token positions (default: [CLS])")
    sparse.add_argument("--block", type=int, default=defaults.block, help="BigBird block size")
    sparse.add_argument("--random", type=int, default=defaults.random_blocks, help="BigBird random blocks per query block")
    sparse.add_argument("--buckets", type=int, default=defaults.buckets, help="LSH buckets (even)")
    sparse.add_argument("--topk", type=int, default=defaults.topk, help="keys kept per query for topk")
    sparse.add_argument("--seed", type=int, default=defaults.seed)
    sparse.add_argument("--share", type=float, default=0.9, help="share of the mass for the minimum window")
    sparse.add_argument("--format", choices=("json", "table"), default="json")

    from corpus_cli import add_corpus_parser

    add_corpus_parser(commands)
    return parser


def add_plot_parser(commands) -> None:
    from models.registry import DEFAULT_MODEL
    from models.scores import SCORE_NAMES
    from models.window import MIN_WINDOW
    from viz.figures import FIGURE_KINDS
    from viz.layout import DEFAULT_FONT

    plot = commands.add_parser("plot", help="write one of the app's figures as PNG, SVG, PDF or HTML")
    plot.add_argument("text", help="the sentence to analyse")
    plot.add_argument("--layer", type=int, default=1, help="1-based layer (as in the app)")
    plot.add_argument("--head", type=int, default=1, help="1-based head (as in the app)")
    plot.add_argument("--pair", metavar="TEXT_B", help="second sentence of a pair")
    plot.add_argument("--model", default=DEFAULT_MODEL, help="registry key or local model directory")
    plot.add_argument("--window", type=window_argument(MIN_WINDOW), help="Longformer attention window (even)")
    plot.add_argument("--global", dest="global_positions", type=int, nargs="+", metavar="POS",
                      help="Longformer global token positions (default: [CLS])")
    plot.add_argument("--kind", choices=FIGURE_KINDS, default="head",
                      help="head heatmap, every head of the layer, a score over layers × heads, or the role split")
    plot.add_argument("--score", choices=SCORE_NAMES, default="cls", help="the score of --kind overview")
    plot.add_argument("--font-size", type=int, default=DEFAULT_FONT, help="tick label size in px")
    plot.add_argument("--width", type=int, help="canvas width in px (default: sized to the tokens)")
    plot.add_argument("--scale", type=float, default=2.0, help="PNG pixel density (default 2)")
    plot.add_argument("--format", choices=("png", "svg", "pdf", "html"), required=True)
    plot.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the figure")
    add_view_options(plot)


def run_plot(args: argparse.Namespace) -> str:
    from pathlib import Path

    from models.analysis import analyze
    from models.extract import InputError, extract
    from models.loading import ModelLoadError, load_model
    from models.views import shown
    from viz import export
    from viz.figures import figure_of
    from viz.layout import FigureSettings

    if not args.text.strip():
        raise CliError("the text is empty: give a sentence to analyse")
    output = Path(args.output)
    if not output.parent.is_dir():
        raise CliError(f"cannot write {output}: the folder {output.parent} does not exist")
    try:
        settings = FigureSettings(font_size=args.font_size, width=args.width, scale=args.scale)
        loaded = load_model(args.model, args.window)
        result = extract(loaded, args.text, args.pair, args.global_positions)
        drawn = shown(result, args.view, "words" if args.word_level else "tokens")
        analysis = analyze(result, view=args.view)
        fig = figure_of(args.kind, drawn, analysis, args.layer, args.head, args.score, settings)
        data = export.figure_html(fig) if args.format == "html" else export.figure_image(fig, args.format, args.scale)
    except (ModelLoadError, InputError, ValueError, export.ExportUnavailable) as error:
        raise CliError(str(error)) from None
    try:
        output.write_bytes(data)
    except OSError as error:
        raise CliError(f"cannot write {output}: {error.strerror}") from None
    return f"wrote {output} ({len(data):,} bytes, {args.kind}, layer {args.layer}, head {args.head})"


def run_models() -> str:
    from models.registry import REGISTRY

    width = max(len(key) for key in REGISTRY)
    return "\n".join(
        f"{spec.key:<{width}}  {spec.family:<10}  {spec.max_tokens:>5} tokens  {spec.description}"
        for spec in REGISTRY.values()
    )


TABLE_TOKENS = 64  # the table lists at most this many tokens; JSON has them all


def _token_line(tokens: list[str]) -> str:
    shown = " ".join(tokens[:TABLE_TOKENS])
    return shown if len(tokens) <= TABLE_TOKENS else f"{shown} … ({len(tokens) - TABLE_TOKENS} more)"


def format_table(document: dict) -> str:
    model = document["model"]
    lines = [
        f"model {model['key']} ({model['family']}, {model['layers']} layers × {model['heads']} heads), "
        f"{document.get('view', 'weight')} view",
        f"tokens ({len(document['tokens'])}): {_token_line(document['tokens'])}",
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
    check_word_level(args, result)
    analysis = analyze(result, exclude_special=args.exclude_special, view=args.view)
    document = to_json_dict(result, analysis, word_level=args.word_level)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_table(document)


# --- views, word level and rollout (issue 9) ---

WORD_LEVEL_LIMIT = 512  # word merges build [N, W] matrices: dense inputs only
ROLLOUT_TOP = 5  # the table shows each layer's largest sources
ROLLOUT_DECIMALS = 6


def add_view_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--view", choices=("weight", "norm"), default="weight",
                        help="attention weights, or what the heads move: α·‖f(x)‖ (Kobayashi et al. 2020)")
    parser.add_argument("--word-level", action="store_true",
                        help="merge word pieces into words in attention exports and rollout")


def add_rollout_parser(commands) -> None:
    from models.registry import DEFAULT_MODEL
    from models.window import MIN_WINDOW

    rollout = commands.add_parser("rollout", help="attention rollout (Abnar & Zuidema 2020) of chosen query tokens")
    rollout.add_argument("text", help="the sentence to analyse")
    rollout.add_argument("--pair", metavar="TEXT_B", help="second sentence of a pair")
    rollout.add_argument("--query", type=int, nargs="+", metavar="POS",
                         help="query positions (words with --word-level; default: the [CLS] position)")
    rollout.add_argument("--model", default=DEFAULT_MODEL, help="registry key or local model directory")
    rollout.add_argument("--window", type=window_argument(MIN_WINDOW),
                         help="Longformer attention window (even; default 16 for windowed models)")
    rollout.add_argument("--global", dest="global_positions", type=int, nargs="+", metavar="POS",
                         help="Longformer global token positions (default: [CLS])")
    rollout.add_argument("--format", choices=("json", "table"), default="json")
    add_view_options(rollout)


def check_word_level(args: argparse.Namespace, result) -> None:
    if args.word_level and result.n_tokens > WORD_LEVEL_LIMIT:
        raise CliError(f"--word-level works on inputs up to {WORD_LEVEL_LIMIT} tokens; this one has {result.n_tokens}")


def run_rollout(args: argparse.Namespace) -> str:
    from models.extract import InputError, extract
    from models.loading import ModelLoadError, load_model
    from models.rollout import check_queries, query_rollout
    from models.words import word_rollout

    if not args.text.strip():
        raise CliError("the text is empty: give a sentence to analyse")
    try:
        loaded = load_model(args.model, args.window)
        result = extract(loaded, args.text, args.pair, args.global_positions)
    except (ModelLoadError, InputError) as error:
        raise CliError(str(error)) from None
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
    lines = [f"rollout ({document['view']} view, Abnar & Zuidema 2020) on {document['model']}, {len(tokens)} "
             f"{'words' if document['word_level'] else 'tokens'}"]
    for query, layers in zip(document["queries"], document["rollout"]):
        lines.append("")
        lines.append(f"query {query} {tokens[query]!r}: largest sources after each layer")
        for layer, row in enumerate(layers):
            top = sorted(range(len(row)), key=lambda j: -row[j])[:ROLLOUT_TOP]
            lines.append(f"{layer + 1:>5}  " + ", ".join(f"{tokens[j]} {row[j]:.3f}" for j in top))
    return "\n".join(lines)


SPARSE_DECIMALS = 6


def run_sparse(args: argparse.Namespace) -> str:
    from models.extract import InputError, extract
    from models.loading import ModelLoadError, load_model
    from models.sparse import PatternParams, explore

    if not args.text.strip():
        raise CliError("the text is empty: give a sentence to analyse")
    if not 0 < args.share <= 1:
        raise CliError(f"--share must be above 0 and at most 1; got {args.share}")
    try:
        result = extract(load_model(args.model), args.text, args.pair)
    except (ModelLoadError, InputError) as error:
        raise CliError(str(error)) from None
    if result.is_banded:
        raise CliError(f"sparse patterns are measured on N×N attention; this input has {result.n_tokens} tokens (at most 512)")
    globals_ = tuple(args.global_positions) if args.global_positions else result.cls_positions[:1]
    params = PatternParams(
        window=args.window, dilation=args.dilation, global_positions=globals_, block=args.block,
        random_blocks=args.random, buckets=args.buckets, topk=args.topk, seed=args.seed,
    )
    try:
        report = explore(result.layer_attention, args.pattern, params, args.share, result.queries, result.keys)
    except ValueError as error:
        raise CliError(str(error)) from None
    document = {
        "pattern": args.pattern,
        "model": result.model.key,
        "tokens": list(result.tokens),
        "params": {
            "window": params.window, "dilation": params.dilation, "global": list(params.global_positions),
            "block": params.block, "random": params.random_blocks, "buckets": params.buckets,
            "topk": params.topk, "seed": params.seed,
        },
        "density": round(float(report.density), SPARSE_DECIMALS),
        "computed": int(report.computed),
        "total": report.n * report.n,
        "complexity": report.complexity,
        "coverage": [[round(float(v), SPARSE_DECIMALS) for v in row] for row in report.coverage],
        "layer_coverage": [round(float(v), SPARSE_DECIMALS) for v in report.layer_coverage],
        "topk_same_density": [[round(float(v), SPARSE_DECIMALS) for v in row] for row in report.oracle],
        "share": args.share,
        "min_window": [int(w) for w in report.min_window],
    }
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    lines = [
        f"pattern {args.pattern} on {result.model.key}, {report.n} tokens",
        f"density {report.density:.3f} ({report.computed} of {report.n * report.n} scores), {report.complexity}",
        "",
        f"{'layer':>5} {'coverage':>9} {'top-k same density':>19} {'min window':>11}",
    ]
    for layer, coverage in enumerate(report.layer_coverage):
        lines.append(
            f"{layer + 1:>5} {coverage:>9.3f} {report.oracle[layer].mean():>19.3f} {int(report.min_window[layer]):>11}"
        )
    lines.append(f"(min window keeps {args.share:.0%} of each layer's attention)")
    return "\n".join(lines)


def run_compare(args: argparse.Namespace) -> str:
    from compare_cli import run_compare as compare

    return compare(args, CliError)


def run_corpus(args: argparse.Namespace) -> str:
    from corpus_cli import run_corpus_command

    return run_corpus_command(args, CliError)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        commands = {
            "models": lambda _args: run_models(), "analyze": run_analyze, "sparse": run_sparse, "plot": run_plot,
            "rollout": run_rollout, "compare": run_compare, "corpus": run_corpus,
        }
        output = commands[args.command](args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
