"""The command line's entry: one sub-command per module of this package.

  python cli.py analyze TEXT [--pair TEXT_B] [--model KEY_OR_PATH] [--window W]
                             [--global POS ...] [--exclude-special] [--format json|table]
                             [--view weight|norm] [--word-level]
  python cli.py rollout TEXT [--query POS ...] [... as analyze]
  python cli.py sparse TEXT --pattern local|dilated|global|longformer|bigbird|lsh|topk [...]
  python cli.py plot TEXT --layer L --head H [--kind head|grid|overview|partition] --format png|svg|pdf|html -o FILE
  python cli.py compare TEXT --model-a KEY_OR_PATH --model-b KEY_OR_PATH   (or --corpus FILE)
  python cli.py corpus FILE [--engine local|ray] [--checkpoint PATH [--resume]] [...]
  python cli.py mixing TEXT [--pair TEXT_B] [--measure NAME ...] [--format json|table]
  python cli.py models

Every command takes --lang ja|en (default from LANG) for its messages and tables, and every
command that runs a model takes --device auto|cpu|cuda; JSON keys and role/score identifiers
stay English.  A window W means W/2 tokens on each side, as in Longformer: --window 2 allows
|i − j| ≤ 1.  Bad input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from commands.base import EXIT_BAD_INPUT, CliError, Parser
from commands.lang import ERROR_LINE, add_language_option, preparse_language
from i18n import _, reset_language, set_language

COMMANDS = {  # sub-command → its module in this package (add_parser, run)
    "analyze": "analyze",
    "rollout": "rollout",
    "models": "list_models",
    "plot": "plot",
    "compare": "compare",
    "sparse": "sparse",
    "corpus": "corpus",
    "mixing": "mixing",
}


def _module(command: str):
    return importlib.import_module(f"commands.{COMMANDS[command]}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="cli.py", description=_("Attention-map analysis of BERT and Longformer heads."))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        _module(command).add_parser(commands)
    add_language_option(parser, commands)
    return parser


def quiet_transformers() -> None:
    """transformers' warnings off (models.load.loading imports torch: only once a command runs)."""
    if "transformers" in sys.modules or "torch" in sys.modules:
        from models.load.loading import quiet_transformers as quiet

        quiet()
    else:
        import os

        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # read when transformers is imported
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_transformers()
    token = set_language(preparse_language(argv))  # this call's language: messages, help, tables
    try:
        args = build_parser().parse_args(argv)
        output = _module(args.command).run(args)
    except CliError as error:
        print(_(ERROR_LINE).format(message=error), file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        reset_language(token)
    print(output)
    return 0
