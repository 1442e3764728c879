"""ELECTRA replaced-token detection (Clark et al. 2020).

A small generator (an MLM) fills the masked positions with samples; the discriminator learns to tell which
tokens were replaced, on every position, which makes the objective sample-efficient. As in the paper, the
generator is a fraction of the discriminator's width, the token embeddings are shared, and the loss is
``mlm_loss + disc_weight * rtd_loss`` with ``disc_weight = 50``. The discriminator is saved as a stock
``ElectraForPreTraining`` (the generator goes to ``generator/``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from textssl.corruption import Strategy, TokenMasking
from textssl.corruption.base import IGNORE_INDEX
from textssl.errors import ConfigError
from textssl.objectives.base import Metrics, Objective, encoder_inputs, mlm_head, sparse_mlm


class ElectraPair(nn.Module):
    """Generator and discriminator trained together, sharing the embedding module."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        # Share all input embeddings (word, position, type, LayerNorm); tie the generator's output layer.
        generator.electra.embeddings = discriminator.electra.embeddings
        generator.generator_lm_head.weight = discriminator.electra.embeddings.word_embeddings.weight

    @property
    def config(self):
        """The discriminator's config: it is the model that gets saved and finetuned."""
        return self.discriminator.config


class ReplacedTokenDetection(Objective):
    name = "electra"
    architectures = ("electra",)

    def __init__(self, arch: str, generator_fraction: float = 0.25, disc_weight: float = 50.0) -> None:
        super().__init__(arch)
        if not 0 < generator_fraction <= 1:
            raise ConfigError(f"generator_fraction must be in (0, 1], got {generator_fraction}")
        self.generator_fraction = generator_fraction
        self.disc_weight = disc_weight

    def default_strategy(self) -> Strategy:
        # ELECTRA masks 15% and always uses the mask token (the generator provides the replacements).
        return TokenMasking(rate=0.15, mask_prob=1.0, random_prob=0.0)

    def check_strategy(self, strategy: Strategy) -> None:
        from textssl.objectives.mlm import MASKING

        if not isinstance(strategy, MASKING):
            raise ConfigError(
                f"objective 'electra' needs a masking strategy for its generator, got {type(strategy).__name__}"
            )

    def build_model(self, config) -> nn.Module:
        from transformers import ElectraForMaskedLM, ElectraForPreTraining

        gen_config = copy.deepcopy(config)
        hidden = max(64, int(config.hidden_size * self.generator_fraction) // 64 * 64)
        gen_config.hidden_size = hidden
        gen_config.num_attention_heads = max(1, hidden // 64)
        gen_config.intermediate_size = 4 * hidden
        gen_config.embedding_size = config.embedding_size
        return ElectraPair(ElectraForMaskedLM(gen_config), ElectraForPreTraining(config))

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        pair = model
        labels = batch["labels"]
        inputs = encoder_inputs(batch)
        hidden = pair.generator.electra(**inputs).last_hidden_state
        gen_loss, logits, metrics = sparse_mlm(hidden, labels, mlm_head(pair.generator))
        selected = labels != IGNORE_INDEX
        with torch.no_grad():  # Gumbel-max sampling from the generator, from the (checkpointed) torch RNG
            noise = -torch.log(-torch.log(torch.rand_like(logits, dtype=torch.float32).clamp_(1e-9, 1.0)))
            sampled = (logits.float() + noise).argmax(-1)
            original = torch.where(selected, labels, batch["input_ids"])
            disc_ids = batch["input_ids"].clone()
            disc_ids[selected] = sampled
            replaced = (disc_ids != original).float()
        disc_logits = pair.discriminator(**{**inputs, "input_ids": disc_ids}).logits
        active = batch["attention_mask"].bool()
        disc_loss = F.binary_cross_entropy_with_logits(disc_logits[active].float(), replaced[active])
        with torch.no_grad():
            correct = ((disc_logits[active] > 0).float() == replaced[active]).sum()
        metrics.update(
            rtd_correct=correct,
            rtd_count=active.sum(),
            replaced_count=replaced[active].sum(),
        )
        return gen_loss + self.disc_weight * disc_loss, metrics

    def model_to_save(self, model: nn.Module) -> nn.Module:
        return model.discriminator

    def save_extra(self, model: nn.Module, directory: str, tokenizer=None) -> None:
        """Write ``generator/`` as a complete model directory: weights, config, tokenizer and model card, so
        ``AutoModelForMaskedLM`` / ``AutoTokenizer`` (and a fill-mask pipeline) work on it alone."""
        from textssl.hub import write_model_card
        from textssl.tokenization import save_tokenizer

        target = Path(directory) / "generator"
        model.generator.save_pretrained(str(target), safe_serialization=True)
        if tokenizer is not None:
            save_tokenizer(tokenizer, target)
        write_model_card(
            target,
            objective="mlm",
            model_name="electra-generator",
            details={
                "role": "the masked-LM generator trained with the ELECTRA discriminator in the parent directory",
            },
        )
