"""Shared test helpers: random toy documents, tiny tokenizers, and packing into textssl.data-style blocks.

Imported by the tests as ``from blocks_helpers import ...`` (pytest's default import mode puts ``tests/`` on
``sys.path``).
"""

from __future__ import annotations

import random
from pathlib import Path

KINDS = ("wordpiece", "bpe", "unigram")
WORDS = (
    "the cat dog bird sat ran on a mat over under quickly slowly big small red green house garden river "
    "mountain walked jumped happily table chair window door apple orange banana computer language model"
).split()
# WORDS plus a few long words that split into several subword pieces (used by the denoising tests).
WORDS_WITH_LONG = WORDS + "unbelievably extraordinary photosynthesis".split()


def make_docs(seed: int, n_docs: int, max_sents: int = 8, words: list[str] = WORDS) -> list[list[str]]:
    rng = random.Random(seed)
    return [
        [
            " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))).capitalize() + "."
            for _ in range(rng.randint(1, max_sents))
        ]
        for _ in range(n_docs)
    ]


def train_tokenizers(root: Path, words: list[str] = WORDS) -> dict:
    """One tiny tokenizer of each kind in KINDS, trained on ``make_docs(123, 300, words=words)``."""
    from textssl import train_tokenizer

    texts = [" ".join(d) for d in make_docs(123, 300, words=words)]
    return {kind: train_tokenizer(kind, texts, 500, root / kind, show_progress=False) for kind in KINDS}


def pack_blocks(tok, docs: list[list[str]], block_len: int) -> list[dict]:
    """Blocks as textssl.data makes them: template per document, block-local sentence/document ids."""
    with_sp, plain = tok("x")["input_ids"], tok("x", add_special_tokens=False)["input_ids"]
    k = next(i for i in range(len(with_sp)) if with_sp[i : i + len(plain)] == plain)
    pre, suf = with_sp[:k], with_sp[k + len(plain) :]
    ids, sids, dids, s = [], [], [], 0
    for d, doc in enumerate(docs):
        ids += pre
        sids += [-1] * len(pre)
        dids += [d] * len(pre)
        for sent in doc:
            piece = tok(sent, add_special_tokens=False)["input_ids"]
            ids += piece
            sids += [s] * len(piece)
            dids += [d] * len(piece)
            s += 1
        ids += suf
        sids += [-1] * len(suf)
        dids += [d] * len(suf)
    return split_blocks(ids, sids, dids, block_len)


def split_blocks(ids: list[int], sids: list[int], dids: list[int], block_len: int) -> list[dict]:
    feats = []
    for i in range(0, len(ids), block_len):
        bi, bs, bd = ids[i : i + block_len], sids[i : i + block_len], dids[i : i + block_len]
        first = min((x for x in bs if x >= 0), default=0)
        feats.append(
            {
                "input_ids": bi,
                "sentence_ids": [x - first if x >= 0 else -1 for x in bs],
                "document_ids": [x - bd[0] for x in bd],
            }
        )
    return feats
