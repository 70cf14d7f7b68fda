"""`cli.py corpus`: analyse a corpus file (or stdin) and print the aggregates as JSON or a table.

  python cli.py corpus FILE [--column NAME] [--pair-column NAME] [--input-format text|csv|tsv|jsonl]
                            [--model KEY_OR_PATH] [--window W] [--batch-size B] [--sort-batches S]
                            [--limit N] [--engine local|ray] [--workers N] [--top K]
                            [--exclude-special] [--view weight|norm] [--format json|table]
                            [--progress auto|on|off] [--checkpoint PATH [--resume]] [--device auto|cpu|cuda]

FILE is a path or "-" for standard input.  The JSON holds both views (the weight view's keys at
the top level, the norm view's under "norm"); --view picks the one the table shows.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from commands.analyze import LEVELS, NOTICE
from commands.base import CliError, add_device, add_exclude_special, add_format, add_model, add_view, add_window
from commands.lang import COLUMN_LAYER, pad
from i18n import N_, _, message_of

VIEW_TITLES = {
    "weight": N_("attention weights"),
    "norm": N_("norm view: what the heads move (Kobayashi et al. 2020)"),
}
STOPPED = N_(
    "corpus: interrupted by {signal} after {records:,} of {total} records ({sentences:,} sentences scored); {what}"
)
STOPPED_PARTIAL = N_("the partial result (complete: false) is on stdout")
STOPPED_NOTHING = N_("no result written")
STOP_SIGNALS = ("SIGINT", "SIGTERM")  # exit status 128 + the signal's number: 130, 143
COLUMN_ROLE_SHARES = N_("roles (share of heads)")
COLUMN_QUANTITY = N_("quantity")


def add_parser(commands) -> None:
    from models.corpus.io import CORPUS_FORMATS

    corpus = commands.add_parser("corpus", help=_("analyse every sentence of a corpus and aggregate per head"))
    corpus.add_argument("file", help=_("corpus file (text: one sentence per line; CSV/TSV; JSONL), or - for stdin"))
    corpus.add_argument("--column", help=_("CSV/TSV column or JSONL field holding the text (default: text)"))
    corpus.add_argument("--pair-column", help=_("CSV/TSV column or JSONL field holding an optional second sentence"))
    corpus.add_argument(
        "--input-format",
        choices=CORPUS_FORMATS,
        help=_("how to read FILE (default: from its suffix; stdin: text, or sniffed with --column)"),
    )
    add_model(corpus)
    add_window(corpus)
    corpus.add_argument("--batch-size", type=int, default=32, help=_("sentences per forward pass"))
    corpus.add_argument("--sort-batches", type=int, default=8, help=_("batches per length-sorting window"))
    corpus.add_argument("--limit", type=int, help=_("read only the first N records (lines or rows)"))
    corpus.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help=_("local: this process; ray: Ray Data actors (RAY_ADDRESS joins a cluster)"),
    )
    corpus.add_argument("--workers", type=int, help=_("Ray actors (default: one per CPU)"))
    corpus.add_argument("--top", type=int, default=5, help=_("sentences kept per head, score and direction"))
    add_exclude_special(corpus)
    add_view(corpus, _("the view the table shows (the JSON always holds both when the family has both)"))
    corpus.add_argument(
        "--mixing",
        action="store_true",
        help=_(
            "also aggregate the context-mixing measures 1–6 per layer (mixing ratio, [CLS]/[SEP] shares; "
            "one more forward pass per sentence)"
        ),
    )
    corpus.add_argument(
        "--measure",
        nargs="+",
        metavar="NAME",
        help=_("the context-mixing measures to aggregate (implies --mixing; value_zeroing costs N layer reruns)"),
    )
    corpus.add_argument(
        "--checkpoint",
        metavar="PATH",
        help=_(
            "write the merged statistics to PATH every few chunks and when interrupted (.npz; must not exist "
            "unless --resume)"
        ),
    )
    corpus.add_argument(
        "--resume",
        action="store_true",
        help=_("continue the run saved in --checkpoint PATH (refused if the corpus, model or options differ)"),
    )
    add_format(corpus)
    corpus.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help=_("progress bar on stderr (auto: when stderr is a terminal)"),
    )
    add_device(corpus)


class ProgressBar:
    """A tqdm bar on stderr fed by the engine's progress callback (records read, sentences/s)."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar = enabled, None

    def start(self, total: int | None) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                file=sys.stderr,
                bar_format=_("{l_bar}{bar}| {n_fmt}/{total_fmt} records [{elapsed}<{remaining}{postfix}]"),
                dynamic_ncols=True,
            )

    def __call__(self, progress) -> None:
        if self.bar is None:
            return
        self.bar.set_postfix_str(str(N_("{rate:,.0f} sentences/s").format(rate=progress.rate)), refresh=False)
        self.bar.update(progress.records - self.bar.n)

    def close(self, failed: bool = False) -> None:
        """Leave the finished bar on screen; wipe it when an error message follows."""
        if self.bar is not None:
            self.bar.leave = not failed
            self.bar.close()


