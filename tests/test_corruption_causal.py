"""CausalLM (``textssl.corruption.causal``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shipped_helpers import KINDS, make_features, run

from textssl.corruption.causal import CausalLM


@pytest.mark.parametrize("kind", KINDS)
def test_causal_lm_labels(kind):
    batch, out, _ = run(kind, CausalLM(), ragged=True)
    attn = batch["attention_mask"].bool()
    assert torch.equal(out["input_ids"], batch["input_ids"])
    assert torch.equal(out["labels"][attn], batch["input_ids"][attn])
    assert bool((out["labels"][~attn] == -100).all())
    assert CausalLM().requires == ()


@pytest.mark.parametrize("kind", KINDS)
def test_causal_lm_respects_documents(kind):
    strategy = CausalLM(respect_documents=True)
    assert strategy.requires == ("document_ids",)
    feats = make_features(kind, rows=16)
    batch, out, _ = run(kind, strategy, feats=feats)
    docs = torch.tensor(np.stack([f["document_ids"] for f in feats]))
    new_doc = torch.zeros_like(docs, dtype=torch.bool)
    new_doc[:, 1:] = docs[:, 1:] != docs[:, :-1]
    assert bool(new_doc.any())
    assert bool((out["labels"][new_doc] == -100).all())
    assert torch.equal(out["labels"][~new_doc], batch["input_ids"][~new_doc])
    with pytest.raises(KeyError, match="document_ids"):
        run(kind, strategy, feats=[{"input_ids": f["input_ids"]} for f in feats])
