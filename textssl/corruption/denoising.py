"""BART's document-corruption functions (Lewis et al., 2020, "BART: Denoising Sequence-to-Sequence Pre-training").

Text infilling, token deletion, token insertion and document rotation, with the semantics of fairseq's
``denoising_dataset.py`` (``add_whole_word_mask`` with ``replace_length=1`` and a Poisson span distribution,
``add_insertion_noise``, ``add_rolling_noise``) but vectorized over the batch: rows are corrupted with
cumulative sums, flat scatters and one ``topk`` instead of per-row loops.

Every strategy here returns ``input_ids`` (corrupted, possibly a different width than the input),
``attention_mask`` and ``labels`` = the original, uncorrupted sequence (the decoder target;
``BartForConditionalGeneration`` shifts it right to build ``decoder_input_ids``), ``-100`` on padding. If the
batch already has ``labels`` (set by an earlier strategy in a ``Compose``, e.g. ``SentencePermutation``), they
are kept. The internal ``special_mask`` (and ``word_start``, ``sentence_ids``, ``document_ids`` when present)
are updated for the new layout so later members of a ``Compose`` see a consistent batch.

Random numbers come from the Collator's ``torch.Generator``; the elementwise work runs on numpy views of the
batch's CPU tensors (several times cheaper per call than torch for these small integer arrays), with the
kernels of :mod:`textssl.corruption.ops`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from textssl.corruption.base import Batch, RateLike, Strategy
from textssl.corruption.ops import (
    as_schedule,
    check_prob,
    choose_random,
    original_labels,
    pack_left,
    pad_id,
    random_tokens,
    rate_at,
    relayout,
    row_offsets,
    scatter_rows,
    shift_right,
    tracks_ids,
    uniform,
)
from textssl.errors import ConfigError, MissingKeyError
from textssl.tokenization import TokenizerInfo

# --------------------------------------------------------------------------- helpers of these strategies


def insert_tokens(
    ids: np.ndarray,
    src: np.ndarray | None,
    lengths: np.ndarray,
    counts: np.ndarray,
    info: TokenizerInfo,
    generator: torch.Generator,
    random_ratio: float,
    strategy: str,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Insert ``counts[b]`` new tokens at random positions of row ``b`` (fairseq ``add_insertion_noise``).

    Row ``b`` holds ``lengths[b]`` real tokens (left-aligned). New tokens land at distinct uniformly random
    positions of the result, never first or last (so a leading ``[CLS]``/``<s>`` and a final ``[SEP]``/``</s>``
    stay in place) unless the row has fewer than two tokens. A fraction ``random_ratio`` of them (rounded up)
    are random non-special tokens, the rest mask tokens. Returns ``(ids, src, lengths)`` of the result;
    ``src`` (None if ``src`` is None) maps inserted tokens to the original token that follows them.
    """
    b = ids.shape[0]
    total = lengths + counts
    width = int(total.max()) if b else 0
    pos = np.arange(width)
    two = lengths >= 2
    lo = two[:, None].astype(np.int64)
    hi = np.where(two, total - 1, total)[:, None]
    inserted, order, taken = choose_random((pos >= lo) & (pos < hi), counts, generator)
    real = pos < total[:, None]
    kept = real & ~inserted
    # the original token at (or just after) every output position
    index = np.minimum(np.cumsum(kept, 1) - kept, np.maximum(lengths - 1, 0)[:, None])
    flat = row_offsets(b, ids.shape[1]) + index
    if ids.shape[1] == 0:
        flat = np.zeros_like(flat)
        ids = np.zeros((b, 1), ids.dtype)
        src = None if src is None else np.zeros((b, 1), np.int64)
    out = np.where(real, ids.ravel()[flat], pad_id(info))
    out_src = None if src is None else src.ravel()[flat]
    if order.shape[1]:
        n_random = np.ceil(counts * random_ratio).astype(np.int64)
        rnd = taken & (np.arange(order.shape[1]) < n_random[:, None])
        at = row_offsets(b, width) + order
        if (taken & ~rnd).any():
            mask_id = info.require("mask_id", strategy)
            out.ravel()[at[taken & ~rnd]] = mask_id
        if rnd.any():
            out.ravel()[at[rnd]] = random_tokens((int(rnd.sum()),), info, generator)
    return out, out_src, total


def poisson_cdf(poisson_lambda: float) -> np.ndarray:
    """Cumulative Poisson(lambda) probabilities for lengths 0..K, K far in the tail (float32 table)."""
    k_max = int(poisson_lambda + 12 * math.sqrt(poisson_lambda) + 24)
    k = np.arange(k_max + 1, dtype=np.float64)
    log_pmf = k * math.log(poisson_lambda) - poisson_lambda - np.array([math.lgamma(x + 1) for x in k])
    return np.cumsum(np.exp(log_pmf)).astype(np.float32)


