"""Plain next-token language modelling."""

from __future__ import annotations

import torch

from textssl.corruption.base import IGNORE_INDEX, Batch, Strategy
from textssl.corruption.ops import segment_starts
from textssl.errors import MissingKeyError
from textssl.tokenization import TokenizerInfo


class CausalLM(Strategy):
    """Next-token prediction (Radford et al., 2018, "Improving Language Understanding by Generative
    Pre-Training"): no corruption, ``labels`` are the inputs.

    Hugging Face causal models shift labels internally, so ``labels[t]`` is predicted from positions
    ``< t``. Padding gets ``-100``. With ``respect_documents=True`` (needs ``document_ids``, which
    ``textssl.data`` records) the first token of every document that starts inside a packed block also gets
    ``-100``, so no loss is spent predicting a new document from the previous one. Attention still spans the
    whole block (as in GPT-2's packed training); only the cross-document *targets* are dropped. The default
    (``False``) works on ``input_ids`` alone.
    """

    def __init__(self, respect_documents: bool = False) -> None:
        self.respect_documents = bool(respect_documents)

    @property
    def requires(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("document_ids",) if self.respect_documents else ()

    def __call__(self, batch: Batch, info: TokenizerInfo, generator: torch.Generator, step: int = 0) -> Batch:
        ids = batch["input_ids"]
        no_loss = batch["attention_mask"] == 0
        if self.respect_documents:
            if "document_ids" not in batch:
                raise MissingKeyError("CausalLM(respect_documents=True) needs 'document_ids' in the batch")
            new_doc = torch.from_numpy(segment_starts(batch["document_ids"].numpy()))
            new_doc[:, 0] = False  # the block's first token is dropped by the model's shift anyway
            no_loss = no_loss | new_doc
        out = dict(batch)
        out["input_ids"] = ids
        out["labels"] = ids.masked_fill(no_loss, IGNORE_INDEX)
        return out
