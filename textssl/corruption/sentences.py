"""Sentence-level corruption: BART sentence permutation, ALBERT sentence order, BERT next sentence.

All three read the block-local ``sentence_ids`` and ``document_ids`` that ``textssl.data`` records (special
tokens have sentence id -1 and are never moved by the permutation). They are vectorized over the batch: the
permutation works on a small per-sentence table (random keys, a few sorts over sentences, offsets) and moves
the tokens with flat scatters and gathers; the segment-pair layouts are index arithmetic and one gather
(numpy on views of the batch; random numbers from the torch generator).

Segment-pair layout (``SentenceOrder``, ``NextSentence``): every row becomes

    ``[CLS] A [SEP] B [SEP]``   (``[CLS]`` = the tokenizer's cls/bos token, omitted if it has neither;
                                 ``[SEP]`` = its sep/eos token)

with ``token_type_ids`` 0 on ``[CLS] A [SEP]`` and 1 on ``B [SEP]``. ``A`` and ``B`` are the row's
non-special tokens before and after a random sentence boundary (special tokens of the packed block are
dropped). The boundary is drawn among boundaries *inside a document*, so that "B follows A" is true text
order. The output is never wider than the input batch: a pair that would not fit loses tokens at the outer
ends of the longer segment (the start of ``A``, the end of ``B``), so the junction between them survives
(BERT and ALBERT likewise reserve 3 of ``max_length`` tokens for the separators). Rows without such a
boundary (a single sentence, only document boundaries, or a batch too narrow for a pair) are laid out as
``[CLS] A [SEP]`` with label ``-100`` (no loss). The byte-level BPE tokenizer gets ``<s> A </s> B </s>``
(RoBERTa's own pair template doubles the middle ``</s>``; a single one is enough for pretraining).

These two do not set ``labels`` and drop ``sentence_ids``/``document_ids`` (they no longer match the
layout); put them first in a ``Compose`` with a masking strategy, e.g.
``Compose([SentenceOrder(), TokenMasking()])``: the updated ``special_mask`` (and ``word_start``) keep the
new separators from being masked.
"""

from __future__ import annotations

import numpy as np
import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, Strategy
from textssl.corruption.ops import (
    check_prob,
    dense_ranks,
    gather_rows,
    original_labels,
    pack_left,
    pad_id,
    row_offsets,
    scatter_rows,
    uniform,
    word_starts,
)
from textssl.errors import ConfigError, MissingKeyError
from textssl.tokenization import TokenizerInfo

_KEYS = ("sentence_ids", "document_ids")


def _need(batch: Batch, strategy: str) -> None:
    for key in _KEYS:
        if key not in batch:
            raise MissingKeyError(
                f"{strategy} needs '{key}' in the batch; prepare the data with textssl.data (which records "
                "sentence and document ids) and use textssl.Collator"
            )


