"""Corruption strategies: each turns a batch of token blocks into model inputs and targets.

Every strategy is one small class (see :mod:`textssl.corruption.base` for the contract); the kernels they share
are in :mod:`textssl.corruption.ops`. A strategy written as plain data (a name, ``a+b``, or a mapping with
arguments, schedules and ``compose``) is built by :func:`strategy_from_spec` and written back by
:func:`spec_of` (:mod:`textssl.corruption.spec`); ``build_strategy(name, **kwargs)`` is the keyword form.
"""

from __future__ import annotations

from textssl.corruption.base import Constant, Linear, Schedule, Strategy
from textssl.corruption.causal import CausalLM
from textssl.corruption.compose import Compose
from textssl.corruption.denoising import DocumentRotation, TextInfilling, TokenDeletion, TokenInsertion
from textssl.corruption.masking import SpanMasking, TokenMasking, WholeWordMasking
from textssl.corruption.replacement import WordReplacement
from textssl.corruption.sentences import NextSentence, SentenceOrder, SentencePermutation
from textssl.corruption.spec import STRATEGIES, build_strategy, spec_line, spec_of, strategy_from_spec
from textssl.corruption.t5 import T5SpanCorruption, compute_input_and_target_lengths

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
    "spec_line",
    "spec_of",
    "strategy_from_spec",
]