def poisson_span_lengths(
    budget: np.ndarray, cdf: np.ndarray, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Span lengths ~ Poisson per row until they add up to ``budget[b]`` (fairseq's rule).

    ``cdf`` is :func:`poisson_cdf`'s table (lengths are drawn by inverse-CDF lookup, as fairseq draws from a
    truncated Poisson categorical). Lengths are drawn until their sum reaches the budget; the last one is
    trimmed so the sum is exactly the budget. Returns ``(lengths, valid)`` of shape ``[B, K]``; zero-length
    spans are valid (they become insertions). Rows with a zero budget have no spans.
    """
    b = budget.shape[0]
    max_budget = int(budget.max()) if b else 0
    if max_budget == 0:
        return np.zeros((b, 0), np.int64), np.zeros((b, 0), bool)
    mean = float((1 - cdf[:-1]).sum())  # E[length] of the table
    k = max(4, math.ceil(max_budget / max(mean, 1e-3) * 1.2) + 4)
    lengths = np.searchsorted(cdf, uniform((b, k), generator), side="right")
    while bool((lengths.sum(1) < budget).any()):
        more = np.searchsorted(cdf, uniform((b, k), generator), side="right")
        lengths = np.concatenate([lengths, more], 1)
    cum = np.cumsum(lengths, 1)
    last = (cum < budget[:, None]).sum(1, keepdims=True)  # first index where the sum reaches the budget
    idx = np.arange(lengths.shape[1])
    valid = (idx <= last) & (budget[:, None] > 0)
    lengths = np.where(idx == last, budget[:, None] - (cum - lengths), lengths)
    return np.where(valid, lengths, 0), valid


def _views(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy views of ``input_ids``, ``special_mask`` and the boolean attention mask."""
    return batch["input_ids"].numpy(), batch["special_mask"].numpy(), batch["attention_mask"].numpy() != 0


def _finish(
    batch: Batch, info: TokenizerInfo, ids: np.ndarray, src: np.ndarray | None, lengths: np.ndarray
) -> Batch:
    valid = np.arange(ids.shape[1]) < lengths[:, None]
    out = relayout(batch, info, ids, src, valid)
    out["labels"] = original_labels(batch)
    return out


# --------------------------------------------------------------------------- strategies


class TextInfilling(Strategy):
    """BART text infilling (Lewis et al., 2020): spans of Poisson(``poisson_lambda``) length become ONE mask.

    The masking budget is ``ceil(rate * n)`` for ``n`` candidate tokens per row (non-special tokens, or word
    starts with ``whole_word=True``, as fairseq's ``mask_whole_word``); span lengths are drawn until they sum
    to the budget (the last one trimmed). Each span starts at a distinct random candidate, covers ``length``
    tokens (words), never crosses a special token, and is replaced by a single mask token (a random token with
    probability ``random_ratio``, fairseq's ``mask_random``). A zero-length span inserts a mask token before
    its start (fairseq inserts it at a random position; here the random position is the span's random start).
    Overlapping spans merge as in fairseq. ``labels`` = the original sequence.

    BART-large used ``rate=0.3, poisson_lambda=3.5``.
    """

    def __init__(
        self,
        rate: RateLike = 0.3,
        poisson_lambda: float = 3.0,
        whole_word: bool = False,
        random_ratio: float = 0.0,
    ) -> None:
        self.rate = as_schedule(rate, "rate")
        lam = check_prob(poisson_lambda, "poisson_lambda", 0.0, math.inf)
        if lam <= 0:
            raise ConfigError(f"poisson_lambda must be > 0 (the mean span length), got {poisson_lambda}")
        self.poisson_lambda = lam
        self.whole_word = bool(whole_word)
        self.random_ratio = check_prob(random_ratio, "random_ratio")
        self._cdf = poisson_cdf(lam)

    @property
    def requires(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("word_start",) if self.whole_word else ()

    def validate(self, info: TokenizerInfo) -> None:
        info.require("mask_id", "TextInfilling")

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        mask_id = info.require("mask_id", "TextInfilling")
        ids, special, attn = _views(batch)
        b, width = ids.shape
        cand = ~special
        if self.whole_word:
            if "word_start" not in batch:
                raise MissingKeyError(
                    "TextInfilling(whole_word=True) needs 'word_start' in the batch (use textssl.Collator)"
                )
            cand &= batch["word_start"].numpy()
        n_cand = cand.sum(1)
        rate = rate_at(self.rate, step)
        lengths, valid = poisson_span_lengths(np.ceil(n_cand * rate).astype(np.int64), self._cdf, generator)
        starts, order, taken = choose_random(cand, np.minimum(valid.sum(1), n_cand), generator)
        k = order.shape[1]
        span_len = scatter_rows(width, np.where(taken, order, width), lengths[:, :k])
        # word counter that jumps past any span length at special tokens, so spans stop there
        widx = np.cumsum(cand + special * (width + 1), 1)
        reach = np.maximum.accumulate(np.where(starts, widx + span_len, 0), 1)
        fresh = starts & (shift_right(reach) <= widx)  # a start not swallowed by an earlier span
        is_mask = fresh & (span_len > 0)
        inserted = fresh & (span_len == 0)
        keep = attn & ((reach <= widx) | special | is_mask)

        values = np.where(is_mask, mask_id, ids)
        new = np.full_like(ids, mask_id)
        if self.random_ratio > 0:
            rnd = uniform((b, width), generator) < self.random_ratio
            values = np.where(is_mask & rnd, random_tokens((b, width), info, generator), values)
            new = np.where(inserted & rnd, random_tokens((b, width), info, generator), new)
        # slot 0 of each position holds an inserted mask, slot 1 the (kept) token
        parts = [(np.stack([new, values], 2).reshape(b, 2 * width), pad_id(info))]
        if tracks_ids(batch):
            pos = np.broadcast_to(np.arange(width), (b, width))
            parts.append((np.stack([pos, pos], 2).reshape(b, 2 * width), 0))
        packed, new_len = pack_left(np.stack([inserted, keep], 2).reshape(b, 2 * width), *parts)
        return _finish(batch, info, packed[0], packed[1] if len(packed) > 1 else None, new_len)


class TokenDeletion(Strategy):
    """BART token deletion (Lewis et al., 2020): ``ceil(rate * n)`` random non-special tokens are deleted.

    The model must find which positions are missing. ``labels`` = the original sequence.
    """

    def __init__(self, rate: RateLike = 0.15) -> None:
        self.rate = as_schedule(rate, "rate")

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids, special, attn = _views(batch)
        cand = ~special
        rate = rate_at(self.rate, step)
        deleted, _, _ = choose_random(cand, np.ceil(cand.sum(1) * rate).astype(np.int64), generator)
        keep = attn & ~deleted
        parts = [(ids, pad_id(info))]
        if tracks_ids(batch):
            parts.append((np.broadcast_to(np.arange(ids.shape[1]), ids.shape), 0))
        packed, new_len = pack_left(keep, *parts)
        return _finish(batch, info, packed[0], packed[1] if len(packed) > 1 else None, new_len)


class TokenInsertion(Strategy):
    """Random token insertion (BART's ``--insert``; fairseq ``add_insertion_noise``).

    ``ceil(rate * length)`` tokens (``length`` = the row's real length, special tokens included, as in
    fairseq) are inserted at random positions, never before the first or after the last token. A fraction
    ``random_ratio`` are random non-special tokens, the rest mask tokens. ``labels`` = the original sequence.
    """

    def __init__(self, rate: RateLike = 0.1, random_ratio: float = 1.0) -> None:
        self.rate = as_schedule(rate, "rate")
        self.random_ratio = check_prob(random_ratio, "random_ratio")

    def validate(self, info: TokenizerInfo) -> None:
        if self.random_ratio < 1:
            info.require("mask_id", "TokenInsertion(random_ratio<1)")

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids, _, attn = _views(batch)
        lengths = attn.sum(1)
        rate = rate_at(self.rate, step)
        counts = np.ceil(lengths * rate).astype(np.int64)
        src = np.broadcast_to(np.arange(ids.shape[1]), ids.shape) if tracks_ids(batch) else None
        new_ids, new_src, new_len = insert_tokens(
            ids, src, lengths, counts, info, generator, self.random_ratio, "TokenInsertion"
        )
        return _finish(batch, info, new_ids, new_src, new_len)


class DocumentRotation(Strategy):
    """BART document rotation (Lewis et al., 2020; fairseq ``add_rolling_noise``).

    With probability ``prob`` per row, the row's tokens between the leading special tokens (``[CLS]``/``<s>``)
    and the trailing ones (final ``[SEP]``/``</s>``) are rotated to start at a uniformly random token; special
    tokens inside that range move with the text. ``labels`` = the original sequence.
    """

    def __init__(self, prob: float = 1.0) -> None:
        self.prob = check_prob(prob, "prob")

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids, special, attn = _views(batch)
        b, width = ids.shape
        text = ~special
        first = np.where(text.any(1), text.argmax(1), width)  # first text position
        stop = width - np.where(text.any(1), text[:, ::-1].argmax(1), width)  # one past the last one
        span = np.maximum(stop - first, 1)
        u = uniform((2, b), generator)
        rotate = (u[0] < self.prob) & (stop - first > 1)
        shift = np.where(rotate, np.minimum((u[1] * span).astype(np.int64), span - 1), 0)
        pos = np.arange(width)
        inside = (pos >= first[:, None]) & (pos < stop[:, None])
        src = np.where(inside, first[:, None] + (pos - first[:, None] + shift[:, None]) % span[:, None], pos)
        moved = np.take_along_axis(ids, src, 1)
        out = relayout(batch, info, moved, src, attn, special=np.take_along_axis(special, src, 1))
        out["labels"] = original_labels(batch)
        return out
