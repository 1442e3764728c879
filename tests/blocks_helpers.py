"""Shared test helpers: random toy documents, tiny tokenizers, and blocks made by textssl.data's own packer.

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
    """Blocks as training makes them (``textssl.data.blocks_from_texts``): one document per list, one sentence
    per line (``splitter="line"``), so the sentence ids follow ``make_docs``' sentences exactly. The last
    partial block is cut short instead of padded (the Collator pads it, with attention_mask 0)."""
    from textssl.data import blocks_from_texts

    texts = ["\n".join(doc) for doc in docs]
    return blocks_from_texts(tok, texts, block_len, splitter="line", trim_padding=True)


def split_blocks(ids: list[int], sids: list[int], dids: list[int], block_len: int) -> list[dict]:
    """Cut a ready-made token stream into blocks with the real ``textssl.data.Packer``.

    ``dids`` number the documents 0, 1, ... (contiguous) and ``sids`` number the sentences across the whole
    stream (-1 on special tokens), as a test builds them by hand; the last block is cut short, not padded.
    """
    import numpy as np

    from textssl.data import Packer, blocks_to_features

    ids_a, sent, doc = (np.asarray(x, dtype=np.int64) for x in (ids, sids, dids))
    lengths = np.bincount(doc)
    # the packer takes document-local sentence ids: subtract each document's first sentence id
    first = np.full(len(lengths), np.iinfo(np.int64).max)
    np.minimum.at(first, doc[sent >= 0], sent[sent >= 0])
    local = np.where(sent >= 0, sent - first[doc], -1)
    packer = Packer(block_len, "concat", pad_id=0)
    parts = [packer.add(ids_a, local, lengths), packer.finish()]
    arrays = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return blocks_to_features(*arrays, trim_padding=True)
