"""T5 span corruption (Raffel et al., 2020, "Exploring the Limits of Transfer Learning with a Unified
Text-to-Text Transformer").

Noise spans follow T5's ``random_spans_noise_mask``: for a row of length ``L`` there are
``round(noise_density * L)`` noise tokens in ``max(1, round(noise / mean_span_length))`` spans; the noise and
non-noise counts are each cut into that many non-empty pieces at uniformly random places, and the pieces
alternate non-noise, noise, non-noise, ... (starting with non-noise, ending with noise). ``L`` is the row's
real length (special tokens included, as T5 counts its raw block), but the spans are laid over the row's
*non-special* tokens only, for all rows at once (a ``topk`` over random keys picks the cut points of every row;
the rest is numpy on views of the batch). As in T5, the last piece is always noise, so a short row whose noise
fits in one span has it at its end.

* inputs: each noise span becomes the next sentinel ``<extra_id_k>`` (``k`` from 0 per row); special tokens
  stay in place; EOS is appended unless the row already ends with it.
* labels: ``<extra_id_0> span_0 <extra_id_1> span_1 ... EOS``: each run of kept tokens becomes a sentinel, as
  T5 builds targets (so a row ending with ``</s>`` gives ``... span_last <extra_id_last> </s>``); -100 padding.

A special token inside a noise span (a document boundary in a packed block) stays in the inputs and splits the
span in two, each with its own sentinel. :func:`compute_input_and_target_lengths` gives the raw block length
whose corrupted inputs are exactly ``inputs_length`` tokens long.
"""

from __future__ import annotations

import numpy as np
import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, Strategy
from textssl.corruption.ops import (
    check_prob,
    pad_id,
    relayout,
    row_offsets,
    segment_starts,
    shift_right,
    tracks_ids,
    uniform,
)
from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo

NAME = "T5SpanCorruption"


def _check_args(noise_density: float, mean_span_length: float) -> tuple[float, float]:
    d = check_prob(noise_density, "noise_density")
    if not 0.0 < d < 1.0:
        raise ConfigError(f"noise_density must be strictly between 0 and 1, got {noise_density}")
    m = check_prob(mean_span_length, "mean_span_length", 1.0, float("inf"))
    return d, m


def _span_counts(length: int, noise_density: float, mean_span_length: float) -> tuple[int, int]:
    """(noise tokens, noise spans) for a row of ``length`` corruptible tokens, the runtime's rule."""
    noise = min(max(round(length * noise_density), 1), length - 1)
    spans = min(max(round(noise / mean_span_length), 1), length - noise)
    return noise, spans


def compute_input_and_target_lengths(
    inputs_length: int, noise_density: float = 0.15, mean_span_length: float = 3.0
) -> tuple[int, int]:
    """The raw block length to pack so that T5 span corruption yields ``inputs_length`` input tokens.

    Returns ``(tokens_length, targets_length)``: ``tokens_length`` is the largest raw length whose inputs
    (kept tokens + one sentinel per span + EOS) fit in ``inputs_length``; ``targets_length`` is the matching
    target length (noise tokens + one sentinel per span + EOS). As T5's ``random_spans_helper``; e.g.
    ``compute_input_and_target_lengths(512)`` is ``(568, 114)``. Exact for blocks without special tokens;
    each special token inside a block (kept in place) shifts the counts by about one token.
    """
    noise_density, mean_span_length = _check_args(noise_density, mean_span_length)
    if int(inputs_length) != inputs_length or inputs_length < 3:
        raise ConfigError(f"inputs_length must be an integer >= 3, got {inputs_length}")

    def lengths(tokens_length: int) -> tuple[int, int]:
        noise, spans = _span_counts(tokens_length, noise_density, mean_span_length)
        return tokens_length - noise + spans + 1, noise + spans + 1

    tokens_length = int(inputs_length)
    while lengths(tokens_length + 1)[0] <= inputs_length:
        tokens_length += 1
    return tokens_length, lengths(tokens_length)[1]


