"""The vectorized kernels corruption strategies share: argument checks, random draws, row-wise array tricks and
the re-layout of a batch whose tokens moved.

One copy of each: a strategy module holds only what is specific to its strategies. Everything here works on
numpy views of the Collator's CPU tensors (several times cheaper per call than torch for these small integer
arrays) and draws every random number from the ``torch.Generator`` it is given, so a batch stays a pure
function of (data, seed, step). No function loops over batch rows or tokens in Python.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, Constant, Linear, RateLike, Schedule
from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo

# --------------------------------------------------------------------------- argument checks


def _number(value: object, name: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def check_prob(value: float, name: str, low: float = 0.0, high: float = 1.0) -> float:
    """Validate a probability-like argument (a number in ``[low, high]``) and return it as float."""
    v = _number(value, name)
    if not (low <= v <= high):
        raise ConfigError(f"{name} must be in [{low}, {high}], got {v}")
    return v


def as_schedule(value: RateLike, name: str, low: float = 0.0, high: float = 1.0) -> Schedule:
    """Validate a rate (a number in ``[low, high]`` or a Schedule whose endpoints are) and wrap it."""
    sched = value if isinstance(value, Schedule) else Constant(_number(value, name))
    probes = [sched(0)]
    if isinstance(sched, Linear):
        probes += [sched.start, sched.end]
    for v in probes:
        if not (low <= v <= high):
            raise ConfigError(f"{name} must be in [{low}, {high}], got {v}")
    return sched


def rate_at(schedule: Schedule, step: int, name: str = "rate") -> float:
    """Evaluate a rate schedule at ``step`` and check it is a probability (a custom schedule may stray)."""
    r = float(schedule(step))
    if not (0.0 <= r <= 1.0):
        raise ConfigError(f"{name} schedule gave {r} at step {step}; it must stay within [0, 1]")
    return r


# --------------------------------------------------------------------------- random draws

PRIORITY_END = 2**62  # random priorities are uniform int64 in [0, PRIORITY_END)


def uniform(shape: tuple[int, ...], generator: torch.Generator) -> np.ndarray:
    """Uniform ``[0, 1)`` float32 draws from ``generator``, as a numpy array."""
    return torch.rand(shape, generator=generator).numpy()


def random_priorities(shape: tuple[int, ...], generator: torch.Generator) -> np.ndarray:
    """Uniform random int64 in ``[0, 2**62)``: ranking keys whose ties are practically impossible."""
    return torch.empty(shape, dtype=torch.long).random_(0, PRIORITY_END, generator=generator).numpy()


def sample_ids(
    shape: tuple[int, ...],
    generator: torch.Generator,
    pool: np.ndarray | torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> np.ndarray:
    """Random token ids: drawn by ``weights`` over the vocabulary (with replacement) if given, else uniformly
    from the ids in ``pool``."""
    n = math.prod(shape)
    if n == 0:
        return np.empty(shape, dtype=np.int64)
    if weights is not None:
        return torch.multinomial(weights, n, replacement=True, generator=generator).view(shape).numpy()
    pool = np.asarray(pool)
    return pool[torch.randint(len(pool), shape, generator=generator).numpy()]


def random_tokens(
    shape: tuple[int, ...], info: TokenizerInfo, generator: torch.Generator, source: str = "uniform"
) -> np.ndarray:
    """Random non-special token ids: uniform over the vocabulary, or by corpus unigram frequency."""
    if source == "unigram":
        if info.unigram_probs is None:
            raise ConfigError(
                "source='unigram' needs corpus unigram frequencies: call info.set_unigram_counts(counts) "
                "(textssl.data.unigram_counts computes them) or use source='uniform'"
            )
        return sample_ids(shape, generator, weights=info.unigram_probs)
    return sample_ids(shape, generator, pool=info.replace_ids)


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
    keys = uniform((b, w), generator)
    keys[~candidates] = -1.0
    order = torch.from_numpy(keys).topk(k, dim=1).indices.numpy()
    taken = np.arange(k) < counts[:, None]
    chosen = scatter_rows(w, np.where(taken, order, w), True, fill=False, dtype=bool)
    return chosen, order, taken


# --------------------------------------------------------------------------- row-wise array kernels


def row_offsets(b: int, width: int) -> np.ndarray:
    """``[B, 1]`` start of each row in a flattened ``[B, width]`` array."""
    return (np.arange(b, dtype=np.int64) * width)[:, None]


def gather_rows(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``table[b, idx[b, i]]`` for every row (one flat gather)."""
    return table.ravel()[row_offsets(table.shape[0], table.shape[1]) + idx]


