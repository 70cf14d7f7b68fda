"""`cli.py mixing`: what really moves between tokens, by seven context-mixing measures
(models/mixing/measures.py, models/mixing/value_zeroing.py), with the no-op diagnosis (models/mixing/diagnosis.py),
and how far each map can be trusted on this model (models/mixing/faithfulness.py).

python cli.py mixing TEXT [--pair TEXT_B] [--model KEY_OR_PATH] [--measure NAME ...] [--faithfulness]
                          [--window W] [--global POS ...] [--format json|table] [--device auto|cpu|cuda]
python cli.py mixing --corpus FILE --faithfulness [--limit N] [--model KEY_OR_PATH] [--measure NAME ...]

JSON: {model, tokens, measures: {NAME: {layers: L×N×N, rollout: L×N×N, mixing_ratio: [L],
to_cls: [L], to_sep: [L]}}, sink_rate: [L], sink_keys: L×H, unnormalised_rows: [{layer, row}],
diagnosis: [{level, message}], notices}.  Layers in `unnormalised_rows` are 1-based.

A Longformer model's measures stay banded (models/mixing/banded.py), and the JSON says so:
`form: "banded"`, `global_positions` (--global, default the cls token), `windows` (each layer's
full window w), `rollout_queries`; each measure's `layers` is L × {band: N×(x + w + 1),
global_rows: x×N}, where band column k < x is the weight on the k-th global token and column
x + c the weight on the key i − w/2 + c (0 outside the input and at global keys; the rows of
global tokens are 0 there, and their full rows are `global_rows`), and `rollout` is
L × R × N, the rows of `rollout_queries` only.  Value zeroing runs up to 512 tokens there.

--faithfulness adds `faithfulness`: {NAME: {gradient_x_input: ρ, leave_one_out: ρ}} and
`faithfulness_basis`: {head, reader, content_tokens}.  ρ is Spearman's (average ranks) over the
content tokens between the measure's last-layer rollout and the ground truth:
  - a classifier folder (config.json names a *ForSequenceClassification architecture, or
    `make finetune`'s classifier.safetensors): head "sequence_classification" or "cls_linear",
    reader "cls" (the rollout row of [CLS]); gradient_x_input is ‖∂ logit / ∂ e ⊙ e‖ of the
    predicted logit, leave_one_out the drop in the predicted class's probability;
  - a bare encoder (minilm as shipped): head null, reader "mean" (the mean of the rollout rows);
    leave_one_out is 1 − cos of the mean-pooled sentence embedding, and gradient_x_input is
    null, because a bare encoder has no logit to differentiate (the key stays, so readers do
    not branch on the model).
A ρ is also null where it is undefined (fewer than 2 content tokens, or a constant ranking).
Leaving a token out deletes its id and keeps the special tokens.

--corpus FILE (with --faithfulness; --limit N reads the first N records) prints
{model, corpus, sentences, skipped, faithfulness_basis: {head, reader},
faithfulness: {NAME: {gradient_x_input: {mean, sd, low, high, count} | null, leave_one_out: …}}}:
the mean ρ over the `count` sentences where it is defined, its standard deviation over them, and
the mean's 95% t interval [low, high] (sd, low and high null below 2 sentences).
It runs measures 1–6 unless --measure names others (value zeroing costs ~N layer reruns a sentence).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from commands.base import CliError, add_device, add_format, add_globals, add_model, add_pair, add_text, add_window
from commands.lang import COLUMN_LAYER, ERR_EMPTY_TEXT, pad, width
from i18n import N_, _

JSON_DECIMALS = 6
MEASURE_KEYS = ("layers", "rollout", "mixing_ratio", "to_cls", "to_sep")
UNDEFINED = "—"

COLUMN_MEASURE = N_("measure")
COLUMN_MIXING = N_("mixing")
COLUMN_RANK = N_("rank")
READER_LINE = {
    "cls": N_("Map read: each measure's last-layer rollout row of [CLS], the token the classifier reads."),
    "mean": N_("Map read: the mean of each measure's last-layer rollout rows (a mean-pooled encoder)."),
}


def add_parser(commands) -> None:
    from models.mixing.measures import MEASURES

    mixing = commands.add_parser(
        "mixing", help=_("context mixing: what really moves between tokens (residual, LayerNorm, value zeroing)")
    )
    add_text(mixing, optional=True)
    add_pair(mixing)
    add_model(mixing)
    add_window(mixing)
    add_globals(mixing)
    mixing.add_argument(
        "--measure",
        dest="measures",
        nargs="+",
        choices=MEASURES,
        metavar="NAME",
        help=_("the measures to compute (default: all): {names}").format(names=", ".join(MEASURES)),
    )
    mixing.add_argument(
        "--faithfulness",
        action="store_true",
        help=_("add how far each map agrees with the model's gradients and leave-one-out ablation (Spearman ρ)"),
    )
    mixing.add_argument(
        "--corpus",
        metavar="FILE",
        help=_("a corpus file (one sentence a line, CSV/TSV or JSONL): faithfulness over its sentences"),
    )
    mixing.add_argument("--limit", type=_limit, metavar="N", help=_("with --corpus: read only the first N records"))
    add_format(mixing)
    add_device(mixing)


def _limit(value: str) -> int:
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise argparse.ArgumentTypeError(
            _("--limit must be a whole number of at least 1; got '{value}'.").format(value=value)
        )
    return limit


def check_arguments(args: argparse.Namespace) -> None:
    """One line for each combination of TEXT, --corpus, --pair, --limit and --faithfulness that cannot run."""
    if args.corpus is not None:
        if args.text is not None:
            raise CliError(_("Give either TEXT or --corpus FILE, not both."))
        if args.pair is not None:
            raise CliError(_("--pair goes with one TEXT; leave it out with --corpus."))
        if not args.faithfulness:
            raise CliError(_("--corpus reports the faithfulness of the maps only; add --faithfulness."))
        return
    if args.text is None:
        raise CliError(_("Give the sentence to analyse (TEXT), or --corpus FILE --faithfulness."))
    if args.limit is not None:
        raise CliError(_("--limit goes with --corpus FILE; leave it out for one TEXT."))
    if not args.text.strip():
        raise CliError(ERR_EMPTY_TEXT)


def run(args: argparse.Namespace) -> str:
    """The JSON document or the table; bad input raises CliError with one line."""
    from models.extract.attention import InputError
    from models.load.loading import ModelLoadError, load_model
    from models.mixing.classifier import load_classifier
    from models.mixing.diagnosis import diagnose_mixing
    from models.mixing.faithfulness import sentence_faithfulness
    from models.mixing.run import check_family, check_measures, context_mixing

    check_arguments(args)
    if args.corpus is not None:
        return run_corpus(args)
    try:
        shown = check_measures(args.measures)
        computed = check_measures(set(shown) | {"attention"})  # the diagnosis contrasts with the weights
        loaded = load_model(args.model, args.window, device=args.device)
        if args.faithfulness:
            check_family(loaded, dense=True)  # before a head loads
            classifier = load_classifier(loaded)
            faithful = sentence_faithfulness(loaded, classifier, args.text, args.pair, computed)
            mixing = faithful.mixing
        else:
            asked = None if args.measures is None else computed  # None: long Longformer inputs skip zeroing
            mixing = context_mixing(loaded, args.text, args.pair, asked, args.global_positions)
            shown = tuple(name for name in shown if name in mixing.measures)
    except (ModelLoadError, InputError, ValueError) as problem:
        raise CliError(str(problem)) from None
    document = to_json_dict(mixing, diagnose_mixing(mixing), shown)
    if args.faithfulness:
        document["faithfulness"] = {name: _truths_json(faithful.rho[name], _rho) for name in shown}
        document["faithfulness_basis"] = {
            "head": classifier.kind if classifier else None,
            "reader": faithful.reader,
            "content_tokens": faithful.content,
        }
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_mixing_table(document)


def run_corpus(args: argparse.Namespace) -> str:
    """`--corpus FILE --faithfulness`: each measure's mean ρ over the sentences, with its interval."""
    from models.corpus.source import open_path
    from models.extract.attention import InputError
    from models.load.loading import ModelLoadError, load_model
    from models.mixing.classifier import load_classifier
    from models.mixing.faithfulness import corpus_faithfulness
    from models.mixing.measures import MEASURES
    from models.mixing.run import check_family, check_measures

    try:
        measures = check_measures(args.measures or [name for name in MEASURES if name != "value_zeroing"])
        source = open_path(args.corpus, limit=args.limit)  # checked before the model loads
        loaded = load_model(args.model, device=args.device)
        check_family(loaded, dense=True)
        classifier = load_classifier(loaded)
        pairs = ((record.text, record.text_b) for record in source.records(args.limit))
        result = corpus_faithfulness(loaded, classifier, pairs, measures)
    except (ModelLoadError, InputError, ValueError) as problem:
        raise CliError(str(problem)) from None
    if result.sentences == 0:
        raise CliError(
            _("The corpus '{name}' has no sentences to score: every record read is blank.").format(name=source.name)
        )
    document = {
        "model": loaded.name,
        "corpus": source.name,
        "sentences": result.sentences,
        "skipped": result.skipped,
        "faithfulness_basis": {"head": classifier.kind if classifier else None, "reader": result.reader},
        "faithfulness": {name: _truths_json(result.summary.get(name, {}), _interval) for name in measures},
    }
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_corpus_table(document)


