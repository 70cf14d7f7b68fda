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
  python cli.py mixing TEXT [--pair TEXT_B] [--model KEY_OR_PATH] [--measure NAME ...]
                           [--format json|table]   (context mixing: mixing_cli.py)
  python cli.py models

Every command takes --lang ja|en (default from LANG) for its messages and tables; JSON keys
and role/score identifiers stay English.

A window W means W/2 tokens on each side, as in Longformer: --window 2 allows |i − j| ≤ 1.

Bad input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from cli_lang import (
    COLUMN_LAYER,
    COLUMN_ROLES,
    ERR_EMPTY_TEXT,
    ERROR_LINE,
    HelpFormatter,
    add_help_option,
    add_language_option,
    pad,
    preparse_language,
    translate_argparse,
)
from i18n import N_, _, reset_language, set_language

EXIT_BAD_INPUT = 2

ERR_NO_FOLDER = N_("cannot write {output}: the folder {folder} does not exist")
ERR_WRITE = N_("cannot write {output}: {reason}")
ERR_WORD_LEVEL = N_("--word-level works on inputs up to {limit} tokens; this one has {n}")
WROTE = N_("wrote {output} ({size} bytes, {kind}, layer {layer}, head {head})")


class CliError(Exception):
    """A bad input, reported as one line on stderr."""


class Parser(argparse.ArgumentParser):
    """argparse with its help and errors in the active language; errors raise CliError."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        add_help_option(self)

    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        raise CliError(translate_argparse(message))


def window_argument(minimum: int):
    """An argparse type: the project's one window rule, its message kept on error."""
    from models.extract.window import validate_window

    def parse(value: str) -> int:
        try:
            return validate_window(value, minimum=minimum)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    from models.extract.window import MIN_WINDOW
    from models.load.registry import DEFAULT_MODEL

    parser = Parser(prog="cli.py", description=_("Attention-map analysis of BERT and Longformer heads."))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    analyze = commands.add_parser("analyze", help=_("analyse one sentence or sentence pair"))
    analyze.add_argument("text", help=_("the sentence to analyse"))
    analyze.add_argument("--pair", metavar="TEXT_B", help=_("second sentence of a pair"))
    analyze.add_argument("--model", default=DEFAULT_MODEL, help=_("registry key or local model directory"))
    analyze.add_argument(
        "--window",
        type=window_argument(MIN_WINDOW),
        help=_("Longformer attention window (even; default 16 for windowed models)"),
    )
    analyze.add_argument(
        "--global",
        dest="global_positions",
        type=int,
        nargs="+",
        metavar="POS",
        help=_("Longformer global token positions (default: [CLS])"),
    )
    analyze.add_argument(
        "--exclude-special", action="store_true", help=_("leave special tokens' query rows out of the averages")
    )
    analyze.add_argument("--format", choices=("json", "table"), default="json")
    add_view_options(analyze)
    add_rollout_parser(commands)
    commands.add_parser("models", help=_("list the model registry"))
    add_plot_parser(commands)
    from compare_cli import add_compare_parser

    add_compare_parser(commands)

    from sparse_cli import add_sparse_parser

    add_sparse_parser(commands, window_argument)

    from corpus_cli import add_corpus_parser

    add_corpus_parser(commands)

    from mixing_cli import add_mixing_parser

    add_mixing_parser(commands)
    for name, command in commands.choices.items():
        if name != "models":
            add_device_option(command)
    add_language_option(parser, commands)
    return parser


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """--device, declared once for every command that runs a model (models.load.device)."""
    from models.load.device import DEVICE_CHOICES

    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help=_("where the model runs: auto (a CUDA GPU when there is one), cpu or cuda"),
    )


def add_plot_parser(commands) -> None:
    from models.extract.window import MIN_WINDOW
    from models.load.registry import DEFAULT_MODEL
    from models.score.scores import SCORE_NAMES
    from viz.figures import FIGURE_KINDS
    from viz.layout import DEFAULT_FONT

    plot = commands.add_parser("plot", help=_("write one of the app's figures as PNG, SVG, PDF or HTML"))
    plot.add_argument("text", help=_("the sentence to analyse"))
    plot.add_argument("--layer", type=int, default=1, help=_("1-based layer (as in the app)"))
    plot.add_argument("--head", type=int, default=1, help=_("1-based head (as in the app)"))
    plot.add_argument("--pair", metavar="TEXT_B", help=_("second sentence of a pair"))
    plot.add_argument("--model", default=DEFAULT_MODEL, help=_("registry key or local model directory"))
    plot.add_argument("--window", type=window_argument(MIN_WINDOW), help=_("Longformer attention window (even)"))
    plot.add_argument(
        "--global",
        dest="global_positions",
        type=int,
        nargs="+",
        metavar="POS",
        help=_("Longformer global token positions (default: [CLS])"),
    )
    plot.add_argument(
        "--kind",
        choices=FIGURE_KINDS,
        default="head",
        help=_("head heatmap, every head of the layer, a score over layers × heads, or the role split"),
    )
    plot.add_argument("--score", choices=SCORE_NAMES, default="cls", help=_("the score of --kind overview"))
    plot.add_argument("--font-size", type=int, default=DEFAULT_FONT, help=_("tick label size in px"))
    plot.add_argument("--width", type=int, help=_("canvas width in px (default: sized to the tokens)"))
    plot.add_argument("--scale", type=float, default=2.0, help=_("PNG pixel density (default 2)"))
    plot.add_argument("--format", choices=("png", "svg", "pdf", "html"), required=True)
    plot.add_argument("-o", "--output", required=True, metavar="FILE", help=_("where to write the figure"))
    add_view_options(plot)


