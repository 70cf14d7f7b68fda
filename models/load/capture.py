"""What the extractor hooks in each model family, as a table, and the hooks themselves.

One forward pass feeds everything: forward hooks on each layer's query, key and value
projections keep their outputs (views, no copy), and the attention output projection's
weight gives each head's W_O^h for the norm view (models/score/norms.py).

The hooks are per call, never per model: they are installed on a model once and write
only into the sink that the calling thread opened with `capturing`, so forward passes of
two visitors on one shared model never see each other's tensors.

A family is one CAPTURE entry: a new encoder family is a new row, not a new branch.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from models.load.registry import Family


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
CAPTURE: dict[Family, CapturePaths] = {  # families missing here have no norm view (models.load.families notes why)
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
Projection = str  # "query", "key", "value", "value_global" or "value_input"
INPUT_KINDS = ("value_input",)  # kinds that keep their module's input: the value projection's is the layer's input


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
    """[H, d, d] float32 R_hᵀ on the CPU, with R_h upper-triangular and W_O^h = Q_h R_h (QR in float64).

    weight: [D, H·d], the output projection's weight (y = x Wᵀ), so head h's slice is
    W_O^h = weight[:, h·d:(h+1)·d] and ‖f_h‖ = ‖W_O^h v_h‖ = ‖R_h v_h‖: a d×d product
    per token instead of d×D.  Transposed so that row vectors multiply it: v_h R_hᵀ.
    """
    out_dim, inner = weight.shape
    d = inner // heads
    slices = weight.detach().cpu().double().reshape(out_dim, heads, d).permute(1, 0, 2)  # [H, D, d]
    return torch.linalg.qr(slices, mode="r").R.transpose(1, 2).float().contiguous()


class _Sink:
    """What one forward pass asked to keep, and where it goes (see `capturing`)."""

    def __init__(self, kinds: tuple[Projection, ...], n: int | None, seq_first: bool):
        self.captured: dict[str, list[torch.Tensor]] = {kind: [] for kind in kinds}
        self.n = n
        self.seq_first = seq_first

    def keep(self, kind: Projection, out: torch.Tensor) -> None:
        if self.n is None:
            kept = out.transpose(0, 1) if self.seq_first else out
        else:
            kept = out[: self.n, 0] if self.seq_first else out[0, : self.n]
        self.captured[kind].append(kept.detach())


# The sink of the forward pass running in this thread (None: keep nothing).  Hooks are
# installed on a model once and read it, so a pass only ever fills its own caller's lists,
# however many threads run passes on the same model at once.
_SINK: ContextVar[_Sink | None] = ContextVar("attention_maps_capture", default=None)
_INSTALL_LOCK = threading.Lock()
HOOK_PREFIX = "attention_maps_keep_"


def _hook(kind: Projection):
    def keep(_module, inputs, out):
        sink = _SINK.get()
        if sink is not None and kind in sink.captured:
            sink.keep(kind, inputs[0] if kind in INPUT_KINDS else out)

    keep.__name__ = HOOK_PREFIX + kind
    return keep


def _install(points: dict[Projection, list[torch.nn.Module]]) -> None:
    """The permanent hooks of `points` (kind → modules): each module is hooked once."""
    with _INSTALL_LOCK:
        for kind, modules in points.items():
            for module in modules:
                names = {getattr(hook, "__name__", "") for hook in module._forward_hooks.values()}
                if HOOK_PREFIX + kind not in names:
                    module.register_forward_hook(_hook(kind))


def hook_points(model: torch.nn.Module, family: Family, heads: int, query_key: tuple[str, str] | None):
    """kind → the modules whose output that kind is, in layer order.

    Families with a CAPTURE entry: its projections.  The others: the modules named by the
    family table's query/key suffixes (`query_key`, None for none); a module shared by every
    layer (ALBERT) is one entry, and its hook fires once per layer.
    """
    if family in CAPTURE:
        points: dict[Projection, list[torch.nn.Module]] = {}
        for layer in layer_modules(model, family, heads):
            for kind, module in layer.projections.items():
                points.setdefault(kind, []).append(module)
        points["value_input"] = list(points["value"])  # the same modules; their hook keeps the input
        return points
    points = {"query": [], "key": []}
    if query_key is not None:
        for name, module in model.named_modules():
            for suffix, kind in zip(query_key, ("query", "key")):
                if name.endswith(suffix):
                    points[kind].append(module)
    return points


@contextmanager
def capturing(
    points: dict[Projection, list[torch.nn.Module]],
    kinds: tuple[Projection, ...],
    n: int | None,
    seq_first: bool,
) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Keep the outputs of `kinds` during the forward passes this thread runs inside the block.

    n: keep batch item 0's first n tokens, [N, H·d]; None: keep the whole batch, batch first,
    [B, N', H·d] (N' can exceed the inputs' width: Longformer pads to its window).
    Yields kind → list of tensors (one per hooked call, in call order; views, no copy).
    Passes in other threads, or outside the block, keep nothing.
    """
    _install({kind: points.get(kind, []) for kind in kinds})
    sink = _Sink(kinds, n, seq_first)
    token = _SINK.set(sink)
    try:
        yield sink.captured
    finally:
        _SINK.reset(token)
