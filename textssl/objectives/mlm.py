"""Masked language modelling (BERT, Devlin et al. 2019; RoBERTa, Liu et al. 2019; ModernBERT, 2024).

The loss uses sparse prediction: the LM head runs only on masked positions (Geiping & Goldstein 2023,
"Cramming"; Izsak et al. 2021, "How to Train BERT with an Academic Budget").
"""

from __future__ import annotations

import torch
from torch import nn

from textssl.corruption import SpanMasking, Strategy, TokenMasking, WholeWordMasking
from textssl.errors import ConfigError
from textssl.objectives.base import Metrics, Objective, encoder_inputs, mlm_head, sparse_mlm

MASKING = (TokenMasking, WholeWordMasking, SpanMasking)


class MaskedLM(Objective):
    name = "mlm"
    architectures = ("bert", "roberta", "modernbert")

    def default_strategy(self) -> Strategy:
        return TokenMasking(rate=0.15)

    def check_strategy(self, strategy: Strategy) -> None:
        if not isinstance(strategy, MASKING):
            raise ConfigError(
                f"objective 'mlm' needs a masking strategy (token_masking, whole_word_masking, span_masking), "
                f"got {type(strategy).__name__}"
            )

    def build_model(self, config) -> nn.Module:
        from transformers import AutoModelForMaskedLM

        return AutoModelForMaskedLM.from_config(config)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        hidden = model.base_model(**encoder_inputs(batch)).last_hidden_state
        loss, _, metrics = sparse_mlm(hidden, batch["labels"], mlm_head(model))
        return loss, metrics
