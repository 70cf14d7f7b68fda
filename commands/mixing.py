"""`cli.py mixing`: what really moves between tokens, by seven context-mixing measures
(models/mixing/measures.py, models/mixing/value_zeroing.py), with the no-op diagnosis (models/mixing/diagnosis.py).

python cli.py mixing TEXT [--pair TEXT_B] [--model KEY_OR_PATH] [--measure NAME ...]
                          [--format json|table] [--device auto|cpu|cuda]

JSON: {model, tokens, measures: {NAME: {layers: L×N×N, rollout: L×N×N, mixing_ratio: [L],
to_cls: [L], to_sep: [L]}}, sink_rate: [L], sink_keys: L×H, unnormalised_rows: [{layer, row}],
diagnosis: [{level, message}], notices}.  Layers in `unnormalised_rows` are 1-based.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from commands.base import CliError, add_device, add_format, add_model, add_pair, add_text
from commands.lang import COLUMN_LAYER, ERR_EMPTY_TEXT, pad, width
from i18n import N_, _

JSON_DECIMALS = 6
MEASURE_KEYS = ("layers", "rollout", "mixing_ratio", "to_cls", "to_sep")

COLUMN_MEASURE = N_("measure")
COLUMN_MIXING = N_("mixing")
HEADING = N_("context mixing on {model}, {count} tokens: {tokens}")
SINK_LINE = N_("sink rate (Gu et al. 2024, ε = 0.3), share of heads per layer: {rates}")


def add_parser(commands) -> None:
    from models.mixing.measures import MEASURES

    mixing = commands.add_parser(
        "mixing", help=_("context mixing: what really moves between tokens (residual, LayerNorm, value zeroing)")
    )
    add_text(mixing)
    add_pair(mixing)
    add_model(mixing)
    mixing.add_argument(
        "--measure",
        dest="measures",
        nargs="+",
        choices=MEASURES,
        metavar="NAME",
        help=_("the measures to compute (default: all): {names}").format(names=", ".join(MEASURES)),
    )
    add_format(mixing)
    add_device(mixing)


def run(args: argparse.Namespace) -> str:
    """The JSON document or the table; bad input raises CliError with one line."""
    from models.extract.attention import InputError
    from models.load.loading import ModelLoadError, load_model
    from models.mixing.diagnosis import diagnose_mixing
    from models.mixing.run import check_measures, context_mixing

    if not args.text.strip():
        raise CliError(ERR_EMPTY_TEXT)
    try:
        shown = check_measures(args.measures)
        computed = check_measures(set(shown) | {"attention"})  # the diagnosis contrasts with the weights
        loaded = load_model(args.model, device=args.device)
        mixing = context_mixing(loaded, args.text, args.pair, computed)
    except (ModelLoadError, InputError, ValueError) as problem:
        raise CliError(str(problem)) from None
    document = to_json_dict(mixing, diagnose_mixing(mixing), shown)
    if args.format == "json":
        return json.dumps(document, ensure_ascii=False)
    return format_mixing_table(document)


def _rounded(array: np.ndarray) -> list:
    return np.round(np.asarray(array, dtype=np.float64), JSON_DECIMALS).tolist()


def to_json_dict(mixing, diagnosis, measures) -> dict:
    """The documented JSON layout (module docstring) for `measures` of `mixing`."""
    return {
        "model": mixing.model,
        "tokens": list(mixing.tokens),
        "measures": {
            name: {
                "layers": _rounded(mixing.layers[name]),
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


def format_mixing_table(document: dict) -> str:
    """Per measure and layer: the mixing ratio and the [CLS]/[SEP] shares; then the diagnosis."""
    from cli import LEVELS, NOTICE

    tokens = document["tokens"]
    names = list(document["measures"])
    name_width = max([width(str(COLUMN_MEASURE))] + [len(name) for name in names])
    lines = [
        _(HEADING).format(model=document["model"], count=len(tokens), tokens=" ".join(tokens[:64])),
        "",
        f"{pad(COLUMN_LAYER, 5)}  {pad(COLUMN_MEASURE, name_width, '<')}  "
        f"{pad(COLUMN_MIXING, 7)} {'to_cls':>7} {'to_sep':>7}",
    ]
    for name in names:
        entry = document["measures"][name]
        for layer, (ratio, cls, sep) in enumerate(zip(entry["mixing_ratio"], entry["to_cls"], entry["to_sep"])):
            lines.append(f"{layer + 1:>5}  {name:<{name_width}}  {ratio:>7.3f} {cls:>7.3f} {sep:>7.3f}")
    lines.append("")
    lines.append(_(SINK_LINE).format(rates=", ".join(f"{rate:.2f}" for rate in document["sink_rate"])))
    lines.append("")
    lines.extend(f"{LEVELS.get(d['level'], d['level'])}: {d['message']}" for d in document["diagnosis"])
    lines.extend(_(NOTICE).format(message=notice) for notice in document["notices"])
    return "\n".join(lines)
