"""What every objective shares: the interface, the sparse MLM head, and small metric helpers."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from textssl.corruption.base import IGNORE_INDEX, Strategy
from textssl.errors import ConfigError

Metrics = dict[str, torch.Tensor]
ENCODER_KEYS = ("input_ids", "attention_mask", "token_type_ids")


class Objective:
    """A pretraining objective: which model to build, which corruption feeds it, and its loss.

    ``loss(model, batch)`` returns ``(loss, metrics)`` where metrics are summable tensors (e.g. ``correct``
    and ``count`` pairs) so the training loop can aggregate them across steps and processes.
    """

    name: str = ""
    architectures: tuple[str, ...] = ()
    default_strategy_name: str = ""

    def __init__(self, arch: str) -> None:
        if arch not in self.architectures:
            raise ConfigError(
                f"objective {self.name!r} does not support architecture {arch!r}; "
                f"choose one of: {', '.join(self.architectures)}"
            )
        self.arch = arch

    def default_strategy(self) -> Strategy:
        raise NotImplementedError

    def check_strategy(self, strategy: Strategy) -> None:
        """Raise if ``strategy`` cannot feed this objective (e.g. T5 span corruption into MLM)."""

    def build_model(self, config) -> nn.Module:
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        raise NotImplementedError

    def model_to_save(self, model: nn.Module) -> nn.Module:
        """The stock ``transformers`` model written to checkpoints."""
        return model

    def tokenizer_to_save(self, tokenizer):
        """The tokenizer written next to the model: how a user of the checkpoint should encode text."""
        return tokenizer

    def save_extra(self, model: nn.Module, directory: str, tokenizer=None) -> None:
        """Write anything beyond the main model (ELECTRA's generator); ``tokenizer`` is the one saved with it."""

    @staticmethod
    def summarize(totals: dict[str, float]) -> dict[str, float]:
        """Turn summed metric tensors into reportable numbers (accuracies, perplexity)."""
        out: dict[str, float] = {}
        for key, value in totals.items():
            if key.endswith("_correct"):
                base = key.removesuffix("_correct")
                count = totals.get(f"{base}_count", 0.0)
                if count:
                    out[f"{base}_acc"] = value / count
        return out


class ObjectiveModule(nn.Module):
    """A model and its objective's loss as one module.

    Distributed wrappers (DDP, FSDP, DeepSpeed) synchronise gradients only for computation that runs inside
    the wrapped module's ``forward``; objectives call submodules (e.g. the encoder then a sparse head), so the
    whole loss goes through this ``forward``.
    """

    def __init__(self, objective: Objective, model: nn.Module) -> None:
        super().__init__()
        self.objective = objective
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Metrics]:
        return self.objective.loss(self.model, batch)


def mlm_head(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The prediction head of a stock masked-LM class, as a function of hidden states ``[N, H]``."""
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):  # BertForMaskedLM, BertForPreTraining
        return model.cls.predictions
    if hasattr(model, "lm_head") and hasattr(model, "roberta"):
        return model.lm_head
    if hasattr(model, "generator_lm_head"):  # ElectraForMaskedLM
        return lambda h: model.generator_lm_head(model.generator_predictions(h))
    if hasattr(model, "decoder") and hasattr(model, "head"):  # ModernBertForMaskedLM
        return lambda h: model.decoder(model.head(h))
    raise ConfigError(f"no sparse MLM head known for {type(model).__name__}")


def encoder_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder's inputs; an all-ones attention mask is dropped (packed blocks have no padding), which
    lets SDPA attention skip building and applying a mask."""
    inputs = {k: batch[k] for k in ENCODER_KEYS if k in batch}
    mask = inputs.get("attention_mask")
    if mask is not None and bool(mask.all()):
        del inputs["attention_mask"]
    return inputs


def sparse_mlm(
    hidden: torch.Tensor, labels: torch.Tensor, head: Callable[[torch.Tensor], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, Metrics]:
    """MLM loss with the head run only on the labelled positions (Cramming; 24hBERT).

    At small sizes with a 16k+ vocabulary the full-vocabulary projection dominates compute, and only ~15%
    of positions carry a label, so gathering them first removes most of the head's cost. Returns
    ``(loss, logits_of_selected, metrics)``.
    """
    selected = labels != IGNORE_INDEX
    targets = labels[selected]
    logits = head(hidden[selected])
    if targets.numel() == 0:
        loss = logits.sum() * 0.0 + hidden.sum() * 0.0
    else:
        loss = F.cross_entropy(logits.float(), targets)
    with torch.no_grad():
        correct = (logits.argmax(-1) == targets).sum()
    return loss, logits, {"mlm_correct": correct, "mlm_count": torch.tensor(targets.numel())}