def _rounded(array: np.ndarray) -> list:
    return np.round(np.asarray(array, dtype=np.float64), JSON_DECIMALS).tolist()


def _rho(value: float | None) -> float | None:
    """A ρ for JSON: rounded, or None where it is undefined (nan) or has no ground truth."""
    return None if value is None or np.isnan(value) else round(float(value), JSON_DECIMALS)


def _interval(interval) -> dict | None:
    if interval is None or interval.count == 0:
        return None
    return {
        "mean": _rho(interval.mean),
        "sd": _rho(interval.sd),
        "low": _rho(interval.low),
        "high": _rho(interval.high),
        "count": interval.count,
    }


def _truths_json(entry, convert) -> dict:
    """Every ground truth's key, null where this model has none (a bare encoder's gradient)."""
    from models.mixing.faithfulness import TRUTHS

    return {truth: convert(entry.get(truth)) for truth in TRUTHS}


def to_json_dict(mixing, diagnosis, measures) -> dict:
    """The documented JSON layout (module docstring) for `measures` of `mixing`."""
    banded = mixing.form == "banded"
    document = {
        "model": mixing.model,
        "tokens": list(mixing.tokens),
        "measures": {
            name: {
                "layers": _banded_layers(mixing.layers[name]) if banded else _rounded(mixing.layers[name]),
                "rollout": _rounded(mixing.rollout[name]),
                "mixing_ratio": _rounded(mixing.mixing_ratio[name]),
                "to_cls": _rounded(mixing.to_cls[name]),
                "to_sep": _rounded(mixing.to_sep[name]),
            }
            for name in measures
        },
        "sink_rate": _rounded(mixing.sink_rate),
        "sink_keys": mixing.sink_keys.tolist(),
        "unnormalised_rows": [{"layer": layer + 1, "row": row} for layer, row in mixing.unnormalised],
        "diagnosis": [{"level": d.level, "message": str(d.message)} for d in diagnosis],
        "notices": [str(notice) for notice in mixing.notices],
    }
    if banded:
        document.update(
            form="banded",
            global_positions=list(mixing.global_positions),
            windows=list(mixing.windows),
            rollout_queries=list(mixing.rollout_queries),
        )
    return document


