"""MLM plus a sentence-level task: sentence order prediction (ALBERT, Lan et al. 2020) or next sentence
prediction (BERT, Devlin et al. 2019), trained with the stock ``BertForPreTraining`` heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from textssl.corruption import Compose, NextSentence, SentenceOrder, Strategy, TokenMasking
from textssl.corruption.base import IGNORE_INDEX
from textssl.errors import ConfigError
from textssl.objectives.base import Metrics, Objective, encoder_inputs, mlm_head, sparse_mlm


class SentenceObjective(Objective):
    architectures = ("bert",)
    label_key = ""
    alt_label_key = ""  # also accepted (SentenceOrder(label_key="sentence_order_label"), ALBERT's name)
    pair_strategy: type[Strategy] = SentenceOrder

    def default_strategy(self) -> Strategy:
        return Compose([self.pair_strategy(), TokenMasking(rate=0.15)])

    def check_strategy(self, strategy: Strategy) -> None:
        members = getattr(strategy, "strategies", [strategy])
        if not any(isinstance(s, self.pair_strategy) for s in members):
            raise ConfigError(
                f"objective {self.name!r} needs a Compose that includes {self.pair_strategy.__name__} "
                "followed by a masking strategy"
            )

    def build_model(self, config) -> nn.Module:
        from transformers import BertForPreTraining

        return BertForPreTraining(config)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        out = model.bert(**encoder_inputs(batch))
        mlm_loss, _, metrics = sparse_mlm(out.last_hidden_state, batch["labels"], mlm_head(model))
        seq_logits = model.cls.seq_relationship(out.pooler_output)
        target = batch[self.label_key] if self.label_key in batch else batch[self.alt_label_key]
        valid = target != IGNORE_INDEX
        if valid.any():
            seq_loss = F.cross_entropy(seq_logits.float(), target, ignore_index=IGNORE_INDEX)
        else:
            seq_loss = seq_logits.sum() * 0.0
        with torch.no_grad():
            correct = ((seq_logits.argmax(-1) == target) & valid).sum()
        metrics.update({f"{self.name}_correct": correct, f"{self.name}_count": valid.sum()})
        return mlm_loss + seq_loss, metrics


class SentenceOrderObjective(SentenceObjective):
    name = "sop"
    # BertForPreTraining.forward takes the sentence-level label as next_sentence_label, so SentenceOrder emits
    # that key by default: the saved model then returns a loss for the same batch under transformers.Trainer.
    label_key = "next_sentence_label"
    alt_label_key = "sentence_order_label"
    pair_strategy = SentenceOrder


class NextSentenceObjective(SentenceObjective):
    name = "nsp"
    label_key = "next_sentence_label"
    alt_label_key = "next_sentence_label"
    pair_strategy = NextSentence