def _check_model(name: str, window) -> None:
    """Fail on a bad model name or window before Ray starts (the Ray driver loads no model)."""
    from models.extract.window import WindowError
    from models.load.loading import ERR_UNKNOWN, HUB_ID, ModelLoadError, resolve
    from models.load.registry import REGISTRY, find_spec

    spec = find_spec(name)
    if spec is None and not Path(name).expanduser().is_dir() and not HUB_ID.match(name):
        raise ModelLoadError(ERR_UNKNOWN.format(name=name or N_("(empty)"), keys=", ".join(REGISTRY)))
    try:
        resolve(name, window)
    except WindowError as error:
        raise ModelLoadError(str(error)) from None


def run(args: argparse.Namespace) -> str:
    """Run `cli.py corpus`; bad input raises CliError with one line.

    SIGINT or SIGTERM stops the run with one line on stderr (where it stopped) and exit
    status 130 / 143 (SystemExit); with --format json the partial result goes to stdout.
    A closed stdout (`| head`) ends the run quietly (`quiet_broken_pipe`)."""
    with stop_signals() as stopped:
        tally = _Tally()
        try:
            output = _run(args, tally)
        except KeyboardInterrupt as interrupted:
            _report_stop(args, interrupted, tally, stopped[0] if stopped else signal.SIGINT)
    quiet_broken_pipe()
    return output


def _run(args: argparse.Namespace, tally: _Tally) -> str:
    from models.corpus.io import CorpusInputError
    from models.corpus.source import open_path, open_stdin

    bar = ProgressBar(args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty()))
    try:
        # Opening checks the whole input (a file: every record up to --limit) before torch and
        # the model are even imported, so bad input fails in a moment on both engines.
        limit = args.limit if args.limit is not None and args.limit > 0 else None  # CorpusOptions says why not
        if args.file == "-":
            source = open_stdin(args.column, args.pair_column, args.input_format, limit=limit)
        else:
            source = open_path(args.file, args.column, args.pair_column, args.input_format, limit=limit)
        tally.total = source.estimate_records(limit)
        from models.corpus.engine import CorpusOptions, run_corpus
        from models.load.loading import load_model

        options = CorpusOptions(
            batch_size=args.batch_size,
            sort_batches=args.sort_batches,
            limit=args.limit,
            top_k=args.top,
            exclude_special=args.exclude_special,
            measures=_mixing_measures(args),
        )
        checkpoint = _checkpointing(args, source, options)
        tally.checkpoint = checkpoint
        bar.start(tally.total)  # before the model loads: elapsed counts it
        tally.bar = bar
        if args.engine == "ray":
            result = _run_ray(args, source, options, tally, checkpoint)
        else:
            loaded = load_model(args.model, args.window, device=args.device)
            result = run_corpus(loaded, source, options, progress=tally, checkpoint=checkpoint)
    except CorpusInputError as error:
        bar.close(failed=True)
        raise CliError(str(error)) from None
    except BaseException as error:
        bar.close(failed=True)
        loading = sys.modules.get("models.load.loading")  # imported only once the input passed
        if loading is not None and isinstance(error, loading.ModelLoadError):
            raise CliError(str(error)) from None
        raise
    bar.close()
    from models.corpus.result import to_json_dict

    document = to_json_dict(result)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    if document.get(args.view, document) is None:  # the family has no norm view
        raise CliError(N_("--view norm: {notice}").format(notice=" ".join(document["notices"])))
    return format_corpus_table(document, args.view)


def _mixing_measures(args) -> tuple[str, ...]:
    """--measure NAME ... as given, --mixing alone: measures 1–6, neither: none."""
    if args.measure:
        return tuple(args.measure)
    if args.mixing:
        from models.mixing.measures import MEASURES

        return tuple(name for name in MEASURES if name != "value_zeroing")
    return ()


