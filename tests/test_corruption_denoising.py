"""BART noising: text infilling, token deletion/insertion, document rotation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from blocks_helpers import KINDS, WORDS_WITH_LONG, make_docs, pack_blocks, train_tokenizers

from textssl import Collator, TokenizerInfo
from textssl.corruption.base import Linear, Strategy
from textssl.corruption.denoising import (
    DocumentRotation,
    TextInfilling,
    TokenDeletion,
    TokenInsertion,
    poisson_cdf,
    poisson_span_lengths,
)
from textssl.tokenization import TokenizerError


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """Overrides conftest's: trained on documents that also use a few long, multi-piece words."""
    return train_tokenizers(tmp_path_factory.mktemp("tok_denoising"), words=WORDS_WITH_LONG)


@pytest.fixture(scope="module", params=KINDS)
def tok_info(request, tokenizers):
    tok = tokenizers[request.param]
    return tok, TokenizerInfo.from_tokenizer(tok)


@pytest.fixture(scope="module")
def wordpiece(tokenizers):
    return tokenizers["wordpiece"], TokenizerInfo.from_tokenizer(tokenizers["wordpiece"])


def blocks(tok, seed: int = 0, n_docs: int = 30, block_len: int = 48) -> list[dict]:
    feats = pack_blocks(tok, make_docs(seed, n_docs, words=WORDS_WITH_LONG), block_len)
    feats[-1] = {k: v[: max(3, len(v) // 2)] for k, v in feats[-1].items()}  # a shorter, padded row
    return feats


def real_rows(out: dict) -> list[list[int]]:
    return [[int(x) for x, m in zip(r, a) if m] for r, a in zip(out["input_ids"], out["attention_mask"])]


def is_subsequence(short: list[int], long: list[int]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def glob_match(pattern: list[int], text: list[int], wildcard: int) -> bool:
    """Does ``text`` arise from ``pattern`` by replacing each wildcard with a (possibly empty) run?"""
    n, m = len(pattern), len(text)
    ok = [[False] * (m + 1) for _ in range(n + 1)]
    ok[0][0] = True
    for i in range(1, n + 1):
        star = pattern[i - 1] == wildcard
        for j in range(m + 1):
            if star:
                ok[i][j] = ok[i - 1][j] or (j > 0 and ok[i][j - 1])
            else:
                ok[i][j] = j > 0 and ok[i - 1][j - 1] and pattern[i - 1] == text[j - 1]
    return ok[n][m]


def check_original_labels(out: dict, feats: list[dict]) -> None:
    labels = out["labels"]
    for f, row in zip(feats, labels):
        n = len(f["input_ids"])
        assert row[:n].tolist() == list(f["input_ids"])
        assert bool((row[n:] == -100).all())


def check_layout(out: dict, info: TokenizerInfo) -> None:
    ids, attn = out["input_ids"], out["attention_mask"]
    assert ids.shape == attn.shape and ids.is_contiguous()
    lengths = attn.sum(1)
    assert torch.equal(attn.bool(), torch.arange(ids.shape[1]) < lengths[:, None])  # right padding
    assert bool((ids[attn == 0] == info.pad_id).all())
    assert torch.equal(out["special_mask"], info.special[ids] | (attn == 0))


# --------------------------------------------------------------------------- text infilling


@pytest.mark.parametrize("seed", [0, 1])
def test_infilling_masks_stand_for_contiguous_gaps(tok_info, seed):
    tok, info = tok_info
    feats = blocks(tok, seed)
    out = Collator(tok, TextInfilling(0.3, 3.0), seed=seed, keep_keys=("special_mask",))(feats)
    check_layout(out, info)
    check_original_labels(out, feats)
    n_masks = 0
    for f, row in zip(feats, real_rows(out)):
        orig = list(f["input_ids"])
        assert glob_match(row, orig, info.mask_id), (row, orig)
        # special tokens are never inside a span: the specials (masks aside) come through in order
        assert [t for t in row if info.special[t] and t != info.mask_id] == [
            t for t in orig if info.special[t]
        ]
        n_masks += row.count(info.mask_id)
    assert n_masks > len(feats)


def test_infilling_rate_and_poisson_lengths(wordpiece):
    tok, info = wordpiece
    feats = blocks(tok, 3, n_docs=200, block_len=128)[:-1]
    strategy = TextInfilling(0.3, 3.0)
    out = Collator(tok, strategy, seed=1)(feats)
    text_before = sum(sum(not info.special[t] for t in f["input_ids"]) for f in feats)
    text_after = sum(sum(not info.special[t] for t in row) for row in real_rows(out))
    removed = (text_before - text_after) / text_before
    # each span's tokens go (its mask replaces them); spans may overlap, as in fairseq, so a bit under 30%
    assert 0.2 < removed <= 0.3 + 1e-9


def test_poisson_span_lengths_follow_fairseq_budget_rule():
    g = torch.Generator().manual_seed(0)
    budget = np.array([0, 1, 7, 500, 3000])
    lengths, valid = poisson_span_lengths(budget, poisson_cdf(3.0), g)
    assert ((lengths * valid).sum(1) == budget).all()  # exactly the budget, last span trimmed
    assert valid[0].sum() == 0
    # all but each row's last (trimmed) span are Poisson(3) draws
    last = np.cumsum(valid, 1) == valid.sum(1, keepdims=True)
    draws = lengths[valid & ~last].astype(np.float64)
    assert abs(draws.mean() - 3.0) < 0.15
    assert abs(draws.var() - 3.0) < 0.4
    assert abs((draws == 0).mean() - math.exp(-3.0)) < 0.02


def test_zero_length_spans_insert_masks(wordpiece):
    tok, info = wordpiece
    feats = blocks(tok, 4)[:-1]
    # lambda tiny: nearly all spans have length 0 -> masks are inserted, nothing is removed
    out = Collator(tok, TextInfilling(0.2, 0.01), seed=0)(feats)
    for f, row in zip(feats, real_rows(out)):
        kept = [t for t in row if t != info.mask_id]
        assert kept == list(f["input_ids"]) or glob_match(row, list(f["input_ids"]), info.mask_id)
    assert sum(len(r) for r in real_rows(out)) > sum(len(f["input_ids"]) for f in feats)


def test_whole_word_spans_end_at_word_boundaries(wordpiece):
    tok, info = wordpiece
    feats = blocks(tok, 5, n_docs=60)
    out = Collator(tok, TextInfilling(0.4, 2.0, whole_word=True), seed=0)(feats)
    followers = []
    for f, row in zip(feats, real_rows(out)):
        assert glob_match(row, list(f["input_ids"]), info.mask_id)
        followers += [row[i + 1] for i in range(len(row) - 1) if row[i] == info.mask_id]
    assert followers
    # the token after a mask starts a word (or is a special token): spans swallow whole words
    assert all(bool(info.word_start[t]) or bool(info.special[t]) for t in followers)


def test_infilling_random_ratio_replaces_masks_with_tokens(wordpiece):
    tok, info = wordpiece
    feats = blocks(tok, 6)
    out = Collator(tok, TextInfilling(0.3, 3.0, random_ratio=1.0), seed=0)(feats)
    assert not bool((out["input_ids"] == info.mask_id).any())
    assert out["input_ids"].shape[1] < max(len(f["input_ids"]) for f in feats)


def test_existing_labels_are_kept(wordpiece):
    tok, info = wordpiece
    collator = Collator(tok, TextInfilling())
    batch = collator.build_batch(blocks(tok, 7))
    batch["labels"] = torch.full_like(batch["input_ids"], 5)
    for strategy in (TextInfilling(), TokenDeletion(), TokenInsertion(), DocumentRotation()):
        out = strategy(dict(batch), info, torch.Generator().manual_seed(0))
        assert out["labels"] is batch["labels"]


def test_rate_schedule(wordpiece):
    tok, info = wordpiece
    feats = blocks(tok, 8)[:-1]
    strategy = TokenDeletion(Linear(0.0, 0.5, steps=10))
    batch = Collator(tok, strategy).build_batch(feats)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(strategy(batch, info, g, step=0)["input_ids"], batch["input_ids"])
    assert strategy(batch, info, g, step=10)["attention_mask"].sum() < batch["attention_mask"].sum()


# --------------------------------------------------------------------------- deletion / insertion / rotation


def test_deletion_keeps_a_subsequence(tok_info):
    tok, info = tok_info
    feats = blocks(tok, 9)
    out = Collator(tok, TokenDeletion(0.3), seed=0, keep_keys=("special_mask",))(feats)
    check_layout(out, info)
    check_original_labels(out, feats)
    for f, row in zip(feats, real_rows(out)):
        orig = list(f["input_ids"])
        assert is_subsequence(row, orig)
        n_text = sum(not info.special[t] for t in orig)
        assert len(orig) - len(row) == math.ceil(0.3 * n_text)  # fairseq: ceil(rate * n) tokens
        assert [t for t in row if info.special[t]] == [t for t in orig if info.special[t]]


@pytest.mark.parametrize("random_ratio", [1.0, 0.0, 0.5])
def test_insertion_keeps_the_original_as_a_subsequence(tok_info, random_ratio):
    tok, info = tok_info
    feats = blocks(tok, 10)
    out = Collator(tok, TokenInsertion(0.2, random_ratio=random_ratio), seed=0, keep_keys=("special_mask",))(
        feats
    )
    check_layout(out, info)
    check_original_labels(out, feats)
    n_masks = n_new = 0
    for f, row in zip(feats, real_rows(out)):
        orig = list(f["input_ids"])
        assert is_subsequence(orig, row)
        assert len(row) - len(orig) == math.ceil(0.2 * len(orig))
        assert row[0] == orig[0] and row[-1] == orig[-1]  # never before the first or after the last token
        n_masks += row.count(info.mask_id)
        n_new += len(row) - len(orig)
    if random_ratio == 1.0:
        assert n_masks == 0
    elif random_ratio == 0.0:
        assert n_masks == n_new
    else:
        assert 0.3 * n_new < n_masks < 0.7 * n_new


def test_rotation_is_a_rotation_of_the_text(tok_info):
    tok, info = tok_info
    feats = blocks(tok, 11)
    out = Collator(tok, DocumentRotation(), seed=0, keep_keys=("special_mask",))(feats)
    check_layout(out, info)
    check_original_labels(out, feats)
    shifts = []
    for f, row in zip(feats, real_rows(out)):
        orig = list(f["input_ids"])
        text = [i for i, t in enumerate(orig) if not info.special[t]]
        lo, hi = text[0], text[-1] + 1
        assert row[:lo] == orig[:lo] and row[hi:] == orig[hi:]  # leading/trailing specials stay
        inner, rotated = orig[lo:hi], row[lo:hi]
        matches = [s for s in range(len(inner)) if inner[s:] + inner[:s] == rotated]
        assert matches
        shifts.append(matches[0])
    assert any(s > 0 for s in shifts)
    same = Collator(tok, DocumentRotation(prob=0.0), seed=0)(feats)
    assert real_rows(same) == [list(f["input_ids"]) for f in feats]


def test_sentence_and_document_ids_follow_the_tokens(wordpiece):
    tok, info = wordpiece

    class NeedsIds(Strategy):
        requires = ("sentence_ids", "document_ids")

    batch = Collator(tok, NeedsIds()).build_batch(blocks(tok, 12))
    for strategy in (TextInfilling(), TokenDeletion(0.3), TokenInsertion(0.3), DocumentRotation()):
        out = strategy(dict(batch), info, torch.Generator().manual_seed(0))
        sid, did, attn = out["sentence_ids"], out["document_ids"], out["attention_mask"].bool()
        assert sid.shape == out["input_ids"].shape == did.shape
        assert bool((sid[info.special[out["input_ids"]] | ~attn] == -1).all())
        assert bool((did[attn] >= 0).all()) and bool((did[~attn] == -1).all())


def test_seeded_determinism(wordpiece):
    tok, _ = wordpiece
    feats = blocks(tok, 13)
    for strategy in (TextInfilling(), TokenDeletion(), TokenInsertion(), DocumentRotation()):
        a = Collator(tok, strategy, seed=3)(feats)
        b = Collator(tok, strategy, seed=3)(feats)
        c = Collator(tok, strategy, seed=4)(feats)
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not torch.equal(a["input_ids"], c["input_ids"])


def test_bart_model_accepts_the_batch(tokenizers):
    from transformers import BartConfig, BartForConditionalGeneration

    tok = tokenizers["bpe"]
    info = TokenizerInfo.from_tokenizer(tok)
    out = Collator(tok, TextInfilling(), seed=0)(blocks(tok, 14)[:4])
    cfg = BartConfig(
        vocab_size=len(tok),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=info.pad_id,
        bos_token_id=info.bos_id,
        eos_token_id=info.eos_id,
        decoder_start_token_id=info.eos_id,
    )
    torch.manual_seed(0)
    loss = BartForConditionalGeneration(cfg)(**out).loss
    assert torch.isfinite(loss)


# --------------------------------------------------------------------------- errors


def test_missing_mask_token_is_a_clear_error(wordpiece):
    _, info = wordpiece
    no_mask = dataclasses.replace(info, mask_id=None)
    with pytest.raises(TokenizerError, match="TextInfilling needs a mask token"):
        Collator(no_mask, TextInfilling())
    with pytest.raises(TokenizerError, match="mask token"):
        Collator(no_mask, TokenInsertion(random_ratio=0.5))
    Collator(no_mask, TokenInsertion())  # random tokens only: no mask needed
    Collator(no_mask, TokenDeletion())


@pytest.mark.parametrize(
    "make",
    [
        lambda: TextInfilling(rate=1.2),
        lambda: TextInfilling(rate=-0.1),
        lambda: TextInfilling(poisson_lambda=0),
        lambda: TextInfilling(poisson_lambda=-2.0),
        lambda: TextInfilling(random_ratio=1.5),
        lambda: TokenDeletion(rate=2.0),
        lambda: TokenInsertion(rate=-1),
        lambda: TokenInsertion(random_ratio=-0.5),
        lambda: DocumentRotation(prob=1.1),
        lambda: TokenDeletion(rate=Linear(0.1, 1.5, steps=10)),
    ],
)
def test_bad_arguments(make):
    with pytest.raises(ValueError):
        make()
