"""BigBird's block layout (models/extract/bigbird.py) on hand-picked random blocks, worked out by hand."""

import numpy as np

from models.extract.bigbird import layout_mask, min_tokens, multiplicity, rebuild

# 6 blocks; query blocks 1..4 draw 2 random key blocks each (as a trained model might)
IDS = np.array([[[3, 4], [4, 5], [0, 1], [1, 2]]])  # [H=1, nb − 2, r]


def test_multiplicity_by_hand():
    expected = np.array(
        [
            [1, 1, 1, 1, 1, 1],  # block 0: global row
            [1, 1, 1, 1, 1, 1],  # block 1: 0, 1, 2, 5 + random 3, 4
            [1, 1, 1, 1, 1, 2],  # block 2: 0, 1, 2, 3, 5 + random 4, 5 (5 twice)
            [2, 1, 1, 1, 1, 1],  # block 3: 0, 2, 3, 4, 5 + random 0, 1 (0 twice)
            [1, 1, 1, 1, 1, 1],  # block 4: 0, 3, 4, 5 + random 1, 2
            [1, 1, 1, 1, 1, 1],  # block 5: global row
        ]
    )
    assert np.array_equal(multiplicity(6, IDS)[0], expected)


def test_eval_mode_draws_count_block_zero_one_plus_r_times():
    zeros = np.zeros((1, 4, 3), dtype=np.int64)
    counts = multiplicity(6, zeros)[0]
    assert (counts[1:5, 0] == 4).all() and (counts[[0, 5]] == 1).all()
    assert counts[2].tolist() == [4, 1, 1, 1, 0, 1]


def test_layout_mask_follows_the_blocks():
    ids = np.array([[[4], [6], [1], [6], [2], [3]]])  # 8 blocks of 2 tokens, one random block each
    mask = layout_mask(2, ids, n=15)[0]  # cut to 15 of 16 tokens
    assert mask.shape == (15, 15)
    # query block 2 (tokens 4, 5): blocks 0, 1, 2, 3, 7 and random 6; not 4 or 5
    assert mask[4:6, 12:14].all() and mask[4:6, 0:8].all() and mask[4:6, 14].all()
    assert not mask[4:6, 8:12].any()
    assert mask[0].all() and mask[14].all()  # global rows (block 7 is cut to one token)


def test_rebuild_multiplies_by_the_copies():
    returned = np.full((1, 12, 12), 0.5, dtype=np.float32)
    rebuilt = rebuild(returned, 2, IDS)[0]
    assert rebuilt[4, 10] == 1.0 and rebuilt[6, 0] == 1.0 and rebuilt[0, 7] == 0.5


def test_min_tokens():
    assert min_tokens(64, 3) == 704 and min_tokens(4, 2) == 36
