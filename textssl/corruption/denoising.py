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
batch's CPU tensors (several times cheaper per call than torch for these small integer arrays). The module
also holds the helpers the T5 and sentence-level strategies share (:func:`choose_random`, :func:`pack_left`,
:func:`relayout`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from textssl.corruption.base import (
    IGNORE_INDEX,
    Batch,
    RateLike,
    Strategy,
    as_schedule,
    check_prob,
    random_tokens,
)
from textssl.errors import ConfigError, MissingKeyError
from textssl.tokenization import TokenizerInfo

# --------------------------------------------------------------------------- shared vectorized helpers


def rand(shape: tuple[int, ...], generator: torch.Generator) -> np.ndarray:
    """Uniform ``[0, 1)`` float32 draws from ``generator``, as a numpy array."""
    return torch.rand(shape, generator=generator).numpy()


def row_offsets(b: int, width: int) -> np.ndarray:
    """``[B, 1]`` start of each row in a flattened ``[B, width]`` array."""
    return (np.arange(b, dtype=np.int64) * width)[:, None]


def dense_ranks(ids: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber each row's ``ids`` (where ``valid``) to ``0..k-1`` in increasing order of value; -1 elsewhere.

    Sentence and document ids are labels, not sizes: corpus-wide ids (say 5,000,000) must cost the same as
    block-local ones, so tables indexed by id are sized by the returned ``k`` (the most distinct ids in a row,
    at most the row length) instead of by ``ids.max()``. One stable sort per row; ids that are already dense
    from 0 come back unchanged. Returns ``(ranks, k)``.
    """
    b, w = ids.shape
    if b == 0 or w == 0 or not valid.any():
        return np.full(ids.shape, -1, np.int64), 0
    key = np.where(valid, ids.astype(np.int64, copy=False), np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    ordered = np.take_along_axis(key, order, 1)
    ordered_valid = np.take_along_axis(valid, order, 1)
    new = np.ones(ordered.shape, bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    rank = np.cumsum(new & ordered_valid, 1) - 1
    out = np.empty((b, w), np.int64)
    np.put_along_axis(out, order, np.where(ordered_valid, rank, -1), 1)
    return out, int(rank[:, -1].max()) + 1


def choose_random(
    candidates: np.ndarray, counts: np.ndarray, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose exactly ``counts[b]`` positions of row ``b`` uniformly at random among ``candidates[b]``.

    ``counts[b]`` must not exceed the number of candidates. Returns ``(chosen, order, taken)``: ``order``
    (``[B, K]``, ``K = max(counts)``) lists the chosen positions in a uniformly random order (one ``topk`` over
    random keys), ``taken[b, j]`` is ``j < counts[b]``. So ``order[b, :k]`` for ``k <= counts[b]`` is itself a
    uniform random subset.
    """
    b, w = candidates.shape
    k = int(counts.max()) if b else 0
    if k == 0:
        return np.zeros_like(candidates), np.zeros((b, 0), np.int64), np.zeros((b, 0), bool)
    keys = rand((b, w), generator)
    keys[~candidates] = -1.0
    order = torch.from_numpy(keys).topk(k, dim=1).indices.numpy()
    taken = np.arange(k) < counts[:, None]
    chosen = np.zeros((b, w + 1), bool)
    chosen.ravel()[row_offsets(b, w + 1) + np.where(taken, order, w)] = True
    return chosen[:, :w], order, taken


def pack_left(keep: np.ndarray, *arrays: tuple[np.ndarray, int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Left-align the kept entries of each row of every ``(array, pad)`` (order kept), padded with ``pad``.

    For several arrays sharing one ``keep`` mask, with one flat
    scatter each. Returns the packed (contiguous) arrays, ``[B, max kept]``, and the kept counts.
    """
    b = keep.shape[0]
    lengths = keep.sum(1)
    width = int(lengths.max()) if b else 0
    dest = row_offsets(b, width + 1) + np.where(keep, np.cumsum(keep, 1) - 1, width)
    outs = []
    for arr, pad in arrays:
        out = np.full(b * (width + 1), pad, dtype=arr.dtype)
        out[dest] = arr
        outs.append(np.ascontiguousarray(out.reshape(b, width + 1)[:, :width]))
    return outs, lengths


def layout_word_starts(ids: np.ndarray, special: np.ndarray, info: TokenizerInfo) -> np.ndarray:
    """Word-start flags for a new layout, with the Collator's rule (the token after a special starts a word)."""
    ws = info.word_start.numpy()[ids]
    if ws.shape[1]:
        ws[:, 0] = True
        ws[:, 1:] |= special[:, :-1]
    return ws & ~special


def tracks_ids(batch: Batch) -> bool:
    """Whether the batch carries per-token sentence/document ids that a new layout must carry along."""
    return "sentence_ids" in batch or "document_ids" in batch


def relayout(
    batch: Batch,
    info: TokenizerInfo,
    ids: np.ndarray,
    src: np.ndarray | None,
    valid: np.ndarray,
    src_row: np.ndarray | None = None,
    special: np.ndarray | None = None,
) -> Batch:
    """A copy of ``batch`` whose per-token keys follow a new layout of the tokens.

    ``ids`` are the new ``input_ids`` (padding where ``valid`` is False); ``src`` gives, for every new
    position, the position in the old layout of the token it comes from (or, for a new token, stands next
    to); ``src_row`` the old row when tokens move between rows. ``attention_mask`` and ``special_mask`` are
    rebuilt from ``ids`` (or ``special`` is the new ``special_mask``, when the caller knows it);
    ``word_start`` is recomputed, ``sentence_ids``/``document_ids`` are carried along (``-1`` on special tokens
    and padding for sentence ids, on padding for document ids) when present; ``src`` may be None when the
    batch has neither (see :func:`tracks_ids`).
    """
    out = dict(batch)
    if special is None:
        special = info.special.numpy()[ids] | ~valid
    out["input_ids"] = torch.from_numpy(ids)
    out["attention_mask"] = torch.from_numpy(valid.astype(np.int64))
    out["special_mask"] = torch.from_numpy(special)
    if "word_start" in batch:
        out["word_start"] = torch.from_numpy(layout_word_starts(ids, special, info))
    if not tracks_ids(batch):
        return out
    assert src is not None, "relayout needs src to carry sentence/document ids"
    rows = np.arange(ids.shape[0])[:, None] if src_row is None else src_row
    for key in ("sentence_ids", "document_ids"):
        if key in batch:
            old = batch[key].numpy()
            if old.shape[1] == 0:
                vals = np.full(ids.shape, -1, np.int64)
            else:
                vals = old.ravel()[rows * old.shape[1] + np.clip(src, 0, old.shape[1] - 1)]
            out[key] = torch.from_numpy(np.where(special if key == "sentence_ids" else ~valid, -1, vals))
    return out


def original_labels(batch: Batch) -> torch.Tensor:
    """The decoder target: ``labels`` already in the batch, else the uncorrupted ids with -100 on padding."""
    if "labels" in batch:
        return batch["labels"]
    return torch.from_numpy(
        np.where(batch["attention_mask"].numpy() != 0, batch["input_ids"].numpy(), IGNORE_INDEX)
    )


def check_rate(value: float, name: str, step: int) -> float:
    """A schedule's value at ``step``, checked to be a probability."""
    if not (0.0 <= value <= 1.0):
        raise ConfigError(f"{name} schedule gave {value} at step {step}; it must stay within [0, 1]")
    return value


def _random_ids(shape: tuple[int, ...], info: TokenizerInfo, generator: torch.Generator) -> np.ndarray:
    return random_tokens(shape, info, generator).numpy()


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
    out = np.where(real, ids.ravel()[flat], info.pad_id if info.pad_id is not None else 0)
    out_src = None if src is None else src.ravel()[flat]
    if order.shape[1]:
        n_random = np.ceil(counts * random_ratio).astype(np.int64)
        rnd = taken & (np.arange(order.shape[1]) < n_random[:, None])
        at = row_offsets(b, width) + order
        if (taken & ~rnd).any():
            mask_id = info.require("mask_id", strategy)
            out.ravel()[at[taken & ~rnd]] = mask_id
        if rnd.any():
            out.ravel()[at[rnd]] = _random_ids((int(rnd.sum()),), info, generator)
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
    lengths = np.searchsorted(cdf, rand((b, k), generator), side="right")
    while bool((lengths.sum(1) < budget).any()):
        more = np.searchsorted(cdf, rand((b, k), generator), side="right")
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


def _pad(info: TokenizerInfo) -> int:
    return info.pad_id if info.pad_id is not None else 0


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
        rate = check_rate(self.rate(step), "rate", step)
        lengths, valid = poisson_span_lengths(np.ceil(n_cand * rate).astype(np.int64), self._cdf, generator)
        starts, order, taken = choose_random(cand, np.minimum(valid.sum(1), n_cand), generator)
        k = order.shape[1]
        span_len = np.zeros(b * (width + 1), np.int64)
        if k:
            span_len[row_offsets(b, width + 1) + np.where(taken, order, width)] = lengths[:, :k]
        span_len = span_len.reshape(b, width + 1)[:, :width]
        # word counter that jumps past any span length at special tokens, so spans stop there
        widx = np.cumsum(cand + special * (width + 1), 1)
        reach = np.maximum.accumulate(np.where(starts, widx + span_len, 0), 1)
        prev_reach = np.zeros_like(reach)
        prev_reach[:, 1:] = reach[:, :-1]
        fresh = starts & (prev_reach <= widx)  # a start not swallowed by an earlier span
        is_mask = fresh & (span_len > 0)
        inserted = fresh & (span_len == 0)
        keep = attn & ((reach <= widx) | special | is_mask)

        values = np.where(is_mask, mask_id, ids)
        new = np.full_like(ids, mask_id)
        if self.random_ratio > 0:
            rnd = rand((b, width), generator) < self.random_ratio
            values = np.where(is_mask & rnd, _random_ids((b, width), info, generator), values)
            new = np.where(inserted & rnd, _random_ids((b, width), info, generator), new)
        # slot 0 of each position holds an inserted mask, slot 1 the (kept) token
        parts = [(np.stack([new, values], 2).reshape(b, 2 * width), _pad(info))]
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
        rate = check_rate(self.rate(step), "rate", step)
        deleted, _, _ = choose_random(cand, np.ceil(cand.sum(1) * rate).astype(np.int64), generator)
        keep = attn & ~deleted
        parts = [(ids, _pad(info))]
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
        rate = check_rate(self.rate(step), "rate", step)
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
        u = rand((2, b), generator)
        rotate = (u[0] < self.prob) & (stop - first > 1)
        shift = np.where(rotate, np.minimum((u[1] * span).astype(np.int64), span - 1), 0)
        pos = np.arange(width)
        inside = (pos >= first[:, None]) & (pos < stop[:, None])
        src = np.where(inside, first[:, None] + (pos - first[:, None] + shift[:, None]) % span[:, None], pos)
        moved = np.take_along_axis(ids, src, 1)
        out = relayout(batch, info, moved, src, attn, special=np.take_along_axis(special, src, 1))
        out["labels"] = original_labels(batch)
        return out