def _banded_layers(layers) -> list[dict]:
    return [{"band": _rounded(layer.band), "global_rows": _rounded(layer.global_rows)} for layer in layers]


def format_mixing_table(document: dict) -> str:
    """Per measure and layer: the mixing ratio and the [CLS]/[SEP] shares; then the diagnosis."""
    from commands.analyze import LEVELS, NOTICE

    tokens = document["tokens"]
    names = list(document["measures"])
    name_width = max([width(str(COLUMN_MEASURE))] + [len(name) for name in names])
    lines = [
        _("context mixing on {model}, {count} tokens: {tokens}").format(
            model=document["model"], count=len(tokens), tokens=" ".join(tokens[:64])
        ),
        "",
        f"{pad(COLUMN_LAYER, 5)}  {pad(COLUMN_MEASURE, name_width, '<')}  "
        f"{pad(COLUMN_MIXING, 7)} {'to_cls':>7} {'to_sep':>7}",
    ]
    for name in names:
        entry = document["measures"][name]
        for layer, (ratio, cls, sep) in enumerate(zip(entry["mixing_ratio"], entry["to_cls"], entry["to_sep"])):
            lines.append(f"{layer + 1:>5}  {name:<{name_width}}  {ratio:>7.3f} {cls:>7.3f} {sep:>7.3f}")
    lines.append("")
    lines.append(
        _("sink rate (Gu et al. 2024, ε = 0.3), share of heads per layer: {rates}").format(
            rates=", ".join(f"{rate:.2f}" for rate in document["sink_rate"])
        )
    )
    lines.append("")
    lines.extend(f"{LEVELS.get(d['level'], d['level'])}: {d['message']}" for d in document["diagnosis"])
    lines.extend(_(NOTICE).format(message=notice) for notice in document["notices"])
    if "faithfulness" in document:
        basis = document["faithfulness_basis"]
        lines.append("")
        lines.append(
            _(
                "On this model, the maps agree with the gradients/ablation this "
                "much (Spearman ρ over {count} content tokens)."
            ).format(count=basis["content_tokens"])
        )
        lines.extend(faithfulness_lines(document["faithfulness"], basis["reader"], _cell_of_rho))
    return "\n".join(lines)


