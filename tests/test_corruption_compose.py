"""Compose (``textssl.corruption.compose``): chains, per-row probabilities, mixed keys."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from shipped_helpers import make_features, run, tok_info

from textssl.collator import Collator
from textssl.corruption.causal import CausalLM
from textssl.corruption.compose import Compose
from textssl.corruption.masking import TokenMasking, WholeWordMasking
from textssl.corruption.replacement import WordReplacement
from textssl.tokenization import TokenizerError


def test_compose_requires_and_validate():
    c = Compose([CausalLM(), WholeWordMasking(), CausalLM(respect_documents=True), WordReplacement()])
    assert c.requires == ("word_start", "document_ids")
    _, info = tok_info("wordpiece")
    with pytest.raises(TokenizerError, match="mask"):
        Collator(dataclasses.replace(info, mask_id=None), Compose([WordReplacement(), TokenMasking()]))


def test_compose_bad_arguments():
    with pytest.raises(ValueError, match="at least one"):
        Compose([])
    with pytest.raises(ValueError, match="probs"):
        Compose([TokenMasking(), CausalLM()], probs=[0.5])
    with pytest.raises(ValueError, match="probs"):
        Compose([TokenMasking()], probs=[1.5])
    with pytest.raises(ValueError, match="strateg"):
        Compose(["token_masking"])


def test_compose_chain_feeds_outputs_forward():
    """Masks placed by the first member are special for the second, so they are never replaced."""
    _, info = tok_info("wordpiece")
    c = Compose([TokenMasking(rate=0.3, mask_prob=1.0, random_prob=0.0), WordReplacement(rate=0.5)])
    batch, out, _ = run("wordpiece", c, ragged=True)
    masked = out["original_ids"] == info.mask_id  # masks from step 1 are step 2's originals
    assert bool(masked.any())
    assert bool((out["input_ids"][masked] == info.mask_id).all())
    assert not bool(out["replaced"][masked].any())
    assert bool((out["labels"][masked] == -100).all())


def test_compose_per_row_probability():
    _, info = tok_info("wordpiece")
    c = Compose([TokenMasking(rate=0.5)], probs=[0.5])
    batch, out, _ = run("wordpiece", c, rows=200, length=32)
    touched = (out["labels"] != -100).any(1)
    assert 0.35 < float(touched.float().mean()) < 0.65
    same = (out["input_ids"] == batch["input_ids"]).all(1)
    assert bool(same[~touched].all())  # untouched rows keep their inputs
    assert bool((out["labels"][~touched] == -100).all())


def test_compose_probability_one_equals_the_member():
    feats = make_features("bpe", rows=8)
    _, a, _ = run("bpe", Compose([WholeWordMasking()]), feats=feats, seed=4)
    _, b, _ = run("bpe", WholeWordMasking(), feats=feats, seed=4)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])


def test_compose_mixes_new_keys_with_neutral_values():
    c = Compose([WordReplacement(rate=0.5)], probs=[0.5])
    batch, out, _ = run("unigram", c, rows=64, length=48, seed=1)
    touched = out["replaced"].any(1)
    assert bool(touched.any()) and bool((~touched).any())
    assert torch.equal(out["original_ids"], batch["input_ids"])  # skipped rows: original_ids = inputs
    assert bool((out["labels"][~touched] == -100).all())


def test_compose_length_changing_member_per_row():
    from textssl.corruption.t5 import T5SpanCorruption

    c = Compose([T5SpanCorruption()], probs=[0.5])
    batch, out, info = run("unigram", c, rows=32, length=64, seed=0)
    chosen = (out["labels"] != -100).any(1)
    assert bool(chosen.any()) and bool((~chosen).any())
    width = out["input_ids"].shape[1]
    assert width == batch["input_ids"].shape[1]  # skipped rows keep their full, uncorrupted length
    assert torch.equal(out["input_ids"][~chosen], batch["input_ids"][~chosen])
    assert bool((out["attention_mask"][chosen].sum(1) < 64).all())  # corrupted rows got shorter
    assert out["attention_mask"].shape == out["input_ids"].shape


def test_compose_bart_chain_keeps_first_target():
    from textssl.corruption.denoising import TextInfilling
    from textssl.corruption.sentences import SentencePermutation

    tok, info = tok_info("bpe")
    text = "The river was wide. The mountain was tall. The village was small. The station was busy."
    enc = tok(text)
    starts = np.cumsum([t == tok.convert_tokens_to_ids(".") for t in enc["input_ids"]])
    sent = np.concatenate([[0], starts[:-1]])
    special = info.special[torch.tensor(enc["input_ids"])].numpy()
    feats = [
        {
            "input_ids": enc["input_ids"],
            "document_ids": [0] * len(enc["input_ids"]),
            "sentence_ids": np.where(special, -1, sent).tolist(),
        }
    ] * 4
    c = Compose([SentencePermutation(), TextInfilling(rate=0.3)])
    batch, out, _ = run("bpe", c, feats=feats, seed=0)
    labels = out["labels"]
    for r in range(4):
        target = labels[r][labels[r] != -100]
        assert target.tolist() == enc["input_ids"]  # the original text survives as the target
