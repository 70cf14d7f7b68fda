"""What the extractor hooks in each model family, as a table, and the hooks themselves.

One forward pass feeds everything: forward hooks on each layer's query, key and value
projections keep their outputs (views, no copy), and the attention output projection's
weight gives each head's W_O^h for the norm view (models/norms.py).

A family is one CAPTURE entry: a new encoder family is a new row, not a new branch.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

import torch

from models.registry import Family


@dataclass(frozen=True)
class CapturePaths:
    """Module-name suffixes of one family's attention projections (all nn.Linear)."""

    query: str
    key: str
    value: str  # its output includes the bias: v_j = x_j W_V + b_V
    output: str  # attention output projection, weight [D, H·d]; head h uses columns h·d:(h+1)·d
    value_global: str | None = None  # Longformer: the value projection of the global rows
    seq_first: bool = False  # Longformer projects [N_padded, batch, D], the others [batch, N, D]


_BERT_LIKE = CapturePaths(
    query=".attention.self.query",
    key=".attention.self.key",
    value=".attention.self.value",
    output=".attention.output.dense",
)
CAPTURE: dict[Family, CapturePaths] = {  # families missing here have no norm view (models.families notes why)
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "electra": _BERT_LIKE,
    "xlm-roberta": _BERT_LIKE,
    "bigbird": _BERT_LIKE,
    "distilbert": CapturePaths(
        query=".attention.q_lin",
        key=".attention.k_lin",
        value=".attention.v_lin",
        output=".attention.out_lin",
    ),
    "longformer": CapturePaths(
        query=".attention.self.query",
        key=".attention.self.key",
        value=".attention.self.value",
        output=".attention.output.dense",
        value_global=".attention.self.value_global",
        seq_first=True,
    ),
}
Projection = str  # "query", "key", "value" or "value_global"


@dataclass(frozen=True, eq=False)
class LayerModules:
    """One layer's hooked projections and the output projection's per-head factors."""

    projections: dict[Projection, torch.nn.Module]
    output_factors: torch.Tensor  # [H, d, d] float32: R_hᵀ, with W_O^h = Q_h R_h, so ‖W_O^h v‖ = ‖v R_hᵀ‖


_PARTS: weakref.WeakKeyDictionary[torch.nn.Module, tuple[LayerModules, ...]] = weakref.WeakKeyDictionary()
_LAYER_INDEX = re.compile(r"\.(\d+)\.")


def layer_modules(model: torch.nn.Module, family: Family, heads: int) -> tuple[LayerModules, ...]:
    """Every layer's projections, in layer order (found once per model, then cached).

    The cache holds no reference that keeps the model alive and never changes the model.
    """
    cached = _PARTS.get(model)
    if cached is not None:
        return cached
    paths = CAPTURE[family]
    wanted = {"query": paths.query, "key": paths.key, "value": paths.value}
    if paths.value_global:
        wanted["value_global"] = paths.value_global
    found: dict[int, dict[str, torch.nn.Module]] = {}
    for name, module in model.named_modules():
        index = _LAYER_INDEX.search(name)
        if index is None:
            continue
        for kind, suffix in (*wanted.items(), ("output", paths.output)):
            if name.endswith(suffix):
                found.setdefault(int(index.group(1)), {})[kind] = module
    layers = tuple(
        LayerModules(
            projections={kind: found[index][kind] for kind in wanted},
            output_factors=output_factors(found[index]["output"].weight, heads),
        )
        for index in sorted(found)
    )
    _PARTS[model] = layers
    return layers


def output_factors(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """[H, d, d] float32 R_hᵀ, with R_h upper-triangular and W_O^h = Q_h R_h (QR in float64).

    weight: [D, H·d], the output projection's weight (y = x Wᵀ), so head h's slice is
    W_O^h = weight[:, h·d:(h+1)·d] and ‖f_h‖ = ‖W_O^h v_h‖ = ‖R_h v_h‖: a d×d product
    per token instead of d×D.  Transposed so that row vectors multiply it: v_h R_hᵀ.
    """
    out_dim, inner = weight.shape
    d = inner // heads
    slices = weight.detach().double().reshape(out_dim, heads, d).permute(1, 0, 2)  # [H, D, d]
    return torch.linalg.qr(slices, mode="r").R.transpose(1, 2).float().contiguous()


def register(layers: tuple[LayerModules, ...], kinds: tuple[Projection, ...], n: int | None, seq_first: bool):
    """Forward hooks that keep each layer's projection outputs (views, no copy).

    n: keep batch item 0's first n tokens, [N, H·d]; None: keep the whole batch, batch first,
    [B, N', H·d] (N' can exceed the inputs' width: Longformer pads to its window).
    Returns (captured: kind → list of L tensors, handles to remove after the pass).
    """
    captured: dict[str, list[torch.Tensor]] = {kind: [] for kind in kinds}

    def keep(out: torch.Tensor) -> torch.Tensor:
        if n is None:
            return (out.transpose(0, 1) if seq_first else out).detach()
        return (out[:n, 0] if seq_first else out[0, :n]).detach()

    handles = []
    for layer in layers:
        for kind in kinds:
            module = layer.projections.get(kind)
            if module is None:
                continue
            handles.append(
                module.register_forward_hook(lambda _m, _i, out, kind=kind: captured[kind].append(keep(out)))
            )
    return captured, handles