class SentencePermutation(Strategy):
    """BART sentence permutation (Lewis et al., 2020; fairseq ``permute_sentences``).

    Within each document of a block, ``ceil(ratio * n)`` of its ``n`` sentences (a random subset) are
    shuffled among their own slots; the rest stay. Special tokens stay at their positions, each sentence
    stays contiguous and in order inside, and each document keeps its tokens. ``labels`` = the original
    sequence unless already set. ``sentence_ids`` in the output are renumbered to the new order.
    """

    requires = _KEYS

    def __init__(self, ratio: float = 1.0) -> None:
        self.ratio = check_prob(ratio, "ratio")

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        _need(batch, "SentencePermutation")
        ids, special = batch["input_ids"].numpy(), batch["special_mask"].numpy()
        sid, doc = batch["sentence_ids"].numpy(), batch["document_ids"].numpy()
        b, width = ids.shape
        movable = ~special & (sid >= 0)
        labels = original_labels(batch)
        if self.ratio == 0 or not movable.any():
            return {**batch, "labels": labels}
        if (movable & (sid < np.maximum.accumulate(np.where(movable, sid, -1), 1))).any():
            raise ConfigError(
                "SentencePermutation needs each row's sentence_ids to be non-decreasing over its text tokens "
                "(each sentence contiguous), as textssl.data packs them"
            )
        # ids are labels, not sizes: every per-sentence table below is [B, distinct ids in a row], never
        # [B, ids.max()] (corpus-wide ids near 10**9 cost the same as block-local ones)
        dense_sid, n_sent = dense_ranks(sid, movable)
        dense_doc, n_doc = dense_ranks(doc, movable)
        n_doc = max(n_doc, 1)
        s_idx = np.where(movable, dense_sid, n_sent)
        off = row_offsets(b, n_sent + 1)
        s_len = np.bincount((off + s_idx).ravel(), minlength=b * (n_sent + 1)).reshape(b, -1)[:, :n_sent]
        exists = s_len > 0
        sdoc = np.where(exists, scatter_rows(n_sent, s_idx, dense_doc), n_doc)
        sent = np.arange(n_sent)
        keys = uniform((2, b, n_sent), generator)
        chosen = exists
        if self.ratio < 1:
            # a random ceil(ratio * n) of each document's n sentences: rank sentences by (document, key)
            counts = np.bincount((row_offsets(b, n_doc + 1) + sdoc).ravel(), minlength=b * (n_doc + 1))
            counts = counts.reshape(b, n_doc + 1)
            group_start = gather_rows(np.cumsum(counts, 1) - counts, sdoc)
            to_move = np.ceil(gather_rows(counts, sdoc) * self.ratio)
            rank = scatter_rows(n_sent, np.argsort(sdoc + keys[0], 1), sent)
            chosen = exists & (rank - group_start < to_move)
        # the chosen sentences, in random order within each document, take the chosen slots in text order
        big = float((n_doc + 1) * n_sent)
        slots = np.argsort(np.where(chosen, sent, big), 1, kind="stable")
        movers = np.argsort(np.where(chosen, sdoc + keys[1], big), 1, kind="stable")
        new_slot = scatter_rows(n_sent, movers, slots)
        # text offsets: where each sentence starts before and after the move (sentences are contiguous)
        slot_len = gather_rows(s_len, scatter_rows(n_sent, new_slot, sent))
        new_start = gather_rows(np.cumsum(slot_len, 1) - slot_len, new_slot)
        tok_sent = np.minimum(s_idx, n_sent - 1)
        rank_text = np.cumsum(movable, 1) - 1
        new_rank = gather_rows(new_start - (np.cumsum(s_len, 1) - s_len), tok_sent) + rank_text
        text_pos = scatter_rows(width, np.where(movable, rank_text, width), np.arange(width))
        dest = np.where(movable, gather_rows(text_pos, np.clip(new_rank, 0, width - 1)), width)
        # special tokens and documents stay in place: only ids, sentence ids and word starts change
        new_ids = np.ascontiguousarray(scatter_rows(width, dest, ids, fill=ids))
        new_sid = np.ascontiguousarray(scatter_rows(width, dest, gather_rows(new_slot, tok_sent), fill=-1))
        out = dict(batch)
        out["input_ids"] = torch.from_numpy(new_ids)
        out["sentence_ids"] = torch.from_numpy(new_sid)
        if "word_start" in batch:
            out["word_start"] = torch.from_numpy(word_starts(new_ids, special, info.word_start.numpy()))
        out["labels"] = labels
        return out


# --------------------------------------------------------------------------- segment pairs


