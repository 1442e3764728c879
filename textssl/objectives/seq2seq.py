"""Sequence-to-sequence denoising: BART (Lewis et al. 2020, text infilling + sentence permutation) and
T5 (Raffel et al. 2020, span corruption with sentinels)."""

from __future__ import annotations

import torch
from torch import nn

from textssl.corruption import Compose, SentencePermutation, Strategy, T5SpanCorruption, TextInfilling
from textssl.corruption.base import IGNORE_INDEX
from textssl.errors import ConfigError
from textssl.objectives.base import Metrics, Objective


class Seq2SeqDenoising(Objective):
    name = "seq2seq"
    architectures = ("bart", "t5")

    def default_strategy(self) -> Strategy:
        if self.arch == "t5":
            return T5SpanCorruption()
        return Compose([SentencePermutation(ratio=1.0), TextInfilling(rate=0.3, poisson_lambda=3.0)])

    def check_strategy(self, strategy: Strategy) -> None:
        from textssl.corruption import CausalLM, NextSentence, SentenceOrder

        members = getattr(strategy, "strategies", [strategy])
        bad = [type(s).__name__ for s in members if isinstance(s, (CausalLM, SentenceOrder, NextSentence))]
        if bad:
            raise ConfigError(f"objective 'seq2seq' cannot use {', '.join(bad)}; use a denoising strategy")

    def build_model(self, config) -> nn.Module:
        import transformers
        from transformers import AutoModelForSeq2SeqLM

        from textssl.models import t5_scales_tied_logits

        model = AutoModelForSeq2SeqLM.from_config(config)
        if config.model_type == "t5":
            tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
            if not (tied and t5_scales_tied_logits(model.config)):
                raise RuntimeError(
                    "this transformers version built a T5 without tied, scaled output embeddings "
                    f"(transformers {transformers.__version__}); textssl supports >=4.44"
                )
        return model

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        labels = batch["labels"]
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels)
        with torch.no_grad():
            valid = labels != IGNORE_INDEX
            correct = ((out.logits.argmax(-1) == labels) & valid).sum()
        return out.loss, {"token_correct": correct, "token_count": valid.sum()}
