"""BigBird block-sparse attention: what transformers returns, what it leaves out, the exact
weights, and the model's real pattern as a mask.

Layout of `BigBirdBlockSparseAttention` (transformers 5.23).  The input is padded to N'
tokens, a whole number nb = N'/b of blocks of b tokens; r = num_random_blocks.  Each query
row runs one softmax over the list of key blocks of its query block q:

  q = 0 and q = nb − 1 (global rows)  every key block
  q = 1                               0, 1, 2, nb − 1             + r random blocks
  q = 2 … nb − 3                      0, q − 1, q, q + 1, nb − 1  + r random blocks
  q = nb − 2                          0, nb − 3, nb − 2, nb − 1   + r random blocks

The random key blocks of query blocks 1 … nb − 2 come from `rand_attn` [H, nb − 2, r].  In
eval mode transformers draws none: every id is 0, so key block 0 (already global) sits in
those rows' softmax 1 + r times.  Copies of a key have equal scores and so equal weights p;
the context sums all copies ((1 + r)·p·v), but the returned `attention_probs` writes each key
once (p).  Rows of query blocks 1 … nb − 2 therefore miss r · Σ_{j in block 0} p_ij: on a tiny
random model (b = 4, r = 2, 64 tokens) they sum to about 0.69–0.74.

The exact weights, the ones that multiply the values, are multiplicity × returned weight,
where multiplicity[q, k] counts key block k in query block q's list (`rebuild`).  Rows then
sum to 1.  `layout_mask` is the pattern itself: which (query, key) pairs get any weight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np

from i18n import N_

RunType = Literal["block_sparse", "original_full"]
RAND_METHODS = ("_bigbird_block_rand_mask_with_head", "_bigbird_block_rand_mask")
CAPTURE_HOOK = "output_capturing_hook"  # transformers.utils.output_capturing's forward hook


@dataclass(frozen=True, eq=False)
class BlockSparseNote:
    """How BigBird attention ran on one input, and what the engine added back.

    ran            "block_sparse", or "original_full" for inputs of at most `min_tokens` tokens
    block          b, tokens per block
    random_blocks  r, random key blocks per query block (as configured)
    min_tokens     (5 + 2r)·b: block-sparse attention needs more tokens than this
    padded_length  N', the input padded to whole blocks (N when full)
    random_ids     int [L, H, N'/b − 2, r]: the key block each middle query block drew
                   (all 0 in eval mode); None when full
    returned_mass  float64 [L, H, N]: row sums of what transformers returned, before the rebuild
    rebuilt        True when duplicated keys were added back (then rows sum to 1)
    """

    ran: RunType
    block: int
    random_blocks: int
    min_tokens: int
    padded_length: int
    random_ids: np.ndarray | None
    returned_mass: np.ndarray
    rebuilt: bool


def min_tokens(block: int, random_blocks: int) -> int:
    """BigBirdModel runs full attention on inputs of at most this many tokens."""
    return (5 + 2 * random_blocks) * block


def key_block_lists(n_blocks: int, random_ids: np.ndarray) -> list[list[int]]:
    """One head's key blocks per query block, copies included (see the module table).

    random_ids: int [nb − 2, r] for query blocks 1 … nb − 2.
    """
    everything = list(range(n_blocks))
    lists = [everything]
    for q in range(1, n_blocks - 1):
        if q == 1:
            fixed = [0, 1, 2, n_blocks - 1]
        elif q == n_blocks - 2:
            fixed = [0, n_blocks - 3, n_blocks - 2, n_blocks - 1]
        else:
            fixed = [0, q - 1, q, q + 1, n_blocks - 1]
        lists.append(fixed + [int(k) for k in random_ids[q - 1]])
    lists.append(everything)
    return lists


def multiplicity(n_blocks: int, random_ids: np.ndarray) -> np.ndarray:
    """int [H, nb, nb]: how often key block k is in query block q's softmax (0 = never).

    random_ids: int [H, nb − 2, r].
    """
    counts = np.zeros((random_ids.shape[0], n_blocks, n_blocks), dtype=np.int64)
    for head, ids in enumerate(random_ids):
        for q, keys in enumerate(key_block_lists(n_blocks, ids)):
            np.add.at(counts[head, q], keys, 1)
    return counts


def _tokens(per_block: np.ndarray, block: int) -> np.ndarray:
    """[H, nb, nb] → [H, nb·b, nb·b], each block value repeated over its b × b tokens."""
    return np.repeat(np.repeat(per_block, block, axis=1), block, axis=2)


def layout_mask(block: int, random_ids: np.ndarray, n: int | None = None) -> np.ndarray:
    """bool [H, N, N]: the pairs BigBird's block-sparse attention computes (N ≤ N' = (nb)·b).

    random_ids: int [H, nb − 2, r] (`BlockSparseNote.random_ids[layer]`); `n` cuts the padding.
    """
    n_blocks = random_ids.shape[1] + 2
    mask = _tokens(multiplicity(n_blocks, random_ids) > 0, block)
    return mask[:, :n, :n] if n is not None else mask


def rebuild(returned: np.ndarray, block: int, random_ids: np.ndarray) -> np.ndarray:
    """float32 [H, N', N']: the exact weights, returned weight × number of copies of the key.

    returned: [H, N', N'] attention_probs of one layer; random_ids: int [H, nb − 2, r].
    """
    heads, padded, _ = returned.shape
    n_blocks = padded // block
    copies = multiplicity(n_blocks, random_ids).astype(np.float32)[:, :, None, :, None]  # [H, nb, 1, nb, 1]
    blocked = returned.reshape(heads, n_blocks, block, n_blocks, block)
    return (blocked * copies).reshape(heads, padded, padded).astype(np.float32, copy=False)


def block_sparse_modules(model) -> list:
    """The model's BigBirdBlockSparseAttention modules, in layer order (empty when full)."""
    return [module for module in model.modules() if all(hasattr(module, name) for name in RAND_METHODS)]