def format_corpus_table(document: dict) -> str:
    """The corpus faithfulness: per measure, ranked, the mean ρ [95% interval] of each ground truth."""
    heading = _(
        "Faithfulness of the maps on {model} over {sentences} sentences of {corpus}: mean Spearman ρ "
        "with its {level:.0%} interval; on this model, the maps agree with the gradients/ablation this much."
    ).format(model=document["model"], sentences=document["sentences"], corpus=document["corpus"], level=0.95)
    lines = [
        heading,
        *faithfulness_lines(document["faithfulness"], document["faithfulness_basis"]["reader"], _cell_of_interval),
    ]
    if document["skipped"]:
        lines.append(_("{count} records without text to rank were skipped.").format(count=document["skipped"]))
    return "\n".join(lines)


def _cell_of_rho(value: float | None) -> tuple[float | None, str]:
    return value, UNDEFINED if value is None else f"{value:+.2f}"


def _cell_of_interval(value: dict | None) -> tuple[float | None, str]:
    if value is None:
        return None, UNDEFINED
    low, high = value["low"], value["high"]
    spread = f" [{low:+.2f}, {high:+.2f}]" if low is not None and high is not None else ""
    return value["mean"], f"{value['mean']:+.2f}{spread}"


def faithfulness_lines(table: dict, reader: str, cell) -> list[str]:
    """The ranked table: measures by their gradient×input ρ where the model has one, else by
    leave-one-out (undefined last); `cell(value)` → (sort key or None, text)."""
    ranked_by = (
        "gradient_x_input"
        if any(cell(e["gradient_x_input"])[0] is not None for e in table.values())
        else "leave_one_out"
    )
    rows = {name: {truth: cell(value) for truth, value in entry.items()} for name, entry in table.items()}
    order = sorted(rows, key=lambda name: (rows[name][ranked_by][0] is None, -(rows[name][ranked_by][0] or 0)))
    name_width = max([width(str(COLUMN_MEASURE))] + [len(name) for name in rows])
    columns = {"gradient_x_input": N_("grad×input"), "leave_one_out": N_("leave-one-out")}
    cell_width = {
        truth: max([width(str(label))] + [len(row[truth][1]) for row in rows.values()])
        for truth, label in columns.items()
    }
    lines = [
        f"{pad(COLUMN_RANK, 4)}  {pad(COLUMN_MEASURE, name_width, '<')}  "
        + "  ".join(pad(label, cell_width[truth]) for truth, label in columns.items())
    ]
    for rank, name in enumerate(order, start=1):
        cells = "  ".join(f"{rows[name][truth][1]:>{cell_width[truth]}}" for truth in columns)
        lines.append(f"{rank:>4}  {name:<{name_width}}  {cells}")
    lines.append(_(READER_LINE[reader]))
    if ranked_by == "leave_one_out" and reader == "mean":
        lines.append(
            _(
                "grad×input: — on a bare encoder (no classifier logit to differentiate); leave-one-out is "
                "1 − cos of the mean-pooled sentence embedding. Pass a classifier folder as --model for both."
            )
        )
    return lines
