"""Sentence permutation (BART), sentence order (ALBERT SOP), next sentence (BERT NSP)."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import pytest
import torch
from blocks_helpers import KINDS, make_docs, pack_blocks, split_blocks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textssl import Collator, TokenizerInfo
from textssl.corruption.sentences import NextSentence, SentenceOrder, SentencePermutation
from textssl.tokenization import TokenizerError


@pytest.fixture(scope="module", params=KINDS)
def tok_info(request, tokenizers):
    tok = tokenizers[request.param]
    return tok, TokenizerInfo.from_tokenizer(tok)


# A synthetic vocabulary with room for a distinct id per token of a batch, so outputs can be traced back.
VOCAB = 20000
PAD, CLS, SEP, MASK = 0, 1, 2, 3


def unique_info(cls: bool = True) -> TokenizerInfo:
    special = torch.zeros(VOCAB, dtype=torch.bool)
    special[:5] = True
    return TokenizerInfo(
        vocab_size=VOCAB,
        pad_id=PAD,
        mask_id=MASK,
        cls_id=CLS if cls else None,
        sep_id=SEP,
        bos_id=CLS if cls else None,
        eos_id=SEP,
        unk_id=4,
        special=special,
        word_start=torch.ones(VOCAB, dtype=torch.bool),
        replace_ids=torch.arange(5, VOCAB),
        sentinel_ids=torch.zeros(0, dtype=torch.long),
        kind="wordpiece",
    )


def unique_blocks(docs: list[list[int]], block_len: int, cls: bool = True) -> list[dict]:
    """Documents given as sentence lengths -> ``[CLS] s0 s1 ... [SEP]`` blocks with distinct text ids."""
    ids, sids, dids = [], [], []
    next_id, s = 10, 0
    for d, lengths in enumerate(docs):
        pre = [CLS] if cls else []
        ids += pre
        sids += [-1] * len(pre)
        dids += [d] * len(pre)
        for n in lengths:
            ids += list(range(next_id, next_id + n))
            next_id += n
            sids += [s] * n
            dids += [d] * n
            s += 1
        ids.append(SEP)
        sids.append(-1)
        dids.append(d)
    return split_blocks(ids, sids, dids, block_len)


def real_rows(out: dict, key: str = "input_ids") -> list[list[int]]:
    return [[int(x) for x, m in zip(r, a) if m] for r, a in zip(out[key], out["attention_mask"])]


def runs(values: list[int]) -> list[tuple[int, int]]:
    """(value, start) of each maximal run of equal values."""
    return [(v, i) for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


# --------------------------------------------------------------------------- sentence permutation


def check_permutation(feat: dict, row: list[int], new_sids: list[int], ratio: float) -> None:
    ids, sids, dids = feat["input_ids"], feat["sentence_ids"], feat["document_ids"]
    assert len(row) == len(ids)
    pos_of = {t: i for i, t in enumerate(ids) if sids[i] >= 0}
    for i, t in enumerate(ids):
        if sids[i] < 0:
            assert row[i] == t  # special tokens stay where they are
    for d in set(dids):
        where = [i for i in range(len(ids)) if dids[i] == d]
        assert Counter(row[i] for i in where) == Counter(
            ids[i] for i in where
        )  # the document keeps its tokens
    # each sentence stays contiguous, in order inside, and the new sentence ids number them in order
    moved = [(sids[pos_of[t]], pos_of[t]) for t in row if t in pos_of]
    sent_seq = [s for s, _ in moved]
    starts = runs(sent_seq)
    assert len({s for s, _ in starts}) == len(starts), "a sentence was split"
    for s, start in starts:
        length = sent_seq.count(s)
        src = [p for _, p in moved[start : start + length]]
        assert src == list(range(src[0], src[0] + length))
    text_new_sids = [new_sids[i] for i in range(len(row)) if sids[i] >= 0]
    assert text_new_sids == sorted(text_new_sids)
    assert len(set(text_new_sids)) == len(starts)
    assert all(new_sids[i] == -1 for i in range(len(row)) if sids[i] < 0)
    # at most ceil(ratio * n) sentences of a document leave their slot
    order = [s for s, _ in starts]
    by_doc: dict[int, list[int]] = {}
    for s in sorted(set(sids) - {-1}):
        by_doc.setdefault(dids[sids.index(s)], []).append(s)
    slot = 0
    for d in sorted(by_doc):
        orig = by_doc[d]
        new = order[slot : slot + len(orig)]
        slot += len(orig)
        assert sorted(new) == orig
        assert sum(a != b for a, b in zip(orig, new)) <= math.ceil(ratio * len(orig))


def test_permutation_invariants_per_tokenizer(tok_info):
    tok, info = tok_info
    feats = pack_blocks(tok, make_docs(0, 40), 48)
    feats[-1] = {k: v[: max(4, len(v) // 2)] for k, v in feats[-1].items()}
    out = Collator(tok, SentencePermutation(), seed=0, keep_keys=("sentence_ids", "special_mask"))(feats)
    assert torch.equal(out["special_mask"], info.special[out["input_ids"]] | (out["attention_mask"] == 0))
    changed = 0
    for f, row, new_sids, lab in zip(feats, real_rows(out), real_rows(out, "sentence_ids"), out["labels"]):
        ids, sids, dids = f["input_ids"], f["sentence_ids"], f["document_ids"]
        assert row[: len(ids)] and len(row) == len(ids)
        for d in set(dids):
            where = [i for i in range(len(ids)) if dids[i] == d]
            assert Counter(row[i] for i in where) == Counter(ids[i] for i in where)
        assert all(row[i] == ids[i] for i in range(len(ids)) if sids[i] < 0)
        assert lab[: len(ids)].tolist() == ids and bool((lab[len(ids) :] == -100).all())
        text_sids = [new_sids[i] for i in range(len(ids)) if sids[i] >= 0]
        assert text_sids == sorted(text_sids) and all(
            new_sids[i] == -1 for i in range(len(ids)) if sids[i] < 0
        )
        changed += row != ids
    assert changed > len(feats) // 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=7), min_size=1, max_size=8),
    block_len=st.integers(3, 40),
    ratio=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    cls=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_permutation_invariants_random_layouts(docs, block_len, ratio, cls, seed):
    feats = unique_blocks(docs, block_len, cls=cls)
    info = unique_info(cls)
    out = Collator(info, SentencePermutation(ratio), seed=seed, keep_keys=("sentence_ids",))(feats)
    for f, row, new_sids in zip(feats, real_rows(out), real_rows(out, "sentence_ids")):
        check_permutation(f, row, new_sids, ratio)
        if ratio == 0.0:
            assert row == f["input_ids"]


def test_permutation_keeps_existing_labels_and_rejects_unordered_ids():
    info = unique_info()
    feats = unique_blocks([[3, 4, 2], [2, 2]], 64)
    collator = Collator(info, SentencePermutation())
    batch = collator.build_batch(feats)
    batch["labels"] = torch.full_like(batch["input_ids"], 7)
    out = SentencePermutation()(dict(batch), info, torch.Generator().manual_seed(0))
    assert out["labels"] is batch["labels"]
    bad = dict(batch)
    bad["sentence_ids"] = batch["sentence_ids"].flip(1)
    with pytest.raises(ValueError, match="non-decreasing"):
        SentencePermutation()(bad, info, torch.Generator().manual_seed(0))


# --------------------------------------------------------------------------- segment pairs


def pair_parts(row: list[int], types: list[int], cls: bool) -> tuple[list[int], list[int]]:
    """Split ``[CLS] A [SEP] B [SEP]`` into A and B, checking the layout and the token types."""
    start = 1 if cls else 0
    if cls:
        assert row[0] == CLS
    first_sep = row.index(SEP, start)
    a = row[start:first_sep]
    b = row[first_sep + 1 : -1] if len(row) > first_sep + 1 else []
    assert row[-1] == SEP
    assert SEP not in a and SEP not in b and CLS not in a and CLS not in b
    assert types == [0] * (first_sep + 1) + [1] * (len(row) - first_sep - 1)
    return a, b


def text_of(feat: dict) -> tuple[list[int], list[int], list[int]]:
    keep = [i for i, s in enumerate(feat["sentence_ids"]) if s >= 0]
    return (
        [feat["input_ids"][i] for i in keep],
        [feat["sentence_ids"][i] for i in keep],
        [feat["document_ids"][i] for i in keep],
    )


def check_continuation(feat: dict, a: list[int], b: list[int]) -> None:
    """``a + b`` is contiguous text of the row, split at a sentence boundary inside a document."""
    text, sids, dids = text_of(feat)
    k = text.index(a[0])
    assert text[k : k + len(a) + len(b)] == a + b
    j = k + len(a)
    assert sids[j] != sids[j - 1] and dids[j] == dids[j - 1]


@settings(max_examples=40, deadline=None)
@given(
    docs=st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=6), min_size=1, max_size=6),
    block_len=st.integers(4, 40),
    cls=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sentence_order_random_layouts(docs, block_len, cls, seed):
    feats = unique_blocks(docs, block_len, cls=cls)
    info = unique_info(cls)
    out = Collator(info, SentenceOrder(), seed=seed, keep_keys=("special_mask",))(feats)
    assert out["input_ids"].shape[1] <= max(len(f["input_ids"]) for f in feats)
    assert torch.equal(out["special_mask"], info.special[out["input_ids"]] | (out["attention_mask"] == 0))
    assert "labels" not in out
    fits = max(len(f["input_ids"]) for f in feats) - cls - 2 >= 2  # room for a pair with 2 text tokens
    rows = zip(feats, real_rows(out), real_rows(out, "token_type_ids"), out["next_sentence_label"])
    for f, row, types, label in rows:
        text, sids, dids = text_of(f)
        splittable = fits and any(
            sids[j] != sids[j - 1] and dids[j] == dids[j - 1] for j in range(1, len(text))
        )
        if not splittable:
            assert label == -100
            assert row == ([CLS] if cls else []) + text[: len(row) - 1 - cls] + [SEP]
            continue
        a, b = pair_parts(row, types, cls)
        assert a and b
        if label == 0:
            check_continuation(f, a, b)
        else:
            assert label == 1
            check_continuation(f, b, a)


@settings(max_examples=40, deadline=None)
@given(
    docs=st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=6), min_size=1, max_size=8),
    block_len=st.integers(4, 40),
    seed=st.integers(0, 2**16),
)
def test_next_sentence_random_layouts(docs, block_len, seed):
    feats = unique_blocks(docs, block_len)
    info = unique_info()
    out = Collator(info, NextSentence(), seed=seed, keep_keys=("special_mask",))(feats)
    assert torch.equal(out["special_mask"], info.special[out["input_ids"]] | (out["attention_mask"] == 0))
    row_of = {t: r for r, f in enumerate(feats) for t in text_of(f)[0]}
    for r, (f, row, types, label) in enumerate(
        zip(feats, real_rows(out), real_rows(out, "token_type_ids"), out["next_sentence_label"])
    ):
        if label == -100:
            continue
        a, b = pair_parts(row, types, True)
        assert a and b
        if label == 0:
            check_continuation(f, a, b)
        else:
            assert label == 1
            other = row_of[b[0]]
            assert other != r
            text, sids, _ = text_of(feats[other])
            k = text.index(b[0])
            assert text[k : k + len(b)] == b
            assert k == 0 or sids[k] != sids[k - 1]  # the random segment starts at a sentence start
            # and A still ends at a sentence boundary of its own row
            text, sids, _ = text_of(f)
            k = text.index(a[0]) + len(a)
            assert k < len(text) and sids[k] != sids[k - 1]


@pytest.mark.parametrize("strategy", [SentenceOrder, NextSentence])
def test_pair_layout_per_tokenizer(tok_info, strategy):
    tok, info = tok_info
    feats = pack_blocks(tok, make_docs(1, 60), 40)
    out = Collator(tok, strategy(), seed=0, keep_keys=("special_mask",))(feats)
    labels = out["next_sentence_label"]
    assert labels.shape == (len(feats),)
    assert set(labels.tolist()) <= {-100, 0, 1}
    valid = labels[labels != -100]
    assert 0.25 < float(valid.float().mean()) < 0.75
    assert out["input_ids"].shape[1] <= 40 and out["input_ids"].is_contiguous()
    assert torch.equal(out["special_mask"], info.special[out["input_ids"]] | (out["attention_mask"] == 0))
    for row, types in zip(real_rows(out), real_rows(out, "token_type_ids")):
        seps = [i for i, t in enumerate(row) if t == info.sep_id]
        assert row[-1] == info.sep_id and len(seps) in (1, 2)
        assert types == [0] * (seps[0] + 1) + [1] * (len(row) - seps[0] - 1)
        if info.cls_id is not None:
            assert row[0] == info.cls_id
        assert sum(bool(info.special[t]) for t in row) == len(seps) + (info.cls_id is not None)


def test_pairs_compose_with_masking(tokenizers):
    from textssl.corruption.compose import Compose
    from textssl.corruption.masking import TokenMasking

    tok = tokenizers["wordpiece"]
    info = TokenizerInfo.from_tokenizer(tok)
    feats = pack_blocks(tok, make_docs(2, 40), 40)
    out = Collator(tok, Compose([SentenceOrder(), TokenMasking(rate=0.9)]), seed=0)(feats)
    ids, labels = out["input_ids"], out["labels"]
    assert ids.shape == labels.shape == out["token_type_ids"].shape
    assert "next_sentence_label" in out and "sentence_order_label" not in out
    sep_or_cls = (ids == info.sep_id) | (ids == info.cls_id)
    assert bool(sep_or_cls.any()) and bool((labels[sep_or_cls] == -100).all())  # separators never masked
    assert bool(((labels != -100) & (out["attention_mask"] == 1)).any())


def test_next_sentence_with_a_single_row_keeps_the_true_continuation():
    info = unique_info()
    feats = unique_blocks([[3, 3, 3]], 64)
    for seed in range(5):
        out = Collator(info, NextSentence(), seed=seed)(feats)
        assert out["next_sentence_label"].tolist() == [0]


def test_bert_and_albert_pretraining_heads_accept_the_batch(tokenizers):
    from transformers import AlbertConfig, AlbertForPreTraining, BertConfig, BertForPreTraining

    tok = tokenizers["wordpiece"]
    info = TokenizerInfo.from_tokenizer(tok)
    feats = pack_blocks(tok, make_docs(3, 20), 32)[:4]
    small = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}
    torch.manual_seed(0)
    out = Collator(tok, NextSentence(), seed=0)(feats)
    bert = BertForPreTraining(BertConfig(vocab_size=len(tok), pad_token_id=info.pad_id, **small))
    res = bert(**out, labels=out["input_ids"].masked_fill(out["attention_mask"] == 0, -100))
    assert torch.isfinite(res.loss)
    out = Collator(tok, SentenceOrder(), seed=0)(feats)  # BERT's key: what textssl's sop model takes
    res = bert(**out, labels=out["input_ids"].masked_fill(out["attention_mask"] == 0, -100))
    assert torch.isfinite(res.loss)
    out = Collator(tok, SentenceOrder(label_key="sentence_order_label"), seed=0)(feats)
    albert = AlbertForPreTraining(
        AlbertConfig(vocab_size=len(tok), embedding_size=8, pad_token_id=info.pad_id, **small)
    )
    res = albert(**out, labels=out["input_ids"].masked_fill(out["attention_mask"] == 0, -100))
    assert torch.isfinite(res.loss)


def test_determinism(tokenizers):
    tok = tokenizers["wordpiece"]
    feats = pack_blocks(tok, make_docs(4, 30), 40)
    for strategy in (SentencePermutation(), SentenceOrder(), NextSentence()):
        a = Collator(tok, strategy, seed=5)(feats)
        b = Collator(tok, strategy, seed=5)(feats)
        c = Collator(tok, strategy, seed=6)(feats)
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert any(not torch.equal(a[k], c[k]) for k in a)


# --------------------------------------------------------------------------- errors


def test_missing_ids_and_tokens_are_clear_errors(tokenizers):
    tok = tokenizers["wordpiece"]
    info = TokenizerInfo.from_tokenizer(tok)
    feats = [{"input_ids": f["input_ids"]} for f in pack_blocks(tok, make_docs(5, 5), 32)]
    for strategy in (SentencePermutation(), SentenceOrder(), NextSentence()):
        with pytest.raises(KeyError, match="sentence_ids"):
            Collator(tok, strategy)(feats)
    for strategy in (SentenceOrder(), NextSentence()):
        with pytest.raises(TokenizerError, match="sep"):
            Collator(dataclasses.replace(info, sep_id=None), strategy)
    with pytest.raises(ValueError, match="ratio"):
        SentencePermutation(ratio=1.5)
    with pytest.raises(ValueError, match="swap_prob"):
        SentenceOrder(swap_prob=-0.1)
    with pytest.raises(
        ValueError, match="label_key must be one of next_sentence_label, sentence_order_label"
    ):
        SentenceOrder(label_key="sop_label")
    with pytest.raises(ValueError, match="random_prob"):
        NextSentence(random_prob=2)


def test_rows_without_a_boundary_get_no_loss():
    info = unique_info()
    # one sentence per document: no in-document boundary anywhere
    feats = unique_blocks([[5], [4], [6]], 64) + unique_blocks([[3, 3]], 64)
    for strategy, key in ((SentenceOrder(), "next_sentence_label"), (NextSentence(), "next_sentence_label")):
        out = Collator(info, strategy, seed=0)(feats)
        assert out[key][0] == -100 and out[key][1] != -100


# --------------------------------------------------------------------------- ids are labels, not sizes


def _big_ids(feats: list[dict], base: int) -> list[dict]:
    """The same blocks with corpus-wide ids: each row's ids shifted near ``base`` with gaps, order kept."""
    out = []
    for r, f in enumerate(feats):
        sid = [-1 if s < 0 else base + 1000 * r + 37 * s for s in f["sentence_ids"]]
        did = [base + 500_000 * r + 9 * d for d in f["document_ids"]]
        out.append({**f, "sentence_ids": sid, "document_ids": did})
    return out


