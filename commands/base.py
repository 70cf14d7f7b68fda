"""What every command shares: the one-line error, the translated parser, and the arguments
that several commands take, each declared here once.

A command module has `add_parser(commands)` (its sub-parser, built from these declarers) and
`run(args) -> str` (the text to print); bad input raises CliError with one line.
"""

from __future__ import annotations

import argparse
from typing import get_args

from commands.lang import ERR_EMPTY_TEXT, HelpFormatter, add_help_option, translate_argparse
from i18n import N_, _
from models.types import View

EXIT_BAD_INPUT = 2


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


def add_text(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    parser.add_argument("text", nargs="?" if optional else None, help=_("the sentence to analyse"))


def add_pair(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pair", metavar="TEXT_B", help=_("second sentence of a pair"))


def add_model(parser: argparse.ArgumentParser, help_text=N_("registry key or local model directory")) -> None:
    from models.load.registry import DEFAULT_MODEL

    parser.add_argument("--model", default=DEFAULT_MODEL, help=str(help_text))


def add_window(
    parser: argparse.ArgumentParser,
    minimum: int | None = None,
    default=None,
    help_text=N_("Longformer attention window (even; default 16 for windowed models)"),
):
    from models.extract.window import MIN_WINDOW

    minimum = MIN_WINDOW if minimum is None else minimum
    parser.add_argument("--window", type=window_argument(minimum), default=default, help=str(help_text))


def add_globals(
    parser: argparse.ArgumentParser, help_text=N_("Longformer global token positions (default: [CLS])")
) -> None:
    parser.add_argument("--global", dest="global_positions", type=int, nargs="+", metavar="POS", help=str(help_text))


def add_exclude_special(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exclude-special", action="store_true", help=_("leave special tokens' query rows out of the averages")
    )


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("json", "table"), default="json")


def add_input(parser: argparse.ArgumentParser, windowed: bool = True) -> None:
    """TEXT, --pair, --model and (for the commands that run Longformer) --window and --global."""
    add_text(parser)
    add_pair(parser)
    add_model(parser)
    if windowed:
        add_window(parser)
        add_globals(parser)


def add_view(parser: argparse.ArgumentParser, help: str) -> None:
    """--view weight|norm (models.types.View)."""
    parser.add_argument("--view", choices=get_args(View), default="weight", help=help)


def add_view_options(parser: argparse.ArgumentParser) -> None:
    add_view(parser, _("attention weights, or what the heads move: α·‖f(x)‖ (Kobayashi et al. 2020)"))
    parser.add_argument(
        "--word-level", action="store_true", help=_("merge word pieces into words in attention exports and rollout")
    )


def add_device(parser: argparse.ArgumentParser) -> None:
    """--device, on every command that runs a model (models.load.device)."""
    from models.load.device import DEVICE_CHOICES

    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help=_("where the model runs: auto (a CUDA GPU when there is one), cpu or cuda"),
    )


def check_text(text: str | None) -> None:
    if text is not None and not text.strip():
        raise CliError(ERR_EMPTY_TEXT)


def load_and_extract(args: argparse.Namespace, model_window: bool = True):
    """The one forward pass of a command that reads TEXT (and --pair) on --model: the empty-text
    check, `load_model` on --device and `extract`; returns the AttentionResult.

    `model_window` passes --window and --global to the model (a windowed Longformer run); the
    sparse command's --window and --global describe its simulated pattern instead, so it loads
    the model dense.  A model that cannot load and an input that cannot be read raise CliError.
    """
    from models.extract.attention import InputError, extract
    from models.load.loading import ModelLoadError, load_model

    check_text(args.text)
    window, global_positions = (args.window, args.global_positions) if model_window else (None, None)
    try:
        loaded = load_model(args.model, window, device=args.device)
        return extract(loaded, args.text, args.pair, global_positions)
    except (ModelLoadError, InputError) as error:
        raise CliError(str(error)) from None
