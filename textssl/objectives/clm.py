"""Causal (next-token) language modelling: GPT-2 (Radford et al. 2019) or Llama-style decoders."""

from __future__ import annotations

import math

import torch
from torch import nn

from textssl.corruption import CausalLM, Strategy
from textssl.corruption.base import IGNORE_INDEX
from textssl.errors import ConfigError
from textssl.objectives.base import Metrics, Objective


class CausalLMObjective(Objective):
    name = "clm"
    architectures = ("gpt2", "llama")

    def default_strategy(self) -> Strategy:
        return CausalLM()

    def check_strategy(self, strategy: Strategy) -> None:
        if not isinstance(strategy, CausalLM):
            raise ConfigError(f"objective 'clm' needs the causal_lm strategy, got {type(strategy).__name__}")

    def build_model(self, config) -> nn.Module:
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_config(config)

    def tokenizer_to_save(self, tokenizer):
        """Prompts encode without an end-of-document token, so ``generate()`` continues them."""
        from textssl.tokenization import causal_lm_tokenizer

        return causal_lm_tokenizer(tokenizer)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        out = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        )
        count = (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
        return out.loss, {"clm_loss_sum": out.loss.detach().float() * count, "clm_count": count}

    @staticmethod
    def summarize(totals: dict[str, float]) -> dict[str, float]:
        count = totals.get("clm_count", 0.0)
        if not count:
            return {}
        mean = totals["clm_loss_sum"] / count
        return {"clm_loss": mean, "perplexity": math.exp(min(mean, 50.0))}