def _checkpointing(args, source, options):
    """The --checkpoint/--resume plan, checked before the model loads (None without them)."""
    if args.checkpoint is None:
        if args.resume:
            raise CliError(N_("--resume needs --checkpoint PATH (the checkpoint to continue)"))
        return None
    from models.corpus.checkpoint import fingerprint, prepare

    return prepare(args.checkpoint, args.resume, fingerprint(source, args.model, args.window, options, args.engine))


def _resume_hint(checkpoint) -> str:
    """How to go on after a stop: from the checkpoint just written, or with one next time."""
    if checkpoint is None:
        return N_("; add --checkpoint PATH to a run to be able to resume it")
    from models.corpus.checkpoint import load
    from models.corpus.io import CorpusInputError

    try:
        records = load(checkpoint.path).stats.records
    except CorpusInputError:  # stopped before the first checkpoint
        return N_("; nothing was checkpointed yet: run the same command again")
    return N_(
        "; to go on, run the same command with --resume (the checkpoint {path} holds {records:,} records)"
    ).format(path=checkpoint.path, records=records)


class _Tally:
    """The progress callback: remembers how far the run got, and feeds the bar."""

    def __init__(self):
        self.records = self.sentences = 0
        self.total: int | None = None
        self.bar = None
        self.checkpoint = None

    def __call__(self, progress) -> None:
        self.records, self.sentences = progress.records, progress.sentences
        if self.bar is not None:
            self.bar(progress)


