"""Masked-language-model corruption: token masking, whole-word masking and span masking.

All three choose positions to predict, apply BERT's 80/10/10 rule to them (mask token / random token /
unchanged) and return ``input_ids``, ``attention_mask`` and ``labels`` (the original id at chosen positions,
``-100`` elsewhere). Special tokens and padding (the batch's ``special_mask``) are never chosen.

Implementation note: random numbers come from the ``torch.Generator`` passed in (so a batch is a pure function
of data, seed and step), but the elementwise work runs on numpy views of the same CPU memory. On CPU, numpy's
kernels for these small int/bool arrays are several times faster than torch's, and ``np.partition`` replaces
torch's much slower full sort. Strategies therefore expect CPU tensors, which is what the Collator produces.
"""

from __future__ import annotations

import numpy as np
import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, RateLike, Strategy
from textssl.corruption.ops import (
    PRIORITY_END,
    as_schedule,
    check_prob,
    kth_smallest,
    per_word,
    random_priorities,
    random_tokens,
    rate_at,
    uniform,
)
from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo

_NEVER = PRIORITY_END  # larger than every random priority: "never chosen"
_LOW_BITS = 2**24  # a priority's low bits double as a uniform draw


def check_replace_probs(mask_prob: float, random_prob: float) -> tuple[float, float]:
    """Validate the 80/10/10 split: both in ``[0, 1]`` and ``mask_prob + random_prob <= 1``."""
    mask_prob = check_prob(mask_prob, "mask_prob")
    random_prob = check_prob(random_prob, "random_prob")
    if mask_prob + random_prob > 1 + 1e-9:
        raise ConfigError(
            f"mask_prob + random_prob must be at most 1 (the rest of the chosen tokens stay unchanged), "
            f"got {mask_prob} + {random_prob}"
        )
    return mask_prob, random_prob


def put_random_tokens(
    out: np.ndarray,
    where: np.ndarray,
    info: TokenizerInfo,
    generator: torch.Generator,
    source: str = "uniform",
) -> None:
    """Write random non-special tokens (drawn from ``generator``) into ``out`` in place where ``where``."""
    n = int(np.count_nonzero(where))
    if n:
        out[where] = random_tokens((n,), info, generator, source)


