"""`cli.py plot TEXT`: one of the app's figures written as PNG, SVG, PDF or HTML, the same
as the app's export (viz.figures.figure_of)."""

from __future__ import annotations

import argparse

from commands.base import CliError, add_device, add_input, add_view_options, check_text, load_and_extract
from i18n import N_, _


def add_parser(commands) -> None:
    from models.score.scores import SCORE_NAMES
    from viz.figures import FIGURE_KINDS
    from viz.layout import DEFAULT_FONT

    plot = commands.add_parser("plot", help=_("write one of the app's figures as PNG, SVG, PDF or HTML"))
    add_input(plot)
    plot.add_argument("--layer", type=int, default=1, help=_("1-based layer (as in the app)"))
    plot.add_argument("--head", type=int, default=1, help=_("1-based head (as in the app)"))
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
    add_device(plot)


def run(args: argparse.Namespace) -> str:
    from pathlib import Path

    from models.score.analysis import analyze
    from models.score.views import shown
    from viz import export
    from viz.figures import figure_of
    from viz.layout import FigureSettings

    check_text(args.text)  # before the folder check: the first problem is the text's
    output = Path(args.output)
    if not output.parent.is_dir():
        raise CliError(
            N_("cannot write {output}: the folder {folder} does not exist").format(output=output, folder=output.parent)
        )
    try:
        settings = FigureSettings(font_size=args.font_size, width=args.width, scale=args.scale)
        result = load_and_extract(args)  # its own errors are CliError already
        drawn = shown(result, args.view, "words" if args.word_level else "tokens")
        analysis = analyze(result, view=args.view)
        fig = figure_of(args.kind, drawn, analysis, args.layer, args.head, args.score, settings)
        data = export.figure_html(fig) if args.format == "html" else export.figure_image(fig, args.format, args.scale)
    except (ValueError, export.ExportUnavailable) as error:
        raise CliError(str(error)) from None
    try:
        output.write_bytes(data)
    except OSError as error:
        raise CliError(N_("cannot write {output}: {reason}").format(output=output, reason=error.strerror)) from None
    return str(
        N_("wrote {output} ({size} bytes, {kind}, layer {layer}, head {head})").format(
            output=output, size=f"{len(data):,}", kind=args.kind, layer=args.layer, head=args.head
        )
    )
