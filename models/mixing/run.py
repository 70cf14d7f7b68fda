"""Run the context-mixing measures (models/mixing/measures.py, models/mixing/value_zeroing.py) on one input.

One forward pass (models.extract.forward.run_forward: the attentions, and each layer's captured
value projection and its input) gives measures 1–6; value zeroing adds its batched layer reruns, which
call the layer's own LayerNorm 1, feed-forward block and LayerNorm 2 modules.  Everything is
computed in the model's own dtype.

Families: BERT-like encoders whose layers are `encoder.layer[l]` with `attention.self.value`,
`attention.output.{dense, LayerNorm}`, `intermediate` and `output.{dense, LayerNorm}`
(BERT, RoBERTa, ELECTRA, XLM-RoBERTa).  Longformer (banded) and the other families are
refused with a message that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from i18n import N_
from models.extract.attention import ERR_EMPTY, ERR_NO_TOKENS, NOTICE_TRUNCATED, InputError, _cut, _encode, _positions
from models.extract.forward import Forward, run_forward
from models.load.device import model_device
from models.load.families import forward_inputs
from models.load.loading import LoadedModel
from models.mixing import measures as M
from models.mixing.measures import MEASURES, WITHOUT_RESIDUAL, Measure
from models.mixing.value_zeroing import value_zeroing

MIXING_FAMILIES = ("bert", "roberta", "electra", "xlm-roberta")
ERR_MEASURE = N_("Unknown measure '{name}'; use one of: {choices}.")
ERR_BANDED = N_(
    "'{model}' is a Longformer model: the context-mixing measures need a BERT-like model with dense "
    "attention for now. Use its dense twin (for example minilm instead of minilm-longformer)."
)
ERR_MIXING_FAMILY = N_(
    "'{model}' is a {family} model: the context-mixing measures support BERT, RoBERTa, ELECTRA and "
    "XLM-RoBERTa models for now."
)


@dataclass(frozen=True, eq=False)
class ContextMixing:
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

    tokens: tuple[str, ...]
    cls_positions: tuple[int, ...]
    sep_positions: tuple[int, ...]
    model: str
    measures: tuple[Measure, ...]
    layers: Mapping[str, np.ndarray]
    rollout: Mapping[str, np.ndarray]
    mixing_ratio: Mapping[str, np.ndarray]
    to_cls: Mapping[str, np.ndarray]
    to_sep: Mapping[str, np.ndarray]
    sink_rate: np.ndarray
    sink_keys: np.ndarray
    unnormalised: tuple[tuple[int, int], ...] = ()
    truncated: bool = False
    notices: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("layers", "rollout", "mixing_ratio", "to_cls", "to_sep"):
            table = {key: _read_only(value) for key, value in getattr(self, name).items()}
            object.__setattr__(self, name, MappingProxyType(table))
        for name in ("sink_rate", "sink_keys"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))

    @property
    def cls_token(self) -> str | None:
        """The cls token's string ("[CLS]", "<s>"), or None when the input has none."""
        return self.tokens[self.cls_positions[0]] if self.cls_positions else None

    @property
    def sep_token(self) -> str | None:
        return self.tokens[self.sep_positions[0]] if self.sep_positions else None


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.flags.writeable:
        array = array.view()
        array.setflags(write=False)
    return array


def check_measures(names: Sequence[str] | None) -> tuple[Measure, ...]:
    """The measures asked for, in MEASURES order (None: all); ValueError names an unknown one."""
    if names is None:
        return MEASURES
    for name in names:
        if name not in MEASURES:
            raise ValueError(ERR_MEASURE.format(name=name, choices=", ".join(MEASURES)))
    return tuple(name for name in MEASURES if name in names)


def check_family(loaded: LoadedModel) -> None:
    """InputError unless `loaded` is a BERT-like dense encoder the measures can read."""
    if loaded.family == "longformer":
        raise InputError(ERR_BANDED.format(model=loaded.name))
    encoder = getattr(loaded.model, "encoder", None)
    if loaded.family not in MIXING_FAMILIES or not hasattr(encoder, "layer"):
        raise InputError(ERR_MIXING_FAMILY.format(model=loaded.name, family=loaded.family))


def context_mixing(
    loaded: LoadedModel,
    text: str,
    text_b: str | None = None,
    measures: Sequence[str] | None = None,
) -> ContextMixing:
    """Tokenise `text` (and `text_b`) as models.extract.attention does, run the model once, and compute
    `measures` (default: all seven) with their rollouts and per-layer ratios and shares."""
    chosen = check_measures(measures)
    check_family(loaded)
    if not isinstance(text, str) or not text.strip():
        raise InputError(ERR_EMPTY)
    text_b = text_b if isinstance(text_b, str) and text_b.strip() else None
    tokenizer = loaded.tokenizer
    limit = loaded.spec.max_tokens
    _prepared, first, second, chars_cut = _cut(text, text_b, tokenizer, limit)
    with loaded.lock:
        encoding = _encode(tokenizer, first, second, limit)
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
    forward = run_forward(loaded, forward_inputs(loaded.model, encoding), ("value", "value_input"), n)
    states, finishes = layer_states(loaded, forward)
    width = loaded.model.config.intermediate_size
    cls = _positions(ids, special_mask, tokenizer.cls_token_id)
    seps = _positions(ids, special_mask, tokenizer.sep_token_id)
    result = measures_of(states, finishes, width, chosen, cls, seps)
    truncated = chars_cut or full_length > limit
    notices = (NOTICE_TRUNCATED.format(limit=limit, dropped=max(full_length - n, 0)),) if truncated else ()
    return ContextMixing(tokens=tokens, model=loaded.name, truncated=truncated, notices=notices, **result)


def layer_states(loaded: LoadedModel, forward: Forward):
    """Every layer's M.LayerState, and its `finish` (LayerNorm-1 input → layer output) for
    value zeroing, from one forward pass that captured "value" and "value_input" (each
    layer's input) for batch item 0.

    The measures are computed on the CPU (models.load.device); the feed-forward block and the
    value-zeroing reruns call the layer's own modules on the model's device.
    """
    device = model_device(loaded.model)
    states, finishes = [], []

    def on_cpu(parameter: torch.Tensor) -> torch.Tensor:
        return parameter.detach().cpu()

    with torch.inference_mode():
        for index, layer in enumerate(loaded.model.encoder.layer):
            attention_out = layer.attention.output
            ln1, ln2 = attention_out.LayerNorm, layer.output.LayerNorm

            def feed_forward(hidden, layer=layer):
                return layer.output.dense(layer.intermediate(hidden.to(device))).cpu()

            def finish(pre, layer=layer, ln1=ln1):
                return layer.feed_forward_chunk(ln1(pre.to(device))).cpu()

            states.append(
                M.layer_state(
                    attention=forward.output.attentions[index][0],
                    values=forward.captured["value"][index],
                    inputs=forward.captured["value_input"][index],
                    out_weight=on_cpu(attention_out.dense.weight),
                    out_bias=on_cpu(attention_out.dense.bias),
                    ln1=M.LayerNormParams(on_cpu(ln1.weight), on_cpu(ln1.bias), ln1.eps),
                    ln2=M.LayerNormParams(on_cpu(ln2.weight), on_cpu(ln2.bias), ln2.eps),
                    feed_forward=feed_forward,
                )
            )
            finishes.append(finish)
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