@contextmanager
def configured_run(model, n: int) -> Iterator[list[list[np.ndarray]]]:
    """Run a BigBird forward pass on `n` tokens in the attention type it will use, and record
    the random blocks each block-sparse layer draws.

    transformers' BigBirdModel switches itself to full attention for an input of at most
    `min_tokens` tokens, in the middle of the pass (the new modules then return no attention
    weights) and stays switched.  This picks that type before the pass and puts the configured
    one back afterwards, so a loaded model is the same after every call.  Yields one list per
    block-sparse layer that fills with that layer's draws ([H, nb − 2, r] in one call, or
    [≥ nb − 2, r] per head) during the pass.
    """
    configured = model.config.attention_type
    short = n <= min_tokens(model.config.block_size, model.config.num_random_blocks)
    _switch(model, "original_full" if short else configured)
    modules = block_sparse_modules(model)
    draws: list[list[np.ndarray]] = [[] for _ in modules]
    for module, record in zip(modules, draws):
        for name in RAND_METHODS:
            original = getattr(module, name)

            def recording(*args, _original=original, _record=record, **kwargs):
                drawn = _original(*args, **kwargs)
                _record.append(np.asarray(drawn))
                return drawn

            setattr(module, name, recording)
    try:
        yield draws
    finally:
        for module in modules:
            for name in RAND_METHODS:
                module.__dict__.pop(name, None)
        _switch(model, configured)


def _switch(model, attention_type: RunType) -> None:
    """Set the attention type; when that builds new attention modules, let transformers hook
    them again for `output_attentions` (it hooks a model once, at its first pass, and the new
    modules would return nothing)."""
    if model.attention_type == attention_type:
        return
    model.set_attention_type(attention_type)
    for module in model.modules():
        for key, hook in list(module._forward_hooks.items()):
            if getattr(hook, "__name__", "") == CAPTURE_HOOK:
                del module._forward_hooks[key]
    model._output_capturing_hooks_installed = False


def random_ids_of(draws: list[np.ndarray], heads: int, n_blocks: int) -> np.ndarray:
    """int [H, nb − 2, r] from one layer's recorded draws (one [H, nb − 2, r] call, or one
    [≥ nb − 2, r] call per head for the long-input plans of 1024, 3072 and 4096 tokens)."""
    if len(draws) == 1 and draws[0].ndim == 3:
        return draws[0].astype(np.int64)
    return np.stack([drawn[: n_blocks - 2] for drawn in draws[-heads:]]).astype(np.int64)


def exact_layers(
    config, returned: list[np.ndarray], draws: list[list[np.ndarray]], n: int
) -> tuple[tuple[np.ndarray, ...], BlockSparseNote]:
    """The exact [H, N, N] weights of every layer, and the note that says what was done.

    returned: L arrays [H, N', N'] (what transformers gave, N' ≥ N); draws: from
    `configured_run` (empty lists when the pass ran full attention).
    """
    block, random_blocks = config.block_size, config.num_random_blocks
    sparse = any(draws) and returned[0].shape[-1] % block == 0
    heads, padded = returned[0].shape[0], returned[0].shape[-1]
    layers, masses, ids = [], [], []
    for index, weights in enumerate(returned):
        masses.append(weights[:, :n, :n].sum(axis=-1, dtype=np.float64))
        if sparse:
            random_ids = random_ids_of(draws[index], heads, padded // block)
            ids.append(random_ids)
            weights = rebuild(weights, block, random_ids)
        layers.append(np.ascontiguousarray(weights[:, :n, :n], dtype=np.float32))
    note = BlockSparseNote(
        ran="block_sparse" if sparse else "original_full",
        block=block,
        random_blocks=random_blocks,
        min_tokens=min_tokens(block, random_blocks),
        padded_length=padded,
        random_ids=np.stack(ids) if ids else None,
        returned_mass=np.stack(masses),
        rebuilt=sparse,
    )
    return tuple(layers), note


def notice(note: BlockSparseNote, n: int) -> str:
    """The plain-words line for the result's notices."""
    if note.ran == "original_full":
        return N_(
            "This input has {n} tokens, too few for BigBird's block-sparse attention (it needs more than "
            "{minimum}), so it ran full attention, as transformers does."
        ).format(n=n, minimum=note.min_tokens)
    inner = note.returned_mass[..., note.block : min(n, note.padded_length - note.block)]  # non-global rows
    low, high = float(inner.min()), float(inner.max())
    return N_(
        "BigBird ran block-sparse attention (blocks of {block} tokens, {random} random blocks; the input "
        "was padded to {padded} tokens). The attention transformers returns leaves weight out: outside "
        "the two global blocks its rows sum to {low:.2f}–{high:.2f}, because in eval mode every random "
        "block is block 0 and each copy of a key is written once. The copies were added back, so "
        "every row sums to 1."
    ).format(block=note.block, random=note.random_blocks, padded=note.padded_length, low=low, high=high)
