"""Word replacement: data for replaced-token detection without a generator network."""

from __future__ import annotations

import numpy as np
import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, RateLike, Strategy
from textssl.corruption.ops import as_schedule, per_word, rate_at, sample_ids, uniform
from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo

SOURCES = ("uniform", "unigram")


def _pool_draw(
    n: int, is_start: bool, info: TokenizerInfo, generator: torch.Generator, source: str
) -> np.ndarray:
    """``n`` random non-special ids that are word starts (``is_start``) or continuations.

    Drawing word starts for word-start positions and continuations for the rest keeps the corrupted text
    tokenizable-looking (no ``##piece`` opening a word), so the detector cannot spot replacements from
    tokenization artefacts alone. Falls back to all non-special ids when the pool is empty.
    """
    if n == 0:
        return np.empty(0, dtype=np.int64)
    in_pool = ~info.special & (info.word_start if is_start else ~info.word_start)
    if source == "unigram":
        probs = info.unigram_probs * in_pool
        if float(probs.sum()) <= 0:
            probs = info.unigram_probs
        return sample_ids((n,), generator, weights=probs)
    pool = np.flatnonzero(in_pool.numpy())
    return sample_ids((n,), generator, pool=pool if len(pool) else info.replace_ids)


class WordReplacement(Strategy):
    """Random word replacement for replaced-token detection (the corruption side of ELECTRA, Clark et al.,
    2020, "ELECTRA: Pre-training Text Encoders as Discriminators Rather Than Generators", with random
    tokens instead of a generator's samples).

    Each word (``whole_word=True``) or token is chosen with probability ``rate``; every token of a chosen
    word is replaced by a random non-special token, drawn uniformly (``source="uniform"``) or by corpus
    frequency (``source="unigram"``, needs ``info.unigram_probs``, see ``TokenizerInfo.set_unigram_counts``).
    Word-start positions receive word-start tokens and continuation positions continuation tokens.

    Returns ``input_ids`` (corrupted), ``attention_mask``, ``original_ids``, ``replaced`` (bool, True where
    the token now differs from the original: a random draw equal to the original does not count) and
    ``labels`` = ``replaced`` as 0/1 with ``-100`` on special tokens and padding.
    """

    requires = ("word_start",)

    def __init__(self, rate: RateLike = 0.15, source: str = "uniform", whole_word: bool = True) -> None:
        self.rate = as_schedule(rate, "rate")
        if source not in SOURCES:
            raise ConfigError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.source = source
        self.whole_word = bool(whole_word)

    def validate(self, info: TokenizerInfo) -> None:
        if self.source == "unigram" and info.unigram_probs is None:
            raise ConfigError(
                "WordReplacement(source='unigram') needs corpus unigram frequencies: call "
                "info.set_unigram_counts(counts) first, or use source='uniform'"
            )

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        self.validate(info)
        ids = batch["input_ids"]
        special = batch["special_mask"].numpy()
        ws = batch["word_start"].numpy()
        r = rate_at(self.rate, step)
        u = uniform(tuple(ids.shape), generator)
        if self.whole_word:
            u = per_word(u, ws)
        selected = (u < r) & ~special
        new = ids.numpy().copy()
        start_sel = selected & ws
        cont_sel = selected & ~ws
        new[start_sel] = _pool_draw(int(np.count_nonzero(start_sel)), True, info, generator, self.source)
        new[cont_sel] = _pool_draw(int(np.count_nonzero(cont_sel)), False, info, generator, self.source)
        replaced = new != ids.numpy()
        out = dict(batch)
        out["input_ids"] = torch.from_numpy(new)
        out["original_ids"] = ids
        out["replaced"] = torch.from_numpy(replaced)
        out["labels"] = torch.from_numpy(np.where(special, IGNORE_INDEX, replaced.astype(np.int64)))
        return out