@contextmanager
def stop_signals():
    """While the run goes on, SIGINT and SIGTERM raise KeyboardInterrupt (the yielded list gets
    the signal's number); the previous handlers come back afterwards."""
    stopped: list[int] = []

    def handler(signum, _frame):
        if stopped:
            return  # one stop is enough: let the report finish
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name)
        try:
            previous[number] = signal.signal(number, handler)
        except ValueError:  # not the main thread: leave the signals alone
            break
    try:
        yield stopped
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _report_stop(args, interrupted: KeyboardInterrupt, tally: _Tally, signum: int):
    """Print where the run stopped (and, for --format json, the partial result), then exit."""
    records, sentences, total = tally.records, tally.sentences, tally.total
    partial = getattr(interrupted, "partial", None)
    if partial is not None:
        records, sentences, total = interrupted.records, interrupted.sentences, interrupted.total
    what = STOPPED_NOTHING
    if partial is not None and args.format == "json":
        from models.corpus.result import to_json_dict

        if _write_stdout(json.dumps(to_json_dict(partial), ensure_ascii=False) + "\n"):
            what = STOPPED_PARTIAL
    line = STOPPED.format(
        signal=signal.Signals(signum).name,
        records=records,
        total=N_("an unknown number of") if total is None else f"{total:,}",
        sentences=sentences,
        what=what,
    )
    print(line + _resume_hint(tally.checkpoint), file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def _write_stdout(text: str) -> bool:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        return False
    return True


def _stdout_to_devnull() -> None:
    """After a BrokenPipeError: what is still buffered for stdout goes nowhere, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class _PipeSafeStdout:
    """The process's stdout, with a closed pipe (`| head`) ending its writes quietly: the
    rest goes to os.devnull, so there is no BrokenPipeError traceback, not even at exit."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            _stdout_to_devnull()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            _stdout_to_devnull()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def quiet_broken_pipe() -> None:
    """cli.py prints the returned text itself; make that print (and the flush at exit) quiet
    when the reader has gone.  Only the real stdout is wrapped (not a test's capture)."""
    if sys.stdout is sys.__stdout__ and sys.stdout is not None:
        sys.stdout = _PipeSafeStdout(sys.stdout)


def _run_ray(args, source, options, bar, checkpoint=None):
    from models.corpus.io import CorpusInputError
    from models.corpus.ray_engine import RayRunError, run_corpus_ray

    _check_model(args.model, args.window)
    if args.workers is not None and args.workers < 1:
        raise CliError(N_("--workers must be at least 1; got {workers}").format(workers=args.workers))
    try:
        return run_corpus_ray(
            _absolute_folder(args.model),
            source,
            options,
            args.window,
            progress=bar,
            workers=args.workers,
            checkpoint=checkpoint,
            device=args.device,
        )
    except CorpusInputError:
        raise
    except RayRunError as error:  # workers kept failing: keep what was merged
        what = STOPPED_NOTHING
        if error.partial is not None and args.format == "json":
            from models.corpus.result import to_json_dict

            if _write_stdout(json.dumps(to_json_dict(error.partial), ensure_ascii=False) + "\n"):
                what = STOPPED_PARTIAL
        stop = N_("{problem}; {what}{resume}").format(
            problem=message_of(error), what=what, resume=_resume_hint(checkpoint)
        )
        raise CliError(stop) from None
    except Exception as error:  # a worker failed: Ray wraps the cause; report its last line
        from models.corpus.ray_engine import plain_lines

        lines = plain_lines(error)
        raise CliError(
            N_("the Ray engine failed: {problem}").format(problem=lines[-1] if lines else type(error).__name__)
        ) from None


def _absolute_folder(model: str) -> str:
    """A local model folder as an absolute path (Ray workers have other working directories)."""
    folder = Path(model).expanduser()
    return str(folder.resolve()) if folder.is_dir() else model


def format_corpus_table(document: dict, view: str = "weight") -> str:
    """A terminal summary of one view: per layer, the head-averaged corpus mean and spread of
    the main scores, the role split, then the view's diagnosis."""
    model = document["model"]
    chosen = document if view == "weight" else document[view]
    scores = chosen["scores"]
    skipped = ", ".join(f"{reason} {count}" for reason, count in document["skipped"].items() if count)
    lines = [
        _("model {key} ({family}, {layers} layers × {heads} heads)").format(
            key=model["key"], family=model["family"], layers=model["layers"], heads=model["heads"]
        ),
        _(
            "corpus {source}: {sentences:,} sentences of {records:,} records; skipped: {skipped}; truncated {truncated}"
        ).format(
            source=document["source"],
            sentences=document["sentences"],
            records=document["records"],
            skipped=skipped or _("none"),
            truncated=document["truncated"],
        ),
        _("view {view} ({title}); views in the JSON: {views}").format(
            view=view, title=_(VIEW_TITLES[view]), views=", ".join(document["views"])
        ),
        *(_(NOTICE).format(message=notice) for notice in document["notices"]),
        "",
        f"{pad(COLUMN_LAYER, 5)} {'cls':>13} {'sep':>13} {'diagonal':>13} {'entropy':>13} {'cls_out':>13}"
        f"  {COLUMN_ROLE_SHARES}",
    ]
    for entry in chosen["layers"]:
        k = entry["layer"] - 1
        cells = []
        for name in ("cls", "sep", "diagonal", "entropy", "cls_out"):
            mean = sum(scores[name]["mean"][k]) / len(scores[name]["mean"][k])
            spread = sum(scores[name]["std"][k]) / len(scores[name]["std"][k])
            cells.append(f"{mean:>6.3f} ±{spread:>5.3f}")
        roles = ", ".join(
            f"{role} {share['mean']:.0%}" for role, share in entry["roles"].items() if share["mean"] >= 0.05
        )
        lines.append(f"{entry['layer']:>5} " + " ".join(cells) + f"  {roles}")
    lines.append(_("(head-averaged mean ± head-averaged standard deviation over sentences)"))
    lines.append("")
    lines.extend(f"{LEVELS.get(d['level'], d['level'])}: {d['message']}" for d in chosen["diagnosis"])
    if document.get("mixing"):
        lines.extend(["", *format_mixing_table(document["mixing"])])
    return "\n".join(lines)


def format_mixing_table(mixing: dict) -> list[str]:
    """Per layer and measure: the corpus mean of the mixing ratio and of the [CLS] and [SEP]
    shares, then the no-op reading of those means."""
    measures = mixing["measures"]
    lines = [
        _("context mixing over {sentences:,} sentences (mean ± standard deviation over sentences)").format(
            sentences=mixing["sentences"]
        )
    ]
    if measures:
        layers = len(next(iter(measures.values()))["mixing_ratio"]["mean"])
        width = max(14, *(len(name) + 1 for name in measures))
        lines.append(
            f"{pad(COLUMN_LAYER, 5)} {pad(COLUMN_QUANTITY, 10)}" + "".join(f"{name:>{width}}" for name in measures)
        )
        for layer in range(layers):
            for quantity, label in (("mixing_ratio", "mixing"), ("to_cls", "[CLS]"), ("to_sep", "[SEP]")):
                cells = "".join(
                    f"{entry[quantity]['mean'][layer]:>{width - 7}.3f} ±{entry[quantity]['std'][layer]:>5.3f}"
                    for entry in measures.values()
                )
                lines.append(f"{layer + 1 if quantity == 'mixing_ratio' else '':>5} {label:<10}{cells}")
        lines.append(
            _("(mixing: share of a token's new representation from other tokens; [CLS], [SEP]: share landing on them)")
        )
    lines.append("")
    lines.extend(f"{LEVELS.get(d['level'], d['level'])}: {d['message']}" for d in mixing["diagnosis"])
    return lines
