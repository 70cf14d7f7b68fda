"""Sparse attention patterns, measured against a model's real (dense) attention.

A pattern is a boolean mask over (query, key) pairs: which scores a sparse model would
compute.  Everything outside the mask is treated as zero.  A mask is either shared by all
heads, [N, N], or differs per layer and head, [L, H, N, N] (LSH and top-k depend on each
head's own queries, keys or attention).

A window W means W/2 keys on each side, as in Longformer: W = 2 allows |i − j| ≤ 1.
Coverage of a mask = the share of the real attention mass inside it, averaged over query
rows.  Pure numpy; inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from i18n import N_
from models.extract.banded import masked_mass
from models.extract.window import PATTERN_MIN_WINDOW, check_global_positions, validate_window

PatternName = Literal["local", "dilated", "global", "longformer", "bigbird", "lsh", "topk"]
PATTERNS: tuple[PatternName, ...] = get_args(PatternName)

COMPLEXITY: dict[PatternName, str] = {
    "local": "O(N·W)",
    "dilated": "O(N·W)",
    "global": "O(N·g)",
    "longformer": "O(N·(W+g))",
    "bigbird": "O(N·(W+g+r·b))",
    "lsh": "O(N·log N)",
    "topk": N_("O(N·k) kept, O(N²) to choose"),
}

ERR_SHARE = N_("The share of attention to keep must be above 0 and at most 1; got {share}.")


@dataclass(frozen=True)
class PatternParams:
    window: int = 8  # local part, W/2 each side (local, dilated, longformer, bigbird)
    dilation: int = 2  # dilated: |i − j| ≤ (W/2)·d and (i − j) % d == 0
    global_positions: tuple[int, ...] = (0,)  # global, longformer, bigbird
    block: int = 4  # bigbird block size b
    random_blocks: int = 2  # bigbird: r random key blocks per query block
    buckets: int = 8  # lsh: number of buckets (even)
    topk: int = 8  # topk: keys kept per query row
    seed: int = 0  # bigbird and lsh randomness


# ---------------------------------------------------------------- masks


def _distance(n: int) -> np.ndarray:
    """[N, N] signed offset i − j."""
    positions = np.arange(n)
    return positions[:, None] - positions[None, :]


def local_mask(n: int, window: int) -> np.ndarray:
    """[N, N]: |i − j| ≤ W/2."""
    validate_window(window, minimum=PATTERN_MIN_WINDOW)
    return np.abs(_distance(n)) <= window // 2


def dilated_mask(n: int, window: int, dilation: int) -> np.ndarray:
    """[N, N]: |i − j| ≤ (W/2)·d and (i − j) divisible by d: W/2 keys each side, d apart."""
    validate_window(window, minimum=PATTERN_MIN_WINDOW)
    if dilation < 1:
        raise ValueError(N_("The dilation must be at least 1; got {dilation}.").format(dilation=dilation))
    distance = _distance(n)
    return (np.abs(distance) <= (window // 2) * dilation) & (distance % dilation == 0)


def global_mask(n: int, positions: Sequence[int]) -> np.ndarray:
    """[N, N]: i ∈ G or j ∈ G (global tokens attend to all and are attended by all)."""
    check_global_positions(positions, n)
    mask = np.zeros((n, n), dtype=bool)
    positions = list(positions)
    mask[positions, :] = True
    mask[:, positions] = True
    return mask


def longformer_mask(n: int, window: int, positions: Sequence[int]) -> np.ndarray:
    """[N, N]: local window | global tokens."""
    return local_mask(n, window) | global_mask(n, positions)


def bigbird_mask(
    n: int, window: int, positions: Sequence[int], block: int, random_blocks: int, seed: int
) -> np.ndarray:
    """[N, N]: window | global | r random key blocks per query block (blocks of b tokens).

    Positions are cut into blocks of `block` tokens (the last may be shorter); each query
    block gets `random_blocks` distinct key blocks drawn by numpy's default_rng(seed)
    (capped at the number of blocks), and allows every pair between the two blocks.
    """
    if block < 1:
        raise ValueError(N_("The BigBird block size must be at least 1; got {block}.").format(block=block))
    if random_blocks < 0:
        raise ValueError(
            N_("The number of BigBird random blocks must be at least 0; got {random}.").format(random=random_blocks)
        )
    mask = longformer_mask(n, window, positions)
    rng = np.random.default_rng(seed)
    n_blocks = -(-n // block)
    draws = min(random_blocks, n_blocks)
    for query_block in range(n_blocks):
        rows = slice(query_block * block, (query_block + 1) * block)
        for key_block in rng.choice(n_blocks, size=draws, replace=False):
            mask[rows, key_block * block : (key_block + 1) * block] = True
    return mask


def check_buckets(n_buckets: int) -> int:
    """`n_buckets` when it is an even number of at least 2, else ValueError that says so."""
    if n_buckets < 2 or n_buckets % 2:
        raise ValueError(
            N_("The number of LSH buckets must be an even number of at least 2; got {buckets}.").format(
                buckets=n_buckets
            )
        )
    return n_buckets


def lsh_buckets(vectors: np.ndarray, n_buckets: int, seed: int) -> np.ndarray:
    """[H, N] bucket of each vector [H, N, d] by angular LSH.

    Per head a random rotation R [d, n_buckets/2] (default_rng(seed), drawn in head order);
    bucket = argmax([xR, −xR]) of the L2-normalised vector.
    """
    check_buckets(n_buckets)
    rotations = _rotations(vectors.shape[0], vectors.shape[-1], n_buckets, seed)
    return _hash(vectors, rotations)


def _rotations(heads: int, dim: int, n_buckets: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.standard_normal((dim, n_buckets // 2)) for _ in range(heads)])  # [H, d, K/2]


def _hash(vectors: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    projected = unit @ rotations  # [H, N, K/2]
    return np.concatenate([projected, -projected], axis=-1).argmax(axis=-1)


def lsh_mask(queries: np.ndarray, keys: np.ndarray, n_buckets: int, seed: int) -> np.ndarray:
    """[H, N, N]: allowed iff the query and the key fall in the same bucket (i == j always).

    A head's queries and keys are hashed with the same rotation, so similar vectors meet.
    """
    check_buckets(n_buckets)
    rotations = _rotations(queries.shape[0], queries.shape[-1], n_buckets, seed)
    query_buckets, key_buckets = _hash(queries, rotations), _hash(keys, rotations)
    mask = query_buckets[:, :, None] == key_buckets[:, None, :]
    mask |= np.eye(queries.shape[1], dtype=bool)[None]
    return mask


def topk_mask(weights: np.ndarray, k: int) -> np.ndarray:
    """[H, N, N]: per row the k largest weights of weights [H, N, N] (k capped at N).

    Ties are broken towards the lower key index.
    """
    if k < 1:
        raise ValueError(N_("Top-k must keep at least 1 key per query; got {k}.").format(k=k))
    weights = np.asarray(weights)
    n = weights.shape[-1]
    k = min(k, n)
    order = np.argsort(-weights, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(weights.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def share_mask(weights: np.ndarray, share: float) -> np.ndarray:
    """[H, N, N]: per row the smallest set of largest weights whose sum reaches `share`."""
    if not 0 < share <= 1:
        raise ValueError(ERR_SHARE.format(share=share))
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-weights, axis=-1, kind="stable")
    sorted_weights = np.take_along_axis(weights, order, axis=-1)
    before = np.cumsum(sorted_weights, axis=-1) - sorted_weights  # mass of the larger keys
    keep_sorted = before < share * weights.sum(axis=-1, keepdims=True) - 1e-12
    keep_sorted[..., 0] = True
    mask = np.zeros(weights.shape, dtype=bool)
    np.put_along_axis(mask, order, keep_sorted, axis=-1)
    return mask


# ---------------------------------------------------------------- measures


def density(mask: np.ndarray) -> float | np.ndarray:
    """Allowed pairs / N²: a float for a shared mask [N, N], [L, H] for per-head masks."""
    mask = np.asarray(mask, dtype=bool)
    result = mask.mean(axis=(-2, -1))
    return float(result) if mask.ndim == 2 else result


def coverage(attention: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """[L, H]: mean over query rows of Σ_j A[i, j] · mask[i, j]; mask [N, N] or [L, H, N, N]."""
    mask = np.asarray(mask, dtype=bool)
    return np.stack(
        [
            masked_mass(weights, mask if mask.ndim == 2 else mask[layer]).mean(axis=-1)
            for layer, weights in enumerate(attention)
        ]
    )


def distance_mass(attention: Sequence[np.ndarray]) -> np.ndarray:
    """[L, N]: mean over heads and query rows of the attention at distance |i − j| = d."""
    n = attention[0].shape[-1]
    distance = np.abs(_distance(n)).ravel()
    out = np.zeros((len(attention), n))
    for layer, weights in enumerate(attention):
        summed = np.asarray(weights, dtype=np.float64).sum(axis=0).ravel()  # over heads
        out[layer] = np.bincount(distance, weights=summed, minlength=n) / (weights.shape[0] * n)
    return out


def min_window(attention: Sequence[np.ndarray], share: float = 0.9) -> np.ndarray:
    """int [L]: the smallest even W whose window |i − j| ≤ W/2 keeps `share` of each layer's
    attention (mean over heads and rows)."""
    if not 0 < share <= 1:
        raise ValueError(ERR_SHARE.format(share=share))
    kept = np.cumsum(distance_mass(attention), axis=-1)  # [L, N]: mass within distance d
    reach = np.argmax(kept >= share - 1e-9, axis=-1)
    reach[~(kept >= share - 1e-9).any(axis=-1)] = kept.shape[-1] - 1
    return 2 * reach


def oracle_coverage(attention: Sequence[np.ndarray], density_value: float) -> np.ndarray:
    """[L, H]: top-k coverage with k = max(1, round(density · N)); no pattern with that many
    keys per query could keep more."""
    n = attention[0].shape[-1]
    k = min(n, max(1, round(density_value * n)))
    out = np.zeros((len(attention), attention[0].shape[0]))
    for layer, weights in enumerate(attention):
        top = -np.partition(-np.asarray(weights, dtype=np.float64), k - 1, axis=-1)[..., :k]
        out[layer] = top.sum(axis=-1).mean(axis=-1)
    return out


def reachability(mask: np.ndarray) -> np.ndarray:
    """int8 [N, N]: 1 where allowed in one hop (or i == j), 2 where reachable in exactly two
    hops (i → m → j, both hops allowed), 0 otherwise."""
    one = np.asarray(mask, dtype=bool) | np.eye(mask.shape[0], dtype=bool)
    as_float = one.astype(np.float32)
    two = (as_float @ as_float) > 0
    hops = np.zeros(one.shape, dtype=np.int8)
    hops[two] = 2
    hops[one] = 1
    return hops


def reach_summary(hops: np.ndarray) -> dict[str, float]:
    """Share of pairs connected in one hop, and within two hops."""
    return {"one_hop": float((hops == 1).mean()), "two_hops": float((hops > 0).mean())}


# ---------------------------------------------------------------- driver


@dataclass(frozen=True, eq=False)
class PatternReport:
    """One pattern measured on one input (L layers, H heads, N tokens).

    mask            [N, N] shared, or [L, H, N, N] per head (lsh, topk)
    density         allowed pairs / N² (mean over layers and heads when per head)
    computed        scores the pattern computes (allowed pairs; per-head mean, rounded)
    coverage        [L, H] share of the real attention inside the mask
    layer_coverage  [L] mean over heads
    oracle          [L, H] top-k coverage at the same density (the learned-sparsity yardstick)
    min_window      [L] smallest even window that keeps `share` in each layer
    hops            [N, N] reachability of a shared mask (None for per-head masks)
    """

    pattern: PatternName
    params: PatternParams
    n: int
    mask: np.ndarray
    density: float
    computed: int
    complexity: str
    coverage: np.ndarray
    layer_coverage: np.ndarray
    oracle: np.ndarray
    min_window: np.ndarray
    share: float
    hops: np.ndarray | None


def pattern_mask(
    pattern: PatternName,
    attention: Sequence[np.ndarray],
    params: PatternParams,
    queries: Sequence[np.ndarray] | None = None,
    keys: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """The mask of `pattern` for this input: [N, N] or [L, H, N, N]."""
    n = attention[0].shape[-1]
    p = params
    if pattern == "local":
        return local_mask(n, p.window)
    if pattern == "dilated":
        return dilated_mask(n, p.window, p.dilation)
    if pattern == "global":
        return global_mask(n, p.global_positions)
    if pattern == "longformer":
        return longformer_mask(n, p.window, p.global_positions)
    if pattern == "bigbird":
        return bigbird_mask(n, p.window, p.global_positions, p.block, p.random_blocks, p.seed)
    if pattern == "lsh":
        if queries is None or keys is None:
            raise ValueError(N_("The LSH pattern hashes the model's own queries and keys, and this result has none."))
        if not len(queries) == len(keys) == len(attention):
            raise ValueError(
                N_("LSH needs queries and keys for each of the {layers} layers; got {queries} and {keys}.").format(
                    layers=len(attention), queries=len(queries), keys=len(keys)
                )
            )
        return np.stack([lsh_mask(q, k, p.buckets, p.seed) for q, k in zip(queries, keys)])
    if pattern == "topk":
        return np.stack([topk_mask(weights, p.topk) for weights in attention])
    raise ValueError(
        N_("Unknown pattern '{pattern}'; choose one of: {choices}.").format(
            pattern=pattern, choices=", ".join(PATTERNS)
        )
    )


def explore(
    attention: Sequence[np.ndarray],
    pattern: PatternName,
    params: PatternParams = PatternParams(),
    share: float = 0.9,
    queries: Sequence[np.ndarray] | None = None,
    keys: Sequence[np.ndarray] | None = None,
) -> PatternReport:
    """Measure one pattern on attention (L arrays [H, N, N]); queries/keys [H, N, d] for lsh."""
    if not 0 < share <= 1:
        raise ValueError(ERR_SHARE.format(share=share))
    n = attention[0].shape[-1]
    mask = pattern_mask(pattern, attention, params, queries, keys)
    allowed = float(np.mean(density(mask)))
    covered = coverage(attention, mask)
    report = PatternReport(
        pattern=pattern,
        params=params,
        n=n,
        mask=mask,
        density=allowed,
        computed=round(allowed * n * n),
        complexity=COMPLEXITY[pattern],
        coverage=covered,
        layer_coverage=covered.mean(axis=1),
        oracle=oracle_coverage(attention, allowed),
        min_window=min_window(attention, share),
        share=share,
        hops=reachability(mask) if mask.ndim == 2 else None,
    )
    for array in (report.mask, report.coverage, report.layer_coverage, report.oracle, report.min_window, report.hops):
        if array is not None:
            array.setflags(write=False)
    return report
