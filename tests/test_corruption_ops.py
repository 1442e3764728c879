"""``textssl.corruption.ops``: the shared kernels, and a pin of every strategy's exact seeded output.

The pin guards refactors of the kernels (the values were computed with the code before ``ops.py`` existed
and did not move when the kernels were merged into it): the batches are built by hand from the shipped tokenizers'
vocabularies (no data pipeline involved), every registered strategy (and two Composes) corrupts them for two
seeds, and the SHA-256 of all outputs must not move. Change ``PINNED`` only for an intended change of what a
strategy draws, and say so in the commit.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from textssl.collator import Collator
from textssl.corruption import STRATEGIES, Linear, strategy_from_spec
from textssl.corruption.ops import (
    choose_random,
    dense_ranks,
    gather_rows,
    pack_left,
    sample_ids,
    scatter_rows,
    segment_starts,
    shift_right,
    word_starts,
)
from textssl.tokenization import TokenizerInfo, load_tokenizer

PINNED = {
    "wordpiece": "f19772c588143350d91d3772911fdc7ff132c83091f1022b9cc68f7e87cf825b",
    "unigram": "74aa5f0b23b99769bd445f67b8f60fd17837fc4751fd095e54f4813f774e6f47",
}
# The strategies the pin covers, by name (not ``list(STRATEGIES)``: registering a new strategy must not move the
# pin of the existing ones). T5 span corruption needs sentinels, so it is pinned on the Unigram tokenizer.
PINNED_STRATEGIES = (
    "token_masking",
    "whole_word_masking",
    "span_masking",
    "text_infilling",
    "token_deletion",
    "token_insertion",
    "word_replacement",
    "sentence_permutation",
    "document_rotation",
    "sentence_order",
    "next_sentence",
    "causal_lm",
)
EXTRA_SPECS = [
    {"name": "token_masking", "rate": {"linear": [0.3, 0.15, 10]}, "exact": True},
    {"compose": ["sentence_permutation", {"name": "text_infilling", "rate": 0.3}], "probs": [1.0, 0.5]},
    {"compose": ["sentence_order", "whole_word_masking"]},
]


def hand_built_features(info: TokenizerInfo, n_rows: int = 6) -> list[dict]:
    """Ragged rows ``[CLS] doc0 [SEP] doc1 [SEP]`` of random non-special ids, 4-7 token sentences."""
    rng = np.random.default_rng(0)
    pool = info.replace_ids.numpy()
    feats = []
    for row in range(n_rows):
        ids, sids, dids = [], [], []
        if info.cls_id is not None:
            ids, sids, dids = [info.cls_id], [-1], [0]
        sentence = 0
        for doc in (0, 1):
            for _ in range(int(rng.integers(1, 4))):
                n = int(rng.integers(4, 8))
                ids += rng.choice(pool, n).tolist()
                sids += [sentence] * n
                dids += [doc] * n
                sentence += 1
            ids.append(info.sep_id)
            sids.append(-1)
            dids.append(doc)
        feats.append({"input_ids": ids, "sentence_ids": sids, "document_ids": dids, "_index": row})
    return feats


def output_digest(kind: str) -> str:
    info = TokenizerInfo.from_tokenizer(load_tokenizer(kind))
    feats = hand_built_features(info)
    specs: list = list(PINNED_STRATEGIES) + EXTRA_SPECS if kind == "wordpiece" else ["t5_span_corruption"]
    digest = hashlib.sha256()
    keep = ("special_mask", "word_start", "sentence_ids", "document_ids")
    for spec in specs:
        for seed in (0, 7):
            out = Collator(info, strategy_from_spec(spec), seed=seed, keep_keys=keep)(
                [dict(f, _step=3) for f in feats]
            )
            for key in sorted(out):
                arr = out[key].numpy()
                digest.update(f"{spec}|{seed}|{key}|{arr.dtype.str}|{arr.shape}".encode())
                digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
def test_seeded_outputs_are_pinned(kind):
    assert {*PINNED_STRATEGIES, "t5_span_corruption"} <= set(
        STRATEGIES
    )  # the pinned ones are all still there
    assert output_digest(kind) == PINNED[kind]


def test_word_starts_rule():
    table = np.array([True, False, True, False, True])  # ids 0-4; say 4 is special
    ids = np.array([[1, 1, 4, 1, 2, 3], [3, 0, 1, 4, 4, 3]])
    special = ids == 4
    got = word_starts(ids, special, table)
    # row starts and the token after a special start a word; specials themselves never do
    assert got.tolist() == [
        [True, False, False, True, True, False],
        [True, True, False, False, False, True],
    ]
    assert word_starts(ids[:, :0], special[:, :0], table).shape == (2, 0)


def test_row_kernels():
    table = np.array([[10, 11, 12], [20, 21, 22]])
    assert gather_rows(table, np.array([[2, 0], [1, 1]])).tolist() == [[12, 10], [21, 21]]
    # index == width is dropped
    assert scatter_rows(3, np.array([[0, 3], [2, 1]]), np.array([[5, 6], [7, 8]]), fill=-1).tolist() == [
        [5, -1, -1],
        [-1, 8, 7],
    ]
    assert segment_starts(np.array([[1, 1, 2, 2, 1]])).tolist() == [[True, False, True, False, True]]
    assert shift_right(np.array([[1, 2, 3]])).tolist() == [[0, 1, 2]]
    ranks, k = dense_ranks(np.array([[900, 900, 5, -1]]), np.array([[True, True, True, False]]))
    assert ranks.tolist() == [[1, 1, 0, -1]] and k == 2
    (packed,), lengths = pack_left(np.array([[False, True, True], [True, False, False]]), (table, 0))
    assert packed.tolist() == [[11, 12], [20, 0]] and lengths.tolist() == [2, 1]


def test_random_kernels_draw_from_the_generator():
    cand = np.array([[True, False, True, True], [False, False, True, False]])
    chosen, order, taken = choose_random(cand, np.array([2, 1]), torch.Generator().manual_seed(0))
    assert chosen.sum(1).tolist() == [2, 1] and not (chosen & ~cand).any()
    assert taken.tolist() == [[True, True], [True, False]]
    a = sample_ids((3, 4), torch.Generator().manual_seed(1), pool=np.array([7, 8, 9]))
    b = sample_ids((3, 4), torch.Generator().manual_seed(1), pool=np.array([7, 8, 9]))
    assert a.shape == (3, 4) and set(a.ravel()) <= {7, 8, 9} and (a == b).all()
    w = torch.tensor([0.0, 0.0, 1.0])
    assert sample_ids((5,), torch.Generator().manual_seed(1), weights=w).tolist() == [2] * 5
    assert sample_ids((0, 2), torch.Generator(), weights=w).shape == (0, 2)


def test_linear_schedule_is_read_by_the_pin():
    # the first extra spec is a Linear schedule: make sure the pinned run evaluates it mid-way (step 3 of 10)
    s = strategy_from_spec(EXTRA_SPECS[0])
    assert isinstance(s.rate, Linear) and s.rate(3) == pytest.approx(0.255)
