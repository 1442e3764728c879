"""Learning-rate schedules as a pure function of training progress in [0, 1].

Progress is ``step / max_steps``, or in time-budget mode ``elapsed / budget`` (Cramming, Geiping & Goldstein
2023; 24hBERT, Izsak et al. 2021), whichever is further along, so one function serves both modes.
"""

from __future__ import annotations

import math

from textssl.errors import ConfigError


def lr_factor(kind: str, progress: float, warmup: float = 0.06, decay: float = 0.2) -> float:
    """Multiplier of the peak learning rate at ``progress``.

    * ``linear``: linear warmup over ``warmup``, then linear decay to 0 (BERT).
    * ``cosine``: linear warmup, then cosine decay to 0.
    * ``wsd``: warmup-stable-decay (Hu et al. 2024, MiniCPM): warmup, constant, then linear decay to 0 over
      the last ``decay`` fraction.
    * ``constant``: warmup, then constant.
    """
    p = min(max(progress, 0.0), 1.0)
    if warmup > 0 and p < warmup:
        return p / warmup
    if kind == "constant":
        return 1.0
    rest = (p - warmup) / max(1.0 - warmup, 1e-12)
    if kind == "linear":
        return max(0.0, 1.0 - rest)
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * rest))
    if kind == "wsd":
        start = 1.0 - decay
        return 1.0 if p < start else max(0.0, (1.0 - p) / max(decay, 1e-12))
    raise ConfigError(f"unknown schedule {kind!r}; choose one of: linear, cosine, wsd, constant")
