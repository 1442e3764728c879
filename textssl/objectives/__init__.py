"""Pretraining objectives: model + head + loss for a corrupted batch. ``build_objective`` picks one by name."""

from __future__ import annotations

from typing import Any

from textssl.errors import ConfigError
from textssl.objectives.base import Objective, sparse_mlm
from textssl.objectives.clm import CausalLMObjective
from textssl.objectives.electra import ReplacedTokenDetection
from textssl.objectives.mlm import MaskedLM
from textssl.objectives.sentence import NextSentenceObjective, SentenceOrderObjective
from textssl.objectives.seq2seq import Seq2SeqDenoising

OBJECTIVES: dict[str, type[Objective]] = {
    "mlm": MaskedLM,
    "clm": CausalLMObjective,
    "electra": ReplacedTokenDetection,
    "sop": SentenceOrderObjective,
    "nsp": NextSentenceObjective,
    "seq2seq": Seq2SeqDenoising,
}


def build_objective(name: str, arch: str, **kwargs: Any) -> Objective:
    """Make the objective ``name`` (one of OBJECTIVES) for architecture ``arch``."""
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name](arch, **kwargs)


__all__ = ["OBJECTIVES", "Objective", "build_objective", "sparse_mlm"]
