"""The strategy contract and the vectorized building blocks strategies share.

A strategy is a callable ``strategy(batch, info, generator, step) -> batch``. ``batch`` is a dict of tensors
made by :class:`textssl.Collator`:

* ``input_ids`` (long ``[B, L]``), ``attention_mask`` (long ``[B, L]``),
* ``special_mask`` (bool ``[B, L]``): special tokens *and* padding, which no strategy may corrupt,
* ``word_start`` (bool ``[B, L]``) when the strategy lists it in ``requires``,
* ``sentence_ids`` / ``document_ids`` (long ``[B, L]``, ``-1`` on padding) when listed in ``requires``. They
  are labels, not sizes: block-local or corpus-wide, any magnitude; nothing may be sized by their maximum
  (renumber per row with :func:`textssl.corruption.denoising.dense_ranks`).

It returns a new dict with the model inputs and targets (``labels`` use ``-100`` for "no loss"). Every random
draw comes from ``generator``; there is no Python loop over batch rows or tokens.
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


def check_prob(value: float, name: str, low: float = 0.0, high: float = 1.0) -> float:
    """Validate a probability-like argument and return it as float."""
    v = _number(value, name)
    if not (low <= v <= high):
        raise ConfigError(f"{name} must be in [{low}, {high}], got {v}")
    return v


def _number(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


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


# --------------------------------------------------------------------------- shared vectorized helpers


def uniform(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Uniform [0, 1) floats from ``generator``."""
    return torch.rand(shape, generator=generator)


def random_tokens(
    shape: tuple[int, ...], info: TokenizerInfo, generator: torch.Generator, source: str = "uniform"
) -> torch.Tensor:
    """Random non-special token ids: uniform over the vocabulary, or by corpus unigram frequency."""
    if source == "unigram":
        if info.unigram_probs is None:
            raise ConfigError(
                "source='unigram' needs corpus unigram frequencies: call info.set_unigram_counts(counts) "
                "(textssl.data.unigram_counts computes them) or use source='uniform'"
            )
        n = 1
        for s in shape:
            n *= s
        if n == 0:
            return torch.empty(shape, dtype=torch.long)
        return torch.multinomial(info.unigram_probs, n, replacement=True, generator=generator).view(shape)
    idx = torch.randint(len(info.replace_ids), shape, generator=generator)
    return info.replace_ids[idx]


def segment_starts(ids: torch.Tensor) -> torch.Tensor:
    """True where a new run of equal values begins along each row (position 0 always starts one)."""
    starts = torch.ones_like(ids, dtype=torch.bool)
    starts[:, 1:] = ids[:, 1:] != ids[:, :-1]
    return starts
