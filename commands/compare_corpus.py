"""`cli.py compare --corpus FILE`: two models over a corpus file (or stdin), streamed
(models/corpus/compare.py).  commands/compare.py registers the options and hands over here.

python cli.py compare --corpus FILE --model-a KEY_OR_PATH --model-b KEY_OR_PATH [--limit N]
                      [--column NAME] [--pair-column NAME] [--input-format text|csv|tsv|jsonl]
                      [--batch-size B] [--top K] [--exclude-special] [--view weight|norm]
                      [--format json|table] [--progress auto|on|off]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from commands.base import CliError
from i18n import _


def add_corpus_arguments(compare) -> None:
    """The corpus form's options on the `compare` sub-parser."""
    from models.corpus.io import CORPUS_FORMATS

    compare.add_argument(
        "--corpus", metavar="FILE", help=_("compare over a corpus file (one sentence per line; CSV/TSV; JSONL), or -")
    )
    compare.add_argument("--column", help=_("with --corpus: CSV/TSV column or JSONL field holding the text"))
    compare.add_argument("--pair-column", help=_("with --corpus: column or field holding an optional second sentence"))
    compare.add_argument("--input-format", choices=CORPUS_FORMATS, help=_("with --corpus: how to read FILE"))
    compare.add_argument("--limit", type=int, help=_("with --corpus: read only the first N records"))
    compare.add_argument("--batch-size", type=int, default=32, help=_("with --corpus: sentences per forward pass"))
    compare.add_argument(
        "--view", choices=("weight", "norm"), default="weight", help=_("with --corpus: the view the table shows")
    )
    compare.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help=_("with --corpus: progress bar on stderr (auto: when stderr is a terminal)"),
    )


def run_compare_corpus(args: argparse.Namespace) -> str:
    """The JSON document or the table; bad input raises CliError with one line.
    SIGINT/SIGTERM stop it with one line on stderr and status 130/143 (no partial result: a
    comparison needs both models' whole runs); a closed stdout (`| head`) ends it quietly."""
    from commands.corpus import quiet_broken_pipe, stop_signals

    with stop_signals() as stopped:
        try:
            output = _compare_corpus(args)
        except KeyboardInterrupt:
            signum = stopped[0] if stopped else signal.SIGINT
            print(
                _(
                    "compare --corpus: interrupted by {signal}; no result written (a comparison needs both whole runs)"
                ).format(signal=signal.Signals(signum).name),
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(128 + signum) from None
    quiet_broken_pipe()
    return output


def _compare_corpus(args: argparse.Namespace) -> str:
    from commands.corpus import ProgressBar
    from models.corpus.compare import compare_corpus, to_json_dict
    from models.corpus.engine import CorpusOptions
    from models.corpus.io import CorpusInputError
    from models.corpus.source import open_path, open_stdin
    from models.load.loading import ModelLoadError, load_model

    bar = ProgressBar(args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty()))
    try:
        options = CorpusOptions(batch_size=args.batch_size, limit=args.limit, exclude_special=args.exclude_special)
        if args.corpus == "-":
            source = open_stdin(args.column, args.pair_column, args.input_format)
        else:
            source = open_path(args.corpus, args.column, args.pair_column, args.input_format)
        loaded_a = load_model(args.model_a, device=args.device)
        loaded_b = loaded_a if args.model_b == args.model_a else load_model(args.model_b, device=args.device)
        bar.start(source.estimate_records(options.limit))
        comparison = compare_corpus(loaded_a, loaded_b, source, options, progress=bar, top=args.top)
    except (CorpusInputError, ModelLoadError) as problem:
        bar.close(failed=True)
        raise CliError(str(problem)) from None
    except BaseException:
        bar.close(failed=True)
        raise
    bar.close()
    document = to_json_dict(comparison)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_corpus_compare_table(document, args.view)


def format_corpus_compare_table(document: dict, view: str = "weight") -> str:
    """The corpus comparison as commands.compare's table (head-mean differences of `view`), after a
    line on the corpus."""
    from commands.compare import format_compare_table

    diff = document["diff"]
    shown = {
        "a": document["a"],
        "b": document["b"],
        "aligned": document["paired"],
        "diff": None if diff is None else diff.get(view, diff["weight"]),
        "similarity": document["similarity"],
        "changed": document["changed"],
        "layers": document["layers"],
        "summary": document["summary"],
        "notices": document["notices"],
    }
    source = document["a"]["source"]
    head = _(
        "corpus {source}: {sentences} sentences both models scored; {aligned} split alike by both tokenizers"
    ).format(source=source, sentences=document["sentences"], aligned=document["aligned_sentences"])
    return "\n".join(
        [
            head,
            _("view {view} (the differences below; the JSON holds both views)").format(view=view),
            format_compare_table(shown),
        ]
    )