def run_plot(args: argparse.Namespace) -> str:
    from pathlib import Path

    from models.extract.attention import InputError, extract
    from models.load.loading import ModelLoadError, load_model
    from models.score.analysis import analyze
    from models.score.views import shown
    from viz import export
    from viz.figures import figure_of
    from viz.layout import FigureSettings

    if not args.text.strip():
        raise CliError(ERR_EMPTY_TEXT)
    output = Path(args.output)
    if not output.parent.is_dir():
        raise CliError(ERR_NO_FOLDER.format(output=output, folder=output.parent))
    try:
        settings = FigureSettings(font_size=args.font_size, width=args.width, scale=args.scale)
        loaded = load_model(args.model, args.window, device=args.device)
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
        raise CliError(ERR_WRITE.format(output=output, reason=error.strerror)) from None
    return str(WROTE.format(output=output, size=f"{len(data):,}", kind=args.kind, layer=args.layer, head=args.head))


def run_models() -> str:
    from cli_lang import width
    from models.load.registry import REGISTRY

    key_width = max(len(key) for key in REGISTRY)
    limits = {key: _("{count} tokens").format(count=spec.max_tokens) for key, spec in REGISTRY.items()}
    limit_width = max(width(limit) for limit in limits.values())
    return "\n".join(
        f"{spec.key:<{key_width}}  {spec.family:<10}  {pad(limits[spec.key], limit_width)}  {spec.description}"
        for spec in REGISTRY.values()
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


def run_analyze(args: argparse.Namespace) -> str:
    from models.extract.attention import InputError, extract
    from models.load.loading import ModelLoadError, load_model
    from models.score.analysis import analyze, to_json_dict

    if not args.text.strip():
        raise CliError(ERR_EMPTY_TEXT)
    try:
        loaded = load_model(args.model, args.window, device=args.device)
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
    parser.add_argument(
        "--view",
        choices=("weight", "norm"),
        default="weight",
        help=_("attention weights, or what the heads move: α·‖f(x)‖ (Kobayashi et al. 2020)"),
    )
    parser.add_argument(
        "--word-level", action="store_true", help=_("merge word pieces into words in attention exports and rollout")
    )


def add_rollout_parser(commands) -> None:
    from models.extract.window import MIN_WINDOW
    from models.load.registry import DEFAULT_MODEL

    rollout = commands.add_parser("rollout", help=_("attention rollout (Abnar & Zuidema 2020) of chosen query tokens"))
    rollout.add_argument("text", help=_("the sentence to analyse"))
    rollout.add_argument("--pair", metavar="TEXT_B", help=_("second sentence of a pair"))
    rollout.add_argument(
        "--query",
        type=int,
        nargs="+",
        metavar="POS",
        help=_("query positions (words with --word-level; default: the [CLS] position)"),
    )
    rollout.add_argument("--model", default=DEFAULT_MODEL, help=_("registry key or local model directory"))
    rollout.add_argument(
        "--window",
        type=window_argument(MIN_WINDOW),
        help=_("Longformer attention window (even; default 16 for windowed models)"),
    )
    rollout.add_argument(
        "--global",
        dest="global_positions",
        type=int,
        nargs="+",
        metavar="POS",
        help=_("Longformer global token positions (default: [CLS])"),
    )
    rollout.add_argument("--format", choices=("json", "table"), default="json")
    add_view_options(rollout)


def check_word_level(args: argparse.Namespace, result) -> None:
    if args.word_level and result.n_tokens > WORD_LEVEL_LIMIT:
        raise CliError(ERR_WORD_LEVEL.format(limit=WORD_LEVEL_LIMIT, n=result.n_tokens))


def run_rollout(args: argparse.Namespace) -> str:
    from models.extract.attention import InputError, extract
    from models.load.loading import ModelLoadError, load_model
    from models.score.rollout import check_queries, query_rollout
    from models.score.words import word_rollout

    if not args.text.strip():
        raise CliError(ERR_EMPTY_TEXT)
    try:
        loaded = load_model(args.model, args.window, device=args.device)
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


def run_sparse(args: argparse.Namespace) -> str:
    from sparse_cli import run_sparse as sparse

    return sparse(args, CliError)


def run_compare(args: argparse.Namespace) -> str:
    from compare_cli import run_compare as compare

    return compare(args, CliError)


def run_corpus(args: argparse.Namespace) -> str:
    from corpus_cli import run_corpus_command

    return run_corpus_command(args, CliError)


def run_mixing(args: argparse.Namespace) -> str:
    from mixing_cli import run_mixing as mixing

    return mixing(args, CliError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    token = set_language(preparse_language(argv))  # this call's language: messages, help, tables
    try:
        args = build_parser().parse_args(argv)
        commands = {
            "models": lambda _args: run_models(),
            "analyze": run_analyze,
            "sparse": run_sparse,
            "plot": run_plot,
            "rollout": run_rollout,
            "compare": run_compare,
            "corpus": run_corpus,
            "mixing": run_mixing,
        }
        output = commands[args.command](args)
    except CliError as error:
        print(_(ERROR_LINE).format(message=error), file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        reset_language(token)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
