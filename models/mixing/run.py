"""Run the context-mixing measures (models/mixing/measures.py, models/mixing/value_zeroing.py) on one input.

One forward pass (models.extract.forward.run_forward: the attentions, and each layer's captured
value projection and its input) gives measures 1–6; value zeroing adds its batched layer reruns, which
call the layer's own LayerNorm 1, feed-forward block and LayerNorm 2 modules.  Everything is
computed in the model's own dtype.

Families: BERT-like encoders whose layers are `encoder.layer[l]` with `attention.self.value`,
`attention.output.{dense, LayerNorm}`, `intermediate` and `output.{dense, LayerNorm}`
(BERT, RoBERTa, ELECTRA, XLM-RoBERTa), and Longformer, whose measures stay banded
(models/mixing/banded.py: BandedMixing, rollout rows of the global tokens only; value zeroing
up to ZEROING_LIMIT tokens).  The other families are refused with a message that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from i18n import N_
from models.extract.attention import (
    ERR_EMPTY,
    ERR_GLOBAL_DENSE,
    ERR_NO_TOKENS,
    NOTICE_TRUNCATED,
    InputError,
    cut_text,
    encode_text,
    model_inputs,
    token_positions,
)
from models.extract.forward import Forward, run_forward
from models.extract.window import check_global_positions
from models.load.device import model_device
from models.load.families import forward_inputs
from models.load.loading import LoadedModel
from models.mixing import banded as B
from models.mixing import measures as M
from models.mixing.measures import MEASURES, WITHOUT_RESIDUAL, Measure
from models.mixing.readings import MixingReadings
from models.mixing.value_zeroing import value_zeroing

MIXING_FAMILIES = ("bert", "roberta", "electra", "xlm-roberta", "longformer")


@dataclass(frozen=True, eq=False)
class ContextMixing(MixingReadings):
    """The context-mixing measures of one input (L layers, N tokens, H heads).

    tokens          [N] token strings, special tokens included
    cls_positions   positions of the cls token; sep_positions: of every sep token
    model           the registry key or folder of the model
    measures        the measures computed, in MEASURES order
    layers          measure → [L, N, N] per-layer matrix, rows sum to 1 (value zeroing: except
                    the rows in `unnormalised`, which are 0)
    rollout         measure → [L, N, N] rollout: row i of layer l is what token i after layer l
                    traces back to among the input tokens
    mixing_ratio    measure → [L] mean over query rows of 1 − M[i, i]
    to_cls, to_sep  measure → [L] mean over query rows of the mass on [CLS], on all [SEP] together
    sink_rate       [L] Gu et al. 2024 (ε = 0.3) on the attention weights: share of sink heads
    sink_keys       [L, H] int, each head's sink key, −1 where the head has none
    unnormalised    value zeroing's (layer, query row) pairs whose total change was not
                    measurably above 0 (0-based; empty when it did not run)
    truncated       True when the input was cut to the model's limit
    notices         plain-language messages (truncation)

    Arrays are read-only, in the model's dtype (float32, or float64 for a float64 model).
    """

    unnormalised: tuple[tuple[int, int], ...] = ()
    truncated: bool = False
    notices: tuple[str, ...] = ()
    form = "dense"


def check_measures(names: Sequence[str] | None) -> tuple[Measure, ...]:
    """The measures asked for, in MEASURES order (None: all); ValueError names an unknown one."""
    if names is None:
        return MEASURES
    for name in names:
        if name not in MEASURES:
            raise ValueError(
                N_("Unknown measure '{name}'; use one of: {choices}.").format(name=name, choices=", ".join(MEASURES))
            )
    return tuple(name for name in MEASURES if name in names)


def check_family(loaded: LoadedModel, dense: bool = False) -> None:
    """InputError unless `loaded` is an encoder the measures can read (`dense`: and its
    attention is dense, for a caller that reads [N, N] matrices)."""
    if dense and loaded.family == "longformer":
        raise InputError(
            N_(
                "'{model}' is a Longformer model: its context-mixing measures stay banded, and only `cli.py mixing` "
                "reads them for now. Use the model's dense twin here (for example minilm instead of minilm-longformer)."
            ).format(model=loaded.name)
        )
    encoder = getattr(loaded.model, "encoder", None)
    if loaded.family not in MIXING_FAMILIES or not hasattr(encoder, "layer"):
        raise InputError(
            N_(
                "'{model}' is a {family} model: the context-mixing measures support BERT, RoBERTa, ELECTRA and "
                "XLM-RoBERTa models for now."
            ).format(model=loaded.name, family=loaded.family)
        )


def context_mixing(
    loaded: LoadedModel,
    text: str,
    text_b: str | None = None,
    measures: Sequence[str] | None = None,
    global_positions: Sequence[int] | None = None,
) -> ContextMixing | B.BandedMixing:
    """Tokenise `text` (and `text_b`) as models.extract.attention does, run the model once, and compute
    `measures` (default: all seven) with their rollouts and per-layer ratios and shares.

    A Longformer model gives a BandedMixing (`global_positions`: its global tokens, default the
    cls token); value zeroing, asked for on more than ZEROING_LIMIT tokens, raises InputError
    before the model runs, and is left out with a notice when `measures` is None."""
    chosen = check_measures(measures)
    check_family(loaded)
    if not isinstance(text, str) or not text.strip():
        raise InputError(ERR_EMPTY)
    if global_positions and loaded.family != "longformer":
        raise InputError(ERR_GLOBAL_DENSE.format(key=loaded.name))
    text_b = text_b if isinstance(text_b, str) and text_b.strip() else None
    tokenizer = loaded.tokenizer
    limit = loaded.spec.max_tokens
    _prepared, first, second, chars_cut = cut_text(text, text_b, tokenizer, limit)
    with loaded.lock:
        encoding = encode_text(tokenizer, first, second, limit)
        ids = encoding["input_ids"][0]
        special_mask = encoding["special_tokens_mask"][0].numpy().astype(bool)
        if special_mask.all():
            raise InputError(ERR_NO_TOKENS)
        tokens = tuple(tokenizer.convert_ids_to_tokens(ids.tolist()))
        full_length = len(ids)
        if len(ids) >= limit:
            full_length = len(
                tokenizer(first, second, truncation=False, split_special_tokens=True, verbose=False)["input_ids"]
            )
    n = len(ids)
    cls = token_positions(ids, special_mask, tokenizer.cls_token_id)
    seps = token_positions(ids, special_mask, tokenizer.sep_token_id)
    truncated = chars_cut or full_length > limit
    notices = [NOTICE_TRUNCATED.format(limit=limit, dropped=max(full_length - n, 0))] if truncated else []
    if loaded.family == "longformer":
        globals_ = check_global_positions(cls[:1] if global_positions is None else global_positions, n)
        chosen = _banded_measures(loaded, chosen, measures is None, n, notices)
        forward = run_forward(loaded, model_inputs(loaded, encoding, globals_), _kinds(globals_), n)
        result = banded_measures_of(loaded, forward, globals_, chosen, cls, seps)
        return B.BandedMixing(tokens=tokens, model=loaded.name, truncated=truncated, notices=tuple(notices), **result)
    forward = run_forward(loaded, forward_inputs(loaded.model, encoding), ("value", "value_input"), n)
    states, finishes = layer_states(loaded, forward)
    width = loaded.model.config.intermediate_size
    result = measures_of(states, finishes, width, chosen, cls, seps)
    return ContextMixing(tokens=tokens, model=loaded.name, truncated=truncated, notices=tuple(notices), **result)


def _kinds(global_positions: Sequence[int]) -> tuple[str, ...]:
    return ("value", "value_input") + (("value_global",) if global_positions else ())


def _banded_measures(loaded: LoadedModel, chosen, by_default: bool, n: int, notices: list[str]):
    """`chosen`, without value zeroing on a Longformer input over ZEROING_LIMIT tokens: a notice
    when it was the default, InputError when it was asked for."""
    if "value_zeroing" not in chosen or n <= B.ZEROING_LIMIT:
        return chosen
    half = max(loaded.model.config.attention_window) // 2
    wording = dict(n=n, pairs=n * (2 * half + 2), limit=B.ZEROING_LIMIT)
    if not by_default:
        raise InputError(
            N_(
                "Value zeroing on a Longformer input of {n} tokens would run the feed-forward block once per "
                "(query, key) pair in the band, about {pairs:,} times per layer; it runs up to {limit} tokens. "
                "Leave it out (the other six measures stay banded and fast), or shorten the input."
            ).format(**wording)
        )
    notices.append(
        N_(
            "Value zeroing was left out: on a Longformer input of {n} tokens it would run the feed-forward "
            "block about {pairs:,} times per layer (it runs up to {limit} tokens)."
        ).format(**wording)
    )
    return tuple(name for name in chosen if name != "value_zeroing")


def _layer_parts(loaded: LoadedModel):
    """(index, parts) for every layer: what a dense and a banded layer state both take from
    the model's modules (the attention output projection, both LayerNorms, the feed-forward
    block and `finish`, LayerNorm-1 input → layer output, for value zeroing).

    The measures are computed on the CPU (models.load.device); the feed-forward block and the
    value-zeroing reruns call the layer's own modules on the model's device.
    """
    device = model_device(loaded.model)

    def on_cpu(parameter: torch.Tensor) -> torch.Tensor:
        return parameter.detach().cpu()

    for index, layer in enumerate(loaded.model.encoder.layer):
        attention_out = layer.attention.output
        ln1, ln2 = attention_out.LayerNorm, layer.output.LayerNorm
        chunk = layer.ff_chunk if hasattr(layer, "ff_chunk") else layer.feed_forward_chunk  # Longformer : BERT

        def feed_forward(hidden, layer=layer):
            return layer.output.dense(layer.intermediate(hidden.to(device))).cpu()

        def finish(pre, chunk=chunk, ln1=ln1):
            return chunk(ln1(pre.to(device))).cpu()

        yield (
            index,
            dict(
                out_weight=on_cpu(attention_out.dense.weight),
                out_bias=on_cpu(attention_out.dense.bias),
                ln1=M.LayerNormParams(on_cpu(ln1.weight), on_cpu(ln1.bias), ln1.eps),
                ln2=M.LayerNormParams(on_cpu(ln2.weight), on_cpu(ln2.bias), ln2.eps),
                feed_forward=feed_forward,
                finish=finish,
            ),
        )


def layer_states(loaded: LoadedModel, forward: Forward):
    """Every layer's M.LayerState, and its `finish` for value zeroing, from one forward pass
    that captured "value" and "value_input" (each layer's input) for batch item 0."""
    states, finishes = [], []
    with torch.inference_mode():
        for index, parts in _layer_parts(loaded):
            finishes.append(parts.pop("finish"))
            states.append(
                M.layer_state(
                    attention=forward.output.attentions[index][0],
                    values=forward.captured["value"][index],
                    inputs=forward.captured["value_input"][index],
                    **parts,
                )
            )
    return states, finishes


def measures_of(
    states: Sequence[M.LayerState],
    finishes: Sequence,
    width: int,
    measures: Sequence[Measure],
    cls_positions: Sequence[int],
    sep_positions: Sequence[int],
) -> dict:
    """The ContextMixing fields that depend on the layers: matrices, rollouts, ratios, shares, sinks."""
    per_layer: dict[str, list[np.ndarray]] = {name: [] for name in measures}
    sinks: list[tuple[np.ndarray, np.ndarray]] = []  # per layer: (rate [], keys [H])
    unnormalised: list[tuple[int, int]] = []
    with torch.inference_mode():
        for index, (state, finish) in enumerate(zip(states, finishes)):
            raw = M.chunked_measures(state, measures)
            for name, matrix in raw.items():
                per_layer[name].append(M.row_normalised(matrix.numpy()))
            if "attention" in per_layer:
                per_layer["attention"].append(state.attention.mean(dim=0).numpy())
            sinks.append(M.sink_heads(state.attention.numpy()))
            if "value_zeroing" in per_layer:
                zeroing = value_zeroing(state, finish, width)
                per_layer["value_zeroing"].append(zeroing.matrix)
                unnormalised.extend((index, row) for row in zeroing.unnormalised)
    layers = {name: np.stack(per_layer[name]) for name in measures}
    return dict(
        cls_positions=tuple(cls_positions),
        sep_positions=tuple(sep_positions),
        measures=tuple(measures),
        layers=layers,
        rollout={name: M.rollout(layers[name], residual=name not in WITHOUT_RESIDUAL) for name in measures},
        mixing_ratio={name: M.mixing_ratio(layers[name]) for name in measures},
        to_cls={name: M.share_to(layers[name], cls_positions) for name in measures},
        to_sep={name: M.share_to(layers[name], sep_positions) for name in measures},
        sink_rate=np.array([rate for rate, _keys in sinks]),
        sink_keys=np.stack([keys for _rate, keys in sinks]),
        unnormalised=tuple(unnormalised),
    )


def banded_states(loaded: LoadedModel, forward: Forward, global_positions: tuple[int, ...]) -> list[B.BandedState]:
    """Every Longformer layer's B.BandedState from one forward pass that captured "value",
    "value_input" (and "value_global" when there are global tokens) for batch item 0."""
    n = forward.captured["value"][0].shape[0]
    captured_global = forward.captured.get("value_global")
    states = []
    with torch.inference_mode():
        for index, parts in _layer_parts(loaded):
            weight = parts["out_weight"]
            states.append(
                B.BandedState(
                    band=forward.output.attentions[index][0],
                    global_rows=forward.output.global_attentions[index][0, :, :n] if global_positions else None,
                    global_positions=tuple(global_positions),
                    values=forward.captured["value"][index],
                    moved=M.head_moved(forward.captured["value"][index], weight, loaded.heads),
                    moved_global=(
                        M.head_moved(captured_global[index], weight, loaded.heads) if captured_global else None
                    ),
                    inputs=forward.captured["value_input"][index],
                    **parts,
                )
            )
    return states


def banded_measures_of(
    loaded: LoadedModel,
    forward: Forward,
    global_positions: tuple[int, ...],
    measures: Sequence[Measure],
    cls_positions: Sequence[int],
    sep_positions: Sequence[int],
) -> dict:
    """The B.BandedMixing fields that depend on the layers."""
    width = loaded.model.config.intermediate_size
    per_layer: dict[str, list[B.BandedMatrix]] = {name: [] for name in measures}
    received, unnormalised, windows = [], [], []
    for index, state in enumerate(banded_states(loaded, forward, global_positions)):
        windows.append(state.band.shape[-1] - len(global_positions) - 1)
        layer = B.banded_layer(state, measures, width)
        for name in measures:
            per_layer[name].append(layer.matrices[name])
        received.append(B.received(state))
        unnormalised.extend((index, row) for row in layer.unnormalised)
    queries = tuple(sorted(set(global_positions) | set(cls_positions[:1])))
    rates, keys = M.sinks_of(np.stack(received))
    return dict(
        cls_positions=tuple(cls_positions),
        sep_positions=tuple(sep_positions),
        global_positions=tuple(global_positions),
        windows=tuple(windows),
        measures=tuple(measures),
        layers={name: tuple(per_layer[name]) for name in measures},
        rollout_queries=queries,
        rollout={
            name: B.rollout_rows(per_layer[name], queries, residual=name not in WITHOUT_RESIDUAL) for name in measures
        },
        mixing_ratio={name: np.array([1.0 - m.diagonal().mean() for m in per_layer[name]]) for name in measures},
        to_cls={name: np.array([m.mass_on(cls_positions).mean() for m in per_layer[name]]) for name in measures},
        to_sep={name: np.array([m.mass_on(sep_positions).mean() for m in per_layer[name]]) for name in measures},
        sink_rate=rates,
        sink_keys=keys,
        unnormalised=tuple(unnormalised),
    )
