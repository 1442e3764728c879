"""Corruption strategies: each turns a batch of token blocks into model inputs and targets.

Every strategy is one small class (see :mod:`textssl.corruption.base` for the contract). ``build_strategy``
makes one from a name and keyword arguments, as configs and the CLI do.
"""

from __future__ import annotations

from typing import Any

from textssl.corruption.base import Constant, Linear, Schedule, Strategy
from textssl.corruption.causal import CausalLM
from textssl.corruption.compose import Compose
from textssl.corruption.denoising import DocumentRotation, TextInfilling, TokenDeletion, TokenInsertion
from textssl.corruption.masking import SpanMasking, TokenMasking, WholeWordMasking
from textssl.corruption.replacement import WordReplacement
from textssl.corruption.sentences import NextSentence, SentenceOrder, SentencePermutation
from textssl.corruption.t5 import T5SpanCorruption, compute_input_and_target_lengths
from textssl.errors import ConfigError

STRATEGIES: dict[str, type[Strategy]] = {
    "token_masking": TokenMasking,
    "whole_word_masking": WholeWordMasking,
    "span_masking": SpanMasking,
    "t5_span_corruption": T5SpanCorruption,
    "text_infilling": TextInfilling,
    "token_deletion": TokenDeletion,
    "token_insertion": TokenInsertion,
    "word_replacement": WordReplacement,
    "sentence_permutation": SentencePermutation,
    "document_rotation": DocumentRotation,
    "sentence_order": SentenceOrder,
    "next_sentence": NextSentence,
    "causal_lm": CausalLM,
}


def build_strategy(name: str, **kwargs: Any) -> Strategy:
    """Build a strategy from its registry name (e.g. ``"whole_word_masking"``) and keyword arguments."""
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    try:
        return STRATEGIES[name](**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad arguments for strategy {name!r}: {exc}") from None


__all__ = [
    "STRATEGIES",
    "CausalLM",
    "Compose",
    "Constant",
    "DocumentRotation",
    "Linear",
    "NextSentence",
    "Schedule",
    "SentenceOrder",
    "SentencePermutation",
    "SpanMasking",
    "Strategy",
    "T5SpanCorruption",
    "TextInfilling",
    "TokenDeletion",
    "TokenInsertion",
    "TokenMasking",
    "WholeWordMasking",
    "WordReplacement",
    "build_strategy",
    "compute_input_and_target_lengths",
]
