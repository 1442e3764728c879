"""``textssl.objectives.base``: the sparse MLM loss equals the dense one."""

from __future__ import annotations

import torch


def test_sparse_mlm_matches_dense_loss():
    from transformers import BertConfig, BertForMaskedLM

    from textssl.objectives.base import mlm_head, sparse_mlm

    torch.manual_seed(0)
    model = BertForMaskedLM(
        BertConfig(
            vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        )
    ).eval()
    ids = torch.randint(5, 50, (3, 12))
    labels = torch.full_like(ids, -100)
    labels[:, ::4] = ids[:, ::4]
    dense = model(input_ids=ids, labels=labels).loss
    hidden = model.bert(input_ids=ids).last_hidden_state
    sparse, logits, metrics = sparse_mlm(hidden, labels, mlm_head(model))
    assert torch.allclose(dense, sparse, atol=1e-5)
    assert logits.shape == (int((labels != -100).sum()), 50)
    assert int(metrics["mlm_count"]) == 9