def scatter_rows(
    width: int,
    idx: np.ndarray,
    values: np.ndarray | int | bool,
    fill: int | bool | np.ndarray = 0,
    dtype: type = np.int64,
) -> np.ndarray:
    """A ``[B, width]`` array of ``fill`` with ``values`` written at ``idx`` of each row (one flat scatter;
    an index equal to ``width`` is dropped, so ``np.where(keep, idx, width)`` writes only the kept ones)."""
    b = idx.shape[0]
    out = np.empty((b, width + 1), dtype)
    out[:, :width] = fill
    out.ravel()[row_offsets(b, width + 1) + idx] = values
    return out[:, :width]


def segment_starts(values: np.ndarray) -> np.ndarray:
    """True where a new run of equal values begins along each row (position 0 always starts one)."""
    starts = np.ones(values.shape, bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    return starts


def shift_right(values: np.ndarray) -> np.ndarray:
    """Each row moved one position to the right, with 0 (False) entering at position 0."""
    out = np.zeros_like(values)
    out[:, 1:] = values[:, :-1]
    return out


def kth_smallest(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The ``k``-th smallest entry of each row (``k`` 1-based, one per row; ``k < 1`` reads the smallest).

    One ``np.partition`` at the largest ``k`` moves each row's ``k_max`` smallest entries to the front, and
    only those are sorted (torch's CPU sort of the full rows is an order of magnitude slower). Returns
    ``[B, 1]``.
    """
    kk = np.maximum(np.asarray(k) - 1, 0)
    kmax = int(kk.max()) if len(kk) else 0
    front = np.partition(values, kmax, axis=1)[:, : kmax + 1]
    front.sort(axis=1)
    return np.take_along_axis(front, kk[:, None], 1)


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
    ids = ids.astype(np.int64, copy=False)
    # Fast path, the usual case of packed blocks: the valid ids never decrease along a row, so a new id is a
    # change from the previous valid one and the ranks are a running count (no sort).
    running = np.maximum.accumulate(np.where(valid, ids, np.iinfo(np.int64).min), axis=1)
    if np.array_equal(running[valid], ids[valid]):
        before = np.concatenate([np.full((b, 1), np.iinfo(np.int64).min), running[:, :-1]], axis=1)
        new = valid & (ids != before)
        rank = np.cumsum(new, 1) - 1
        return np.where(valid, rank, -1), int(rank[:, -1].max()) + 1
    key = np.where(valid, ids, np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    ordered = np.take_along_axis(key, order, 1)
    ordered_valid = np.take_along_axis(valid, order, 1)
    rank = np.cumsum(segment_starts(ordered) & ordered_valid, 1) - 1
    out = np.empty((b, w), np.int64)
    np.put_along_axis(out, order, np.where(ordered_valid, rank, -1), 1)
    return out, int(rank[:, -1].max()) + 1


def pack_left(keep: np.ndarray, *arrays: tuple[np.ndarray, int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Left-align the kept entries of each row of every ``(array, pad)`` (order kept), padded with ``pad``.

    For several arrays sharing one ``keep`` mask, with one flat scatter each. Returns the packed (contiguous)
    arrays, ``[B, max kept]``, and the kept counts.
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


# --------------------------------------------------------------------------- words


def word_starts(ids: np.ndarray, special: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Word-start flags of a batch: the vocabulary's word-start ``table`` at each id, and the token after a
    special token (or at a row's start) also starts a word; special tokens and padding (``special``) are not
    words. The one place this rule lives (the Collator, ``Compose`` and every re-layout use it)."""
    ws = table[ids]
    if ws.shape[1]:
        ws[:, 0] = True
        ws[:, 1:] |= special[:, :-1]
    return ws & ~special


def word_start_index(word_start: torch.Tensor | np.ndarray) -> np.ndarray:
    """For every position, the flat index (into the ``[B * L]`` flattened batch) of its word's start token.

    A word is a word-start token plus the continuation tokens after it; a running maximum over the flat
    positions of word starts carries each start forward. Each row's first position is treated as a start,
    so nothing leaks across rows (positions before a row's first word are special tokens anyway).
    """
    ws = np.asarray(word_start)
    b, length = ws.shape
    flat = np.arange(b * length, dtype=np.int64).reshape(b, length)
    pos = np.where(ws, flat, 0)
    pos[:, 0] = flat[:, 0]
    return np.maximum.accumulate(pos.ravel()).reshape(b, length)


def per_word(values: np.ndarray, word_start: torch.Tensor | np.ndarray) -> np.ndarray:
    """Broadcast ``values`` ``[B, L]`` from each word's start token to all tokens of the word."""
    return values.ravel()[word_start_index(word_start)]


# --------------------------------------------------------------------------- layouts


def pad_id(info: TokenizerInfo) -> int:
    """The id that fills padding positions: the tokenizer's pad token, or 0 if it has none."""
    return int(info.pad_id) if info.pad_id is not None else 0


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
        out["word_start"] = torch.from_numpy(word_starts(ids, special, info.word_start.numpy()))
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
