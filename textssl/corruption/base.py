"""The strategy contract: the batch a strategy receives and returns, ``Strategy`` and rate ``Schedule``s.

A strategy is a callable ``strategy(batch, info, generator, step) -> batch``. ``batch`` is a dict of tensors
made by :class:`textssl.Collator`:

* ``input_ids`` (long ``[B, L]``), ``attention_mask`` (long ``[B, L]``),
* ``special_mask`` (bool ``[B, L]``): special tokens *and* padding, which no strategy may corrupt,
* ``word_start`` (bool ``[B, L]``) when the strategy lists it in ``requires``,
* ``sentence_ids`` / ``document_ids`` (long ``[B, L]``, ``-1`` on padding) when listed in ``requires``. They
  are labels, not sizes: block-local or corpus-wide, any magnitude; nothing may be sized by their maximum
  (renumber per row with :func:`textssl.corruption.ops.dense_ranks`).

It returns a new dict with the model inputs and targets (``labels`` use ``-100`` for "no loss"). Every random
draw comes from ``generator``; there is no Python loop over batch rows or tokens. The kernels strategies
share (argument checks, random draws, row-wise scatters, re-layouts) are in :mod:`textssl.corruption.ops`.
"""

from __future__ import annotations

import torch

from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo

Batch = dict[str, torch.Tensor]
IGNORE_INDEX = -100
# Keys the Collator adds for strategies; they are dropped from the final model batch.
INTERNAL_KEYS = ("special_mask", "word_start", "sentence_ids", "document_ids")


class Schedule:
    """A value that changes over training steps (e.g. a masking rate), evaluated as ``schedule(step)``."""

    def __call__(self, step: int) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class Constant(Schedule):
    """The same value at every step."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __call__(self, step: int) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value})"


class Linear(Schedule):
    """Linear interpolation from ``start`` to ``end`` over ``steps`` steps, then constant at ``end``.

    Ankner et al. (2023), "Dynamic Masking Rate Schedules for MLM Pretraining", decay the masking rate
    linearly from 30% to 15%: ``Linear(0.30, 0.15, total_steps)``.
    """

    def __init__(self, start: float, end: float, steps: int) -> None:
        if steps <= 0:
            raise ConfigError(f"Linear schedule needs steps > 0, got {steps}")
        self.start, self.end, self.steps = float(start), float(end), int(steps)

    def __call__(self, step: int) -> float:
        frac = min(max(step, 0) / self.steps, 1.0)
        return self.start + (self.end - self.start) * frac

    def __repr__(self) -> str:
        return f"Linear({self.start}, {self.end}, steps={self.steps})"


RateLike = float | Schedule


class Strategy:
    """Base class for corruption strategies. Subclasses implement :meth:`__call__`.

    ``requires`` names the optional batch keys the strategy reads (``word_start``, ``sentence_ids``,
    ``document_ids``); the Collator computes or converts only those.
    """

    requires: tuple[str, ...] = ()

    def validate(self, info: TokenizerInfo) -> None:
        """Raise a clear error now if the tokenizer lacks something this strategy needs."""

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"