def _cut_points(counts: np.ndarray, pieces: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """Random segmentations of all rows at once (T5's ``random_segmentation``).

    Cutting ``counts[b]`` items into ``pieces[b]`` non-empty pieces means choosing ``pieces - 1`` of the
    ``counts - 1`` gaps uniformly at random (a ``topk`` over random keys). Returns ``[B, P]``
    (``P = max(pieces)``): the end (exclusive item index) of every piece, in order; pieces beyond
    ``pieces[b]`` are empty and end at ``counts``.
    """
    b = counts.shape[0]
    k = int(pieces.max()) - 1
    ends = counts[:, None]
    if k <= 0:
        return ends
    width = int(counts.max())
    gap = np.arange(width)  # gap i: a new piece starts at item i
    keys = uniform((b, width), generator)
    keys[(gap < 1) | (gap >= ends)] = -1.0
    cuts = torch.from_numpy(keys).topk(k, dim=1).indices.numpy()
    cuts = np.sort(np.where(np.arange(k) < (pieces - 1)[:, None], cuts, ends), axis=1)
    return np.concatenate([cuts, ends], 1)


class T5SpanCorruption(Strategy):
    """T5 span corruption (Raffel et al., 2020): noise spans -> sentinels in the inputs, spans in the targets.

    ``noise_density`` is the fraction of tokens corrupted (counted over the row's real length, special tokens
    included, as T5 counts its raw block), ``mean_span_length`` the mean span length. Needs a tokenizer with
    sentinels (``<extra_id_N>``, e.g. the shipped ``unigram``) and rows with at least 2 non-special tokens.
    Outputs ``input_ids``, ``attention_mask``, ``labels`` (``T5ForConditionalGeneration`` builds
    ``decoder_input_ids`` from ``labels``).
    """

    def __init__(self, noise_density: float = 0.15, mean_span_length: float = 3.0) -> None:
        self.noise_density, self.mean_span_length = _check_args(noise_density, mean_span_length)

    def validate(self, info: TokenizerInfo) -> None:
        info.require_sentinels(1, NAME)

    def noise_mask(self, batch: Batch, generator: torch.Generator) -> np.ndarray:
        """Boolean ``[B, L]`` noise mask over the batch (T5's ``random_spans_noise_mask``, vectorized)."""
        special, attn = batch["special_mask"].numpy(), batch["attention_mask"].numpy() != 0
        corr = attn & ~special
        n = corr.sum(1)
        if bool((n < 2).any()):
            row = int(np.flatnonzero(n < 2)[0])
            raise ConfigError(
                f"{NAME} needs at least 2 non-special tokens per row to corrupt a span; row {row} has "
                f"{int(n[row])}. Drop or merge very short rows (e.g. pack documents into longer blocks)."
            )
        b = len(n)
        length = attn.sum(1)
        noise = np.minimum(np.maximum(np.round(length * self.noise_density), 1).astype(np.int64), n - 1)
        spans = np.maximum(np.round(noise / self.mean_span_length), 1).astype(np.int64)
        spans = np.minimum(spans, n - noise)
        width = int(n.max())
        kept_end = _cut_points(n - noise, spans, generator)
        noise_end = _cut_points(noise, spans, generator)
        noise_begin = shift_right(noise_end)
        # noise span s sits after kept pieces 0..s and noise pieces 0..s-1 (pieces alternate, kept first)
        offsets = row_offsets(b, width + 1)
        size = b * (width + 1)
        marks = np.bincount((offsets + kept_end + noise_begin).ravel(), minlength=size)
        marks -= np.bincount((offsets + kept_end + noise_end).ravel(), minlength=size)
        is_noise = (np.cumsum(marks.reshape(b, width + 1), 1) > 0).ravel()
        rank = np.maximum(np.cumsum(corr, 1) - 1, 0)  # position among the row's corruptible tokens
        return corr & is_noise[offsets + rank]

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        sentinels = info.sentinel_ids.numpy()
        if len(sentinels) == 0:
            info.require_sentinels(1, NAME)
        ids, attn = batch["input_ids"].numpy(), batch["attention_mask"].numpy() != 0
        b, width = ids.shape
        noise = self.noise_mask(batch, generator)
        kept = attn & ~noise
        # runs of kept / noise tokens alternate and the first is kept: run r uses sentinel r // 2
        starts = segment_starts(noise) & attn
        run = np.cumsum(starts, 1)
        needed = (int(run[:, -1].max()) + 1) // 2 if width else 0
        if needed > len(sentinels):
            info.require_sentinels(
                needed, f"{NAME} (a row has {needed} spans; use shorter rows or longer spans)"
            )
        sentinel = sentinels[np.maximum(run - 1, 0) >> 1]
        noise_start, kept_start = starts & noise, starts & kept

        eos = info.eos_id
        pad = pad_id(info)
        length = attn.sum(1)
        last = ids[np.arange(b), np.maximum(length - 1, 0)]
        add_eos = (last != eos) if eos is not None else np.zeros(b, bool)
        # inputs: kept tokens (special tokens included), one sentinel per noise span, then EOS
        in_keep = kept | noise_start
        n_in = in_keep.sum(1)
        total = n_in + add_eos
        w_in = int(total.max())
        offsets = row_offsets(b, w_in + 1)
        dest = offsets + np.where(in_keep, np.cumsum(in_keep, 1) - 1, w_in)
        eos_at = offsets[:, 0] + n_in
        new_ids = np.full(b * (w_in + 1), pad, np.int64)
        new_ids[dest] = np.where(noise_start, sentinel, ids)
        new_ids[eos_at] = np.where(add_eos, eos if eos is not None else pad, pad)
        special = np.ones(b * (w_in + 1), bool)
        special[dest] = batch["special_mask"].numpy() | noise_start
        new_src = None
        if tracks_ids(batch):
            new_src = np.zeros(b * (w_in + 1), np.int64)
            new_src[dest] = np.arange(width)
            new_src[eos_at] = np.maximum(length - 1, 0)
            new_src = new_src.reshape(b, w_in + 1)[:, :w_in]
        new_ids = np.ascontiguousarray(new_ids.reshape(b, w_in + 1)[:, :w_in])
        special = np.ascontiguousarray(special.reshape(b, w_in + 1)[:, :w_in])
        valid = np.arange(w_in) < total[:, None]
        out = relayout(batch, info, new_ids, new_src, valid, special=special)
        # targets: one sentinel per kept run, the noise tokens, then EOS
        tg_keep = noise | kept_start
        n_tg = tg_keep.sum(1)
        w_tg = int(n_tg.max()) + (eos is not None)
        offsets = row_offsets(b, w_tg + 1)
        labels = np.full(b * (w_tg + 1), IGNORE_INDEX, np.int64)
        labels[offsets + np.where(tg_keep, np.cumsum(tg_keep, 1) - 1, w_tg)] = np.where(
            kept_start, sentinel, ids
        )
        if eos is not None:
            labels[offsets[:, 0] + n_tg] = eos
        out["labels"] = torch.from_numpy(np.ascontiguousarray(labels.reshape(b, w_tg + 1)[:, :w_tg]))
        return out