@pytest.mark.parametrize("base", [5_000_000, 10**9 - 7])
def test_corpus_wide_ids_give_the_block_local_result(tokenizers, base):
    """64 x 128 blocks whose ids are corpus-wide numbers are corrupted exactly as with block-local ids (same
    seed), quickly and without tables sized by the ids (batch x 10**9 would be 512 GB)."""
    import time
    import tracemalloc

    from textssl.corruption import CausalLM, Compose, DocumentRotation, TextInfilling, TokenMasking

    tok = tokenizers["bpe"]
    feats = pack_blocks(tok, make_docs(7, 700), 128)[:64]
    assert len(feats) == 64 and all(len(f["input_ids"]) == 128 for f in feats)
    big = _big_ids(feats, base)
    assert max(max(f["sentence_ids"]) for f in big) >= base
    strategies = [
        SentencePermutation(),
        SentencePermutation(ratio=0.5),
        SentenceOrder(),
        NextSentence(),
        CausalLM(respect_documents=True),
        DocumentRotation(),
        Compose([SentencePermutation(), TextInfilling(rate=0.3)]),
        Compose([SentenceOrder(), TokenMasking()]),
    ]
    for strategy in strategies:
        want = Collator(tok, strategy, seed=3)(feats)
        tracemalloc.start()
        t0 = time.perf_counter()
        got = Collator(tok, strategy, seed=3)(big)
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert sorted(got) == sorted(want), strategy
        for key in want:
            assert torch.equal(got[key], want[key]), (strategy, key)
        assert peak < 50 * 2**20, (strategy, peak)  # the batch itself is 64 x 128 x 8 bytes = 64 KB
        assert elapsed < 5.0, (strategy, elapsed)
    # the permutation did permute, and its sentence ids come back dense (0..k-1 per row)
    keep = Collator(tok, SentencePermutation(), seed=3, keep_keys=("sentence_ids",))(big)
    assert not torch.equal(keep["input_ids"], torch.tensor([f["input_ids"] for f in feats]))
    assert int(keep["sentence_ids"].max()) < 128


def test_bad_sentence_order_label_key_is_a_one_line_cli_error(capsys):
    from textssl.cli import main

    text = "The cat sat on the mat. It was a sunny day.\n\nA second document. It has two sentences."
    code = main(["corrupt", "--strategy", "sentence_order", "--param", "label_key=sop_label", text])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("textssl corrupt: error: ")
    assert "label_key must be one of next_sentence_label, sentence_order_label" in lines[0]
