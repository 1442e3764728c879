"""``Compose``: chain several strategies, each applied to a random subset of rows."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, Strategy
from textssl.corruption.ops import check_prob, pad_id, uniform, word_starts
from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo

_ID_KEYS = ("input_ids", "decoder_input_ids", "original_ids")
_ZERO_KEYS = ("attention_mask", "decoder_attention_mask", "token_type_ids", "word_start", "replaced")


def pad_value(key: str, info: TokenizerInfo) -> int | bool:
    """The fill value for ``key`` when a row is padded or a row has no value for it."""
    if key in _ID_KEYS:
        return pad_id(info)
    if key == "special_mask":
        return True
    if key in ("sentence_ids", "document_ids"):
        return -1
    if key in _ZERO_KEYS:
        return 0
    if "label" in key:
        return IGNORE_INDEX
    return 0


def _pad_width(t: torch.Tensor, width: int, value: int | bool) -> torch.Tensor:
    if t.dim() < 2 or t.shape[1] >= width:
        return t
    fill = torch.full((t.shape[0], width - t.shape[1], *t.shape[2:]), value, dtype=t.dtype)
    return torch.cat([t, fill], 1)


class Compose(Strategy):
    """Apply ``strategies`` in order; the output of one is the input of the next.

    ``probs[i]`` (default 1) is the probability that strategy ``i`` is applied to a given *row*. The strategy
    runs on the whole batch (vectorized), then each row keeps either the new or the previous values
    (``torch.where``; rows of different widths are right-padded with the key's pad value). A key the strategy
    creates gets a neutral value in the rows it skipped: ``-100`` for labels (no loss), the current
    ``input_ids`` for ``original_ids``, ``False``/0/pad otherwise. For length-changing strategies
    (T5 span corruption, infilling) a skipped row therefore keeps its uncorrupted inputs and has no target.

    Between members the internal ``special_mask`` is recomputed from the current ``input_ids`` (so mask
    tokens and sentinels placed by an earlier member are never corrupted again), and ``word_start`` too when
    the next member needs it. Seq2seq members set ``labels`` only when absent, so in BART's
    ``Compose([SentencePermutation(), TextInfilling()])`` the target stays the original text.
    """

    def __init__(self, strategies: Sequence[Strategy], probs: Sequence[float] | None = None) -> None:
        strategies = list(strategies)
        if not strategies:
            raise ConfigError("Compose needs at least one strategy")
        for s in strategies:
            if not callable(s):
                raise ConfigError(f"Compose members must be strategies (callables), got {s!r}")
        if probs is None:
            probs = [1.0] * len(strategies)
        probs = list(probs)
        if len(probs) != len(strategies):
            raise ConfigError(
                f"Compose got {len(strategies)} strategies but {len(probs)} probs; give one each"
            )
        self.strategies = strategies
        self.probs = [check_prob(p, f"probs[{i}]") for i, p in enumerate(probs)]

    @property
    def requires(self) -> tuple[str, ...]:  # type: ignore[override]
        keys: dict[str, None] = {}
        for s in self.strategies:
            keys.update(dict.fromkeys(getattr(s, "requires", ())))
        return tuple(keys)

    def validate(self, info: TokenizerInfo) -> None:
        for s in self.strategies:
            if hasattr(s, "validate"):
                s.validate(info)

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        state = dict(batch)
        b = state["input_ids"].shape[0]
        for i, (strategy, p) in enumerate(zip(self.strategies, self.probs)):
            if i > 0:
                state = self._refresh(state, info, getattr(strategy, "requires", ()), strategy)
            chosen = None if p >= 1 else torch.from_numpy(uniform((b,), generator) < p)
            out = strategy(state, info, generator, step)
            state = {**state, **out} if chosen is None else self._mix(state, out, chosen, info)
        return state

    @staticmethod
    def _refresh(state: Batch, info: TokenizerInfo, needs: Sequence[str], strategy: Strategy) -> Batch:
        ids = state["input_ids"]
        attn = state.get("attention_mask")
        if attn is None or attn.shape != ids.shape:
            attn = (ids != info.pad_id).long() if info.pad_id is not None else torch.ones_like(ids)
        special = info.special[ids] | (attn == 0)
        state = dict(state)
        state["special_mask"] = special
        if "word_start" in needs:
            state["word_start"] = torch.from_numpy(
                word_starts(ids.numpy(), special.numpy(), info.word_start.numpy())
            )
        for key in ("sentence_ids", "document_ids"):
            if key in needs and (key not in state or state[key].shape != ids.shape):
                raise ConfigError(
                    f"{type(strategy).__name__} needs '{key}', but an earlier strategy in the Compose changed "
                    "the sequence length; put sentence/document-level strategies first"
                )
        return state

    @staticmethod
    def _mix(state: Batch, out: Batch, chosen: torch.Tensor, info: TokenizerInfo) -> Batch:
        b = chosen.shape[0]
        result = dict(state)
        for key, new in out.items():
            old = state.get(key)
            if new is old or not isinstance(new, torch.Tensor) or new.dim() == 0 or new.shape[0] != b:
                result[key] = new
                continue
            if key == "original_ids" and old is None:
                old = state["input_ids"]
            if (
                old is None
                or not isinstance(old, torch.Tensor)
                or old.dim() != new.dim()
                or old.shape[0] != b
            ):
                old = torch.full(new.shape, pad_value(key, info), dtype=new.dtype)
            if new.dim() >= 2:
                width = max(new.shape[1], old.shape[1])
                fill = pad_value(key, info)
                new, old = _pad_width(new, width, fill), _pad_width(old, width, fill)
                if new.shape[2:] != old.shape[2:]:
                    result[key] = new
                    continue
            where = chosen.view(b, *([1] * (new.dim() - 1)))
            result[key] = torch.where(where, new, old.to(new.dtype))
        return result