def mask_replace_with(
    input_ids: torch.Tensor | np.ndarray,
    selected: torch.Tensor | np.ndarray,
    decision: torch.Tensor | np.ndarray,
    info: TokenizerInfo,
    generator: torch.Generator,
    mask_prob: float,
    random_prob: float,
    strategy: str,
    scale: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's 80/10/10 rule driven by a given uniform ``decision`` per position.

    ``decision`` is uniform on ``[0, scale)`` at the selected positions: passing the same value to every
    token of a word (or span) makes the whole unit masked, randomly replaced or kept together. Callers that
    selected by ``u < rate`` pass ``decision=u, scale=rate``: conditioned on selection ``u / rate`` is again
    uniform, so one random draw serves both decisions. Returns ``(corrupted_ids, labels)`` as tensors.
    """
    ids = np.asarray(input_ids)
    sel = np.asarray(selected)
    dec = np.asarray(decision)
    labels = np.where(sel, ids, IGNORE_INDEX)
    out = ids.copy()
    if mask_prob > 0:
        out[sel & (dec < mask_prob * scale)] = info.require("mask_id", strategy)
    if random_prob > 0:
        lo, hi = mask_prob * scale, (mask_prob + random_prob) * scale
        put_random_tokens(out, sel & (dec >= lo) & (dec < hi), info, generator)
    return torch.from_numpy(out), torch.from_numpy(labels)


def _finish(batch: Batch, ids: torch.Tensor, labels: torch.Tensor) -> Batch:
    out = dict(batch)
    out["input_ids"] = ids
    out["labels"] = labels
    return out


class _MaskingBase(Strategy):
    def validate(self, info: TokenizerInfo) -> None:
        if self.mask_prob > 0:
            info.require("mask_id", type(self).__name__)


class TokenMasking(_MaskingBase):
    """BERT's masked language modelling (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional
    Transformers for Language Understanding").

    Each non-special token is chosen independently with probability ``rate``; of the chosen tokens
    ``mask_prob`` become the mask token, ``random_prob`` a random token and the rest stay unchanged.

    ``exact=True`` instead chooses exactly ``round(rate * n)`` tokens per row (``n`` = non-special tokens), as
    in Cramming (Geiping & Goldstein, 2023), which removes the row-to-row variance of the number of targets:
    the ``k`` positions with the smallest random keys, found with one partition over the batch.

    ``rate`` may be a :class:`~textssl.corruption.base.Schedule`, e.g. ``Linear(0.30, 0.15, steps)`` for the
    decaying masking rate of Ankner et al. (2023).
    """

    def __init__(
        self, rate: RateLike = 0.15, mask_prob: float = 0.8, random_prob: float = 0.1, exact: bool = False
    ) -> None:
        self.rate = as_schedule(rate, "rate")
        self.mask_prob, self.random_prob = check_replace_probs(mask_prob, random_prob)
        self.exact = bool(exact)

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids = batch["input_ids"]
        eligible = ~batch["special_mask"].numpy()
        r = rate_at(self.rate, step)
        name = type(self).__name__
        if self.exact:
            # Ineligible positions rank last, so the k smallest keys are all eligible (k <= n).
            keys = random_priorities(tuple(ids.shape), generator)
            keys[~eligible] = _NEVER
            k = np.rint(eligible.sum(1) * r).astype(np.int64)
            selected = (keys <= kth_smallest(keys, k)) & (k > 0)[:, None]
            decision = uniform(tuple(ids.shape), generator)
            out_ids, labels = mask_replace_with(
                ids, selected, decision, info, generator, self.mask_prob, self.random_prob, name
            )
        else:
            u = uniform(tuple(ids.shape), generator)
            selected = (u < r) & eligible
            out_ids, labels = mask_replace_with(
                ids, selected, u, info, generator, self.mask_prob, self.random_prob, name, scale=r
            )
        return _finish(batch, out_ids, labels)


class WholeWordMasking(_MaskingBase):
    """Whole-word masking (the BERT authors' 2019 update of Devlin et al., 2019; also Cui et al., 2021).

    A word is a word-start token plus its continuation tokens (from the vocabulary's word-start table, so it
    works on packed blocks and on WordPiece, byte-level BPE and SentencePiece vocabularies alike). Each word
    is chosen with probability ``rate`` (so ``rate`` of the tokens are chosen in expectation), and the
    80/10/10 decision is made once per word: a chosen word is wholly masked, wholly random or wholly kept.
    (Hugging Face's whole-word collator drops the random/keep part.)
    """

    requires = ("word_start",)

    def __init__(self, rate: RateLike = 0.15, mask_prob: float = 0.8, random_prob: float = 0.1) -> None:
        self.rate = as_schedule(rate, "rate")
        self.mask_prob, self.random_prob = check_replace_probs(mask_prob, random_prob)

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids = batch["input_ids"]
        special = batch["special_mask"].numpy()
        r = rate_at(self.rate, step)
        # One draw per position; every token reads the draw made at its word's start, which decides both
        # whether the word is chosen (u < rate) and, scaled by the rate, mask / random / keep.
        u = per_word(uniform(tuple(ids.shape), generator), batch["word_start"])
        selected = (u < r) & ~special
        out_ids, labels = mask_replace_with(
            ids, selected, u, info, generator, self.mask_prob, self.random_prob, type(self).__name__, scale=r
        )
        return _finish(batch, out_ids, labels)


class SpanMasking(_MaskingBase):
    """SpanBERT's span masking (Joshi et al., 2020, "SpanBERT: Improving Pre-training by Representing and
    Predicting Spans").

    Span lengths are counted in words and drawn from a geometric distribution with parameter ``geometric_p``
    truncated to ``[1, max_span]`` (the defaults give SpanBERT's mean of 3.8 words); spans start at word
    starts, chosen uniformly, and spans are added until ``rate`` of the row's tokens are covered. As in
    SpanBERT the 80/10/10 decision is made per span. Spans never run across special tokens (document
    boundaries in packed blocks); overlapping spans merge, as in SpanBERT.

    Vectorized without a loop over spans: every word is a candidate span start with its own random priority
    and length; a word's *cover time* is the smallest priority among the candidate spans covering it (a loop
    over the ``max_span`` offsets). Taking spans in priority order until the budget is met is then a
    threshold on the cover time, found with one partition per batch. The span that crosses the budget is
    kept whole or dropped, whichever lands closer to ``round(rate * n)``, so words stay whole and the rate
    is unbiased.
    """

    requires = ("word_start",)

    def __init__(
        self,
        rate: RateLike = 0.15,
        geometric_p: float = 0.2,
        max_span: int = 10,
        mask_prob: float = 0.8,
        random_prob: float = 0.1,
    ) -> None:
        self.rate = as_schedule(rate, "rate")
        self.geometric_p = check_prob(geometric_p, "geometric_p")
        if self.geometric_p <= 0:
            raise ConfigError("geometric_p must be in (0, 1]; 0 would make spans infinitely long")
        if isinstance(max_span, bool) or not float(max_span).is_integer() or max_span < 1:
            raise ConfigError(f"max_span must be a positive integer, got {max_span!r}")
        self.max_span = int(max_span)
        self.mask_prob, self.random_prob = check_replace_probs(mask_prob, random_prob)
        self._length_table = self._make_length_table()

    def _make_length_table(self) -> np.ndarray:
        """Inverse CDF of the truncated geometric on a 16-bit grid: ``table[random 16 bits]`` is a length."""
        lengths = np.arange(1, self.max_span + 1, dtype=np.float64)
        pmf = self.geometric_p * (1 - self.geometric_p) ** (lengths - 1)
        cdf = np.cumsum(pmf / pmf.sum())
        grid = (np.arange(2**16) + 0.5) / 2**16
        table = np.minimum(np.searchsorted(cdf, grid, side="right"), self.max_span - 1) + 1
        return table.astype(np.uint8 if self.max_span < 256 else np.int64)

    @property
    def mean_span(self) -> float:
        """Expected span length in words (3.8 for SpanBERT's ``geometric_p=0.2, max_span=10``)."""
        lengths = np.arange(1, self.max_span + 1, dtype=np.float64)
        pmf = self.geometric_p * (1 - self.geometric_p) ** (lengths - 1)
        return float((pmf * lengths).sum() / pmf.sum())

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids = batch["input_ids"]
        special = batch["special_mask"].numpy()
        ws = batch["word_start"].numpy() & ~special
        r = rate_at(self.rate, step)
        b, length = special.shape
        words_upto = np.cumsum(ws, axis=1)  # words up to and including each position
        n_words = words_upto[:, -1] if length else np.zeros(b, dtype=np.int64)
        w = int(n_words.max()) if b else 0
        if w == 0 or r == 0:
            return _finish(batch, ids.clone(), torch.full_like(ids, IGNORE_INDEX))
        m = self.max_span

        # Words from each word start to the end of its segment (the next special token or the row's end).
        at_special = np.where(special, words_upto, w)
        seg_end = np.minimum(np.minimum.accumulate(at_special[:, ::-1], axis=1)[:, ::-1], n_words[:, None])
        room = seg_end - words_upto + 1

        # Word-level tables, flattened with max_span empty slots before each row so that shifting by d < m
        # never reads the previous row. Every word is a candidate span start with one random 62-bit draw:
        # the whole value is its priority, bits 24-39 pick its length, bits 0-23 its 80/10/10 decision.
        width = m + w
        tok_slot = (np.arange(b, dtype=np.int64) * width + m - 1)[:, None] + words_upto
        starts = np.flatnonzero(ws)
        slot = tok_slot.ravel()[starts]
        bits = random_priorities((len(slot),), generator)
        table = self._length_table
        span_len = np.zeros(b * width, dtype=table.dtype)
        span_len[slot] = np.minimum(table[(bits >> 24) & 0xFFFF], room.ravel()[starts])
        priority = np.full(b * width, _NEVER, dtype=np.int64)
        priority[slot] = bits

        # cover[x] = smallest priority among candidate spans starting at x - d (d < max_span) that reach x.
        cover = priority.copy()
        reaching = priority.copy()
        for d in range(1, min(m, w)):
            np.putmask(reaching, span_len == d, _NEVER)  # spans of length d stop reaching at offset d
            np.minimum(cover[d:], reaching[:-d], out=cover[d:])
        tok_cover = cover[tok_slot]
        tok_cover[special] = _NEVER

        # Budget: spans in priority order until round(rate * n) tokens are covered; the span crossing the
        # budget is kept or dropped, whichever lands closer.
        k = np.rint((~special).sum(1) * r).astype(np.int64)
        t = kth_smallest(tok_cover, k)
        upto = tok_cover <= t
        before = tok_cover < t
        use_upto = (upto.sum(1) - k) <= (k - before.sum(1))
        selected = np.where(use_upto[:, None], upto, before) & (k > 0)[:, None]
        # The low bits of a span's priority are uniform and independent of its rank: the span's 80/10/10 draw.
        decision = (tok_cover & (_LOW_BITS - 1)).astype(np.float32) / _LOW_BITS
        out_ids, labels = mask_replace_with(
            ids, selected, decision, info, generator, self.mask_prob, self.random_prob, type(self).__name__
        )
        return _finish(batch, out_ids, labels)
