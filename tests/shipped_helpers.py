"""Test helpers on the three shipped tokenizers: features packed by hand from random sentences (no data
pipeline), each with its ``document_ids``, and a one-call collate.

Imported by the tests as ``from shipped_helpers import ...`` (like ``blocks_helpers``).
"""

from __future__ import annotations

import functools
import random

import numpy as np

from textssl.collator import Collator
from textssl.tokenization import TokenizerInfo, load_tokenizer

KINDS = ("wordpiece", "bpe", "unigram")
WORDS = (
    "the a of and to in is was for on that with as by it from at his an were are which this be or "
    "language model training pretraining transformer attention corpus sentence document token "
    "unbelievably extraordinary photosynthesis internationalization misunderstanding counterproductive "
    "river mountain village station orchestra symphony laboratory Cambridge Mediterranean 1987"
).split()


@functools.cache
def tok_info(kind: str):
    tok = load_tokenizer(kind)
    return tok, TokenizerInfo.from_tokenizer(tok)


@functools.cache
def packed(kind: str, n_tokens: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Documents tokenized with the template and concatenated: (ids, document index per token)."""
    tok, _ = tok_info(kind)
    rng = random.Random(0)
    ids: list[int] = []
    docs: list[int] = []
    d = 0
    while len(ids) < n_tokens:
        text = " ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
            for _ in range(rng.randint(1, 4))
        )
        enc = tok(text, verbose=False)["input_ids"]
        ids += enc
        docs += [d] * len(enc)
        d += 1
    return tuple(ids[:n_tokens]), tuple(docs[:n_tokens])


def make_features(
    kind: str, rows: int = 64, length: int = 128, ragged: bool = False, seed: int = 0
) -> list[dict]:
    ids, docs = packed(kind, rows * length)
    rng = random.Random(seed)
    feats = []
    for r in range(rows):
        n = rng.randint(2, length) if ragged else length
        row_docs = np.asarray(docs[r * length : r * length + n])
        feats.append(
            {"input_ids": list(ids[r * length : r * length + n]), "document_ids": row_docs - row_docs[0]}
        )
    return feats


def run(kind: str, strategy, feats=None, seed: int = 0, info=None, **kw):
    _, default_info = tok_info(kind)
    info = info or default_info
    feats = feats if feats is not None else make_features(kind, **kw)
    collator = Collator(info, strategy, seed=seed)
    return collator.build_batch(feats), collator(feats), info


def word_groups(batch) -> np.ndarray:
    ws = batch["word_start"].numpy()
    wid = np.cumsum(ws, axis=1) - 1 + np.arange(ws.shape[0])[:, None] * ws.shape[1]
    return np.where(batch["special_mask"].numpy(), -1, wid)
