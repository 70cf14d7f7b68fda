"""The one route of every forward pass on a shared model.

    run_forward(loaded, inputs, kinds, n) -> Forward(output, captured, draws)

A loaded model is shared by every caller of the process (all visitors of the app, a corpus
run beside single analyses).  Two things could make one caller's pass leak into another's,
and both are closed here, not left to a convention each caller must remember:

- the value/query/key captures are per call (models.load.capture.capturing): a pass keeps only
  the tensors of the thread that asked for them;
- a family whose forward pass changes the model for its duration (BigBird picks its
  attention type for the input's length and records its random blocks, models.extract.bigbird)
  runs one pass at a time per model.  Every other family's passes run side by side.

The tokenizer is not safe under concurrent calls either; `LoadedModel.lock` guards it.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from models.extract import bigbird
from models.load import capture
from models.load.device import model_device, to_cpu
from models.load.families import family_info
from models.load.loading import LoadedModel

ERR_NO_ATTENTION = "The model returned no attention weights; it must be loaded with eager attention."

_STATEFUL_LOCKS: weakref.WeakKeyDictionary[torch.nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class Forward:
    """One forward pass.

    output    the model's output (attentions: L tensors, in the family's form)
    captured  kind → L captured projection outputs (models.load.capture.capturing's layout)
    draws     BigBird: per block-sparse layer, the random blocks it drew; else []
    """

    output: object
    captured: dict[str, list[torch.Tensor]]
    draws: list[list[np.ndarray]]


def _stateful_lock(model: torch.nn.Module) -> threading.Lock:
    with _LOCKS_LOCK:
        lock = _STATEFUL_LOCKS.get(model)
        if lock is None:
            lock = _STATEFUL_LOCKS[model] = threading.Lock()
        return lock


def run_forward(
    loaded: LoadedModel,
    inputs: dict[str, torch.Tensor],
    kinds: tuple[capture.Projection, ...] = (),
    n: int | None = None,
) -> Forward:
    """Run `loaded` once on `inputs` (batch first, on the CPU), with attentions, in inference
    mode, on the model's device; what comes back is on the CPU (models.load.device).

    kinds: the projections to keep ("value", "value_global", "query", "key"); n: keep batch
    item 0's first n tokens, or None for the whole batch (models.load.capture.capturing).
    Raises RuntimeError when the model gives no attention weights.
    """
    info = family_info(loaded.family)
    device = model_device(loaded.model)
    if device.type != "cpu":
        inputs = {name: tensor.to(device) for name, tensor in inputs.items()}
    paths = capture.CAPTURE.get(loaded.family)
    points = capture.hook_points(loaded.model, loaded.family, loaded.heads, info.query_key) if kinds else {}
    stateful = info.form == "block_sparse"
    serial = _stateful_lock(loaded.model) if stateful else nullcontext()
    width = inputs["input_ids"].shape[1]
    with serial:
        run = bigbird.configured_run(loaded.model, width) if stateful else nullcontext([])
        with (
            torch.inference_mode(),
            capture.capturing(points, kinds, n, paths.seq_first if paths else False) as captured,
            run as draws,
        ):
            output = loaded.model(**inputs, output_attentions=True)
    if not output.attentions:
        raise RuntimeError(ERR_NO_ATTENTION)
    if device.type != "cpu":  # every score is computed on the CPU, the same code on either device
        output = type(output)(**{name: to_cpu(value) for name, value in output.items()})
        captured = to_cpu(captured)
    return Forward(output, captured, draws)