def _split_points(
    batch: Batch, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The row's text (non-special) ids left-aligned ``[B, N]``, its length ``n``, a random in-document
    sentence boundary ``j`` (index into the text; ``n`` where there is none) and whether the row has one."""
    special, sid, doc = (batch[k].numpy() for k in ("special_mask", "sentence_ids", "document_ids"))
    text = ~special & (sid >= 0)
    (text_ids, csid, cdoc), n = pack_left(text, (batch["input_ids"].numpy(), 0), (sid, -1), (doc, -1))
    if text_ids.shape[1] < 2:
        if text_ids.shape[1] == 0:
            text_ids = np.zeros((len(n), 1), np.int64)
        return text_ids, n, n, np.zeros(len(n), bool)
    # a boundary before text token i: a new sentence of the same document
    bnd = (csid[:, 1:] != csid[:, :-1]) & (cdoc[:, 1:] == cdoc[:, :-1]) & (csid[:, 1:] >= 0)
    seen = np.cumsum(bnd, 1)  # pick the k-th boundary of the row, k uniform
    pick = (uniform((len(n),), generator) * seen[:, -1]).astype(np.int64)
    j = (seen <= pick[:, None]).sum(1)
    ok = seen[:, -1] > 0
    return text_ids, n, np.where(ok, j + 1, n), ok


def _fit(a: np.ndarray, b: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Lengths after trimming the longer of two segments until both fit ``budget`` (ALBERT's rule)."""
    a2 = np.minimum(a, np.maximum(budget - b, (budget + 1) // 2))
    b2 = np.minimum(b, np.maximum(budget - a, budget // 2))
    return a2, b2


def _pair_layout(
    batch: Batch,
    info: TokenizerInfo,
    text_ids: np.ndarray,
    first: tuple[np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray],
    has_second: np.ndarray,
    strategy: str,
    second_row: np.ndarray | None = None,
) -> Batch:
    """Lay out ``[CLS] first [SEP] second [SEP]``; segments are ``(start, length)`` in ``text_ids`` of their
    row (the row itself, or ``second_row`` for the second segment).

    ``sentence_ids``/``document_ids`` are dropped: they describe the old layout (a later member of a
    ``Compose`` that needs them gets a clear error).
    """
    sep = info.require("sep_id", strategy)
    cls = info.cls_id
    c = int(cls is not None)
    (s1, l1), (s2, l2) = first, second
    b, n_text = text_ids.shape
    end1 = (c + l1)[:, None]  # position of the first [SEP]
    end2 = end1 + 1 + (l2 * has_second)[:, None]  # position of the second [SEP]
    total = end2 + has_second[:, None]
    width = int(total.max())
    p = np.arange(width)
    in_second = p > end1
    col = np.clip(p + np.where(in_second, s2[:, None] - end1 - 1, (s1 - c)[:, None]), 0, n_text - 1)
    rows = np.arange(b)[:, None]
    if second_row is not None:
        rows = np.where(in_second, second_row[:, None], rows)
    ids = text_ids.ravel()[rows * n_text + col]
    valid = p < total
    seps = (p == end1) | ((p == end2) & has_second[:, None])
    ids = np.where(seps, sep, np.where(valid, ids, pad_id(info)))
    special = seps | ~valid
    if c:
        ids[:, 0] = int(cls)
        special[:, 0] = True
    out = {k: v for k, v in batch.items() if k not in _KEYS}
    out["input_ids"] = torch.from_numpy(ids)
    out["attention_mask"] = torch.from_numpy(valid.astype(np.int64))
    out["special_mask"] = torch.from_numpy(special)
    out["token_type_ids"] = torch.from_numpy((in_second & valid).astype(np.int64))
    if "word_start" in batch:
        out["word_start"] = torch.from_numpy(word_starts(ids, special, info.word_start.numpy()))
    return out


class _SegmentPair(Strategy):
    requires = _KEYS
    _name = ""

    def validate(self, info: TokenizerInfo) -> None:
        info.require("sep_id", self._name)

    def _budgets(self, batch: Batch, info: TokenizerInfo) -> tuple[int, int]:
        """Text tokens that fit the input width in a pair (0 if a pair does not fit at all) and alone."""
        width = batch["input_ids"].shape[1]
        c = int(info.cls_id is not None)
        pair = width - c - 2
        return (pair if pair >= 2 else 0), max(width - c - 1, 0)


class SentenceOrder(_SegmentPair):
    """ALBERT sentence-order prediction (Lan et al., 2020): ``A`` and ``B`` are consecutive text, swapped
    with probability ``swap_prob`` (0.5).

    Output: the segment-pair layout (see the module docstring), ``token_type_ids`` and the label (0 = in
    order, 1 = swapped, -100 = row could not be split) under ``label_key``: ``next_sentence_label`` by default,
    the argument of ``BertForPreTraining.forward``, which is the model textssl's ``sop`` objective trains and
    saves (so ``transformers.Trainer`` gets a loss from it); ``label_key="sentence_order_label"`` for
    ``AlbertForPreTraining``. Does not set ``labels``.
    """

    _name = "SentenceOrder"
    LABEL_KEYS = ("next_sentence_label", "sentence_order_label")

    def __init__(self, swap_prob: float = 0.5, label_key: str = "next_sentence_label") -> None:
        self.swap_prob = check_prob(swap_prob, "swap_prob")
        if label_key not in self.LABEL_KEYS:
            raise ConfigError(
                f"SentenceOrder label_key must be one of {', '.join(self.LABEL_KEYS)} (the argument name of "
                f"BertForPreTraining / AlbertForPreTraining.forward), got {label_key!r}"
            )
        self.label_key = label_key

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        _need(batch, self._name)
        text_ids, n, j, ok = _split_points(batch, generator)
        pair_budget, single_budget = self._budgets(batch, info)
        ok &= pair_budget > 0
        a_len, b_len = _fit(j, n - j, pair_budget)
        a_start = j - a_len
        swap = ok & (uniform((len(n),), generator) < self.swap_prob)
        first = (
            np.where(ok, np.where(swap, j, a_start), 0),
            np.where(ok, np.where(swap, b_len, a_len), np.minimum(n, single_budget)),
        )
        second = (np.where(swap, a_start, j), np.where(swap, a_len, b_len))
        out = _pair_layout(batch, info, text_ids, first, second, ok, self._name)
        out[self.label_key] = torch.from_numpy(np.where(ok, swap, IGNORE_INDEX).astype(np.int64))
        return out


class NextSentence(_SegmentPair):
    """BERT next-sentence prediction (Devlin et al., 2019): ``B`` is the true continuation of ``A`` or, with
    probability ``random_prob`` (0.5), text from another row of the batch.

    The random ``B`` is the other row's text after its own split point (from its start if it has none), the
    other row chosen uniformly among the rest of the batch. Batches of one row always get the true
    continuation. Output: the segment-pair layout (see the module docstring), ``token_type_ids`` and
    ``next_sentence_label`` (0 = is next, 1 = random, as ``BertForPreTraining``; -100 = row could not be
    split). Does not set ``labels``.
    """

    _name = "NextSentence"

    def __init__(self, random_prob: float = 0.5) -> None:
        self.random_prob = check_prob(random_prob, "random_prob")

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        _need(batch, self._name)
        text_ids, n, j, ok = _split_points(batch, generator)
        pair_budget, single_budget = self._budgets(batch, info)
        ok &= pair_budget > 0
        b = len(n)
        rows = np.arange(b)
        u = uniform((2, b), generator)
        partner = (rows + 1 + (u[0] * max(b - 1, 1)).astype(np.int64)) % b  # uniform among the other rows
        p_start = np.where(ok[partner], j[partner], 0)
        p_len = n[partner] - p_start
        is_random = ok & (u[1] < self.random_prob) & (p_len > 0) & (partner != rows)
        a_len, b_len = _fit(j, np.where(is_random, p_len, n - j), pair_budget)
        first = (np.where(ok, j - a_len, 0), np.where(ok, a_len, np.minimum(n, single_budget)))
        second = (np.where(is_random, p_start, j), b_len)
        second_row = np.where(is_random, partner, rows)
        out = _pair_layout(batch, info, text_ids, first, second, ok, self._name, second_row=second_row)
        out["next_sentence_label"] = torch.from_numpy(np.where(ok, is_random, IGNORE_INDEX).astype(np.int64))
        return out
