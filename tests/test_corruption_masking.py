"""TokenMasking, WholeWordMasking and SpanMasking on the three shipped tokenizers."""

from __future__ import annotations

import dataclasses
import functools
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from shipped_helpers import KINDS, tok_info

from textssl.collator import Collator
from textssl.corruption.base import Linear
from textssl.corruption.masking import SpanMasking, TokenMasking, WholeWordMasking
from textssl.corruption.ops import kth_smallest
from textssl.tokenization import TokenizerError

WORDS = (
    "the a of and to in is was for on that with as by it from at his an were are which this be or "
    "language model training pretraining transformer attention corpus sentence document token masking "
    "unbelievably extraordinary photosynthesis internationalization misunderstanding counterproductive "
    "river mountain village station orchestra symphony laboratory experiment hypothesis astronomy "
    "Cambridge Mediterranean Shakespeare Einstein 1987 3.14 well-known state-of-the-art naïve café"
).split()


def documents(n_docs: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        sents = []
        for _ in range(rng.randint(2, 6)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(4, 16))]
            sents.append(" ".join(words).capitalize() + rng.choice([".", ".", "!", "?"]))
        docs.append(" ".join(sents))
    return docs


@functools.cache
def packed_ids(kind: str, n_tokens: int) -> tuple[int, ...]:
    tok, _ = tok_info(kind)
    ids: list[int] = []
    seed = 0
    while len(ids) < n_tokens:
        for doc in documents(50, seed):
            ids += tok(doc, verbose=False)["input_ids"]
        seed += 1
    return tuple(ids[:n_tokens])


def make_features(
    kind: str, rows: int = 64, length: int = 128, ragged: bool = False, seed: int = 0
) -> list[dict]:
    """Packed blocks (lists of ints), optionally with ragged lengths (some rows much shorter)."""
    ids = packed_ids(kind, rows * length)
    rng = random.Random(seed)
    feats = []
    for r in range(rows):
        row = list(ids[r * length : (r + 1) * length])
        if ragged:
            row = row[: rng.randint(2, length)]
        feats.append({"input_ids": row})
    return feats


def collate(kind: str, strategy, feats=None, seed: int = 0, **kw):
    _, info = tok_info(kind)
    feats = feats if feats is not None else make_features(kind, **kw)
    collator = Collator(info, strategy, seed=seed)
    batch = collator.build_batch(feats)
    out = collator(feats)
    return batch, out, info


STRATEGIES = {
    "token": lambda **kw: TokenMasking(**kw),
    "token_exact": lambda **kw: TokenMasking(exact=True, **kw),
    "whole_word": lambda **kw: WholeWordMasking(**kw),
    "span": lambda **kw: SpanMasking(**kw),
}


def word_ids(batch) -> np.ndarray:
    """Word index per token (-1 on special tokens), from the batch's word_start flags."""
    ws = batch["word_start"].numpy()
    special = batch["special_mask"].numpy()
    wid = np.cumsum(ws, axis=1) - 1 + np.arange(ws.shape[0])[:, None] * ws.shape[1]
    return np.where(special, -1, wid)


def all_or_nothing(values: np.ndarray, groups: np.ndarray) -> bool:
    """True if ``values`` (bool) is constant within every group id >= 0."""
    g = groups[groups >= 0]
    v = values[groups >= 0].astype(np.int64)
    n = np.bincount(g)
    s = np.bincount(g, weights=v)
    present = n > 0
    return bool(np.all((s[present] == 0) | (s[present] == n[present])))


# --------------------------------------------------------------------------- rates and the 80/10/10 split


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_rate_within_tolerance(kind, name):
    fracs = []
    for seed in range(3):
        batch, out, _ = collate(kind, STRATEGIES[name](), seed=seed)
        eligible = ~batch["special_mask"]
        fracs.append(float((out["labels"] != -100)[eligible].float().mean()))
    assert abs(np.mean(fracs) - 0.15) < 0.015, fracs


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["token", "whole_word", "span"])
def test_80_10_10_split(kind, name):
    masked = rnd = kept = 0
    for seed in range(4):
        batch, out, info = collate(kind, STRATEGIES[name](rate=0.4), seed=seed)
        sel = out["labels"] != -100
        ids = out["input_ids"]
        masked += int((sel & (ids == info.mask_id)).sum())
        kept += int((sel & (ids == batch["input_ids"])).sum())
        rnd += int((sel & (ids != info.mask_id) & (ids != batch["input_ids"])).sum())
    total = masked + rnd + kept
    # Whole words and spans decide per unit, so the token-level split is noisier than per-token masking.
    tol = 0.02 if name == "token" else 0.035
    assert abs(masked / total - 0.8) < tol
    assert abs(rnd / total - 0.1) < tol
    assert abs(kept / total - 0.1) < tol


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_only_mask_or_only_random(name):
    batch, out, info = collate("wordpiece", STRATEGIES[name](rate=0.3, mask_prob=1.0, random_prob=0.0))
    sel = out["labels"] != -100
    assert bool((out["input_ids"][sel] == info.mask_id).all())
    assert bool((out["input_ids"][~sel] == batch["input_ids"][~sel]).all())
    batch, out, info = collate("wordpiece", STRATEGIES[name](rate=0.3, mask_prob=0.0, random_prob=1.0))
    changed = out["input_ids"] != batch["input_ids"]
    sel = out["labels"] != -100
    assert not bool((out["input_ids"] == info.mask_id).any())
    assert float(changed[sel].float().mean()) > 0.99  # a random draw may equal the original
    assert not bool(info.special[out["input_ids"][sel]].any())


# --------------------------------------------------------------------------- what is never touched


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_specials_and_padding_untouched(kind, name):
    batch, out, _ = collate(kind, STRATEGIES[name](rate=0.5), ragged=True)
    special = batch["special_mask"]
    assert bool(special.any()) and bool((batch["attention_mask"] == 0).any())
    assert bool((out["input_ids"][special] == batch["input_ids"][special]).all())
    assert bool((out["labels"][special] == -100).all())
    assert torch.equal(out["attention_mask"], batch["attention_mask"])
    sel = out["labels"] != -100
    assert bool((out["labels"][sel] == batch["input_ids"][sel]).all())  # labels hold the original ids


# --------------------------------------------------------------------------- whole words


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["whole_word", "span"])
def test_whole_words_all_or_nothing(kind, name):
    strategy = STRATEGIES[name](rate=0.3)
    _, info = tok_info(kind)
    feats = make_features(kind, ragged=True)
    collator = Collator(info, strategy, seed=3)
    batch = collator.build_batch(feats)
    out = collator(feats)
    wid = word_ids(batch)
    sel = (out["labels"] != -100).numpy()
    is_mask = (out["input_ids"] == info.mask_id).numpy()
    changed = (out["input_ids"] != batch["input_ids"]).numpy() & ~is_mask
    assert sel.any()
    assert all_or_nothing(sel, wid)
    assert all_or_nothing(is_mask, wid)  # a word is wholly masked or not at all
    # wholly random or wholly kept: allow one word where a random draw equalled the original token
    g = wid[(wid >= 0) & sel & ~is_mask]
    c = changed[(wid >= 0) & sel & ~is_mask]
    n, s = np.bincount(g), np.bincount(g, weights=c)
    mixed = int(((s > 0) & (s < n)).sum())
    assert mixed <= 1
    # multi-token words exist in this data, so the check above is not vacuous
    assert (np.bincount(wid[wid >= 0]) > 1).sum() > 100


def test_whole_word_masking_uses_word_start_table():
    tok, info = tok_info("wordpiece")
    ids = tok("unbelievably extraordinary photosynthesis internationalization")["input_ids"]
    assert len(ids) > 6  # several words split into pieces
    feats = [{"input_ids": ids}] * 64
    out = Collator(info, WholeWordMasking(rate=0.5, mask_prob=1.0, random_prob=0.0), seed=0)(feats)
    tokens = [tok.convert_ids_to_tokens(row) for row in out["input_ids"].tolist()]
    for row in tokens:
        for prev, cur in zip(row, row[1:]):
            if cur.startswith("##"):
                assert prev != "[MASK]"  # a masked word never leaves a continuation piece visible
    assert any("[MASK]" in row for row in tokens)


# --------------------------------------------------------------------------- exact mode


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rate", [0.0, 0.15, 0.5, 1.0])
def test_exact_count(kind, rate):
    batch, out, _ = collate(kind, TokenMasking(rate=rate, exact=True), ragged=True, seed=1)
    n = (~batch["special_mask"]).sum(1).tolist()
    got = (out["labels"] != -100).sum(1).tolist()
    assert got == [round(rate * x) for x in n]


def test_kth_smallest_varying_k():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 1000, (8, 50))
    k = rng.integers(0, 51, 8)
    got = kth_smallest(values, k)[:, 0]
    want = np.sort(values, 1)[np.arange(8), np.maximum(k - 1, 0)]
    assert np.array_equal(got, want)


# --------------------------------------------------------------------------- span masking


def test_span_length_sampler_is_truncated_geometric():
    s = SpanMasking(geometric_p=0.2, max_span=10)
    assert abs(s.mean_span - 3.8) < 0.05  # SpanBERT's reported mean
    table = s._length_table
    assert table.min() == 1 and table.max() == 10
    pmf = np.bincount(table, minlength=11)[1:] / len(table)
    want = 0.2 * 0.8 ** np.arange(10)
    assert np.allclose(pmf, want / want.sum(), atol=1e-4)
    assert SpanMasking(geometric_p=0.5, max_span=3)._length_table.max() == 3


def test_span_runs_follow_the_length_distribution():
    """At a low rate spans rarely merge, so masked runs (in words) average about the mean span length."""
    runs = []
    for max_span, p in [(10, 0.2), (3, 0.5)]:
        s = SpanMasking(rate=0.06, geometric_p=p, max_span=max_span)
        lengths = []
        for seed in range(3):
            batch, out, _ = collate("wordpiece", s, seed=seed, length=256)
            sel = (out["labels"] != -100).numpy()
            ws = batch["word_start"].numpy()
            # per row: selected word starts, split into runs of consecutive words
            for r in range(sel.shape[0]):
                words_sel = sel[r][ws[r]]
                padded = np.concatenate([[0], words_sel.astype(np.int8), [0]])
                edges = np.flatnonzero(np.diff(padded))
                lengths += list(edges[1::2] - edges[::2])
        runs.append((s.mean_span, float(np.mean(lengths)), max(lengths)))
    (mean10, got10, _), (mean3, got3, _) = runs
    assert abs(got10 - mean10) / mean10 < 0.2, runs
    assert abs(got3 - mean3) / mean3 < 0.2, runs
    assert got10 > got3 + 1


def test_span_masking_does_not_cross_special_tokens():
    tok, info = tok_info("wordpiece")
    # many one-word documents: a span can never take more than one word here
    ids = []
    for w in ["river", "mountain", "village", "station"] * 16:
        ids += tok(w)["input_ids"]
    feats = [{"input_ids": ids}] * 16
    s = SpanMasking(rate=0.5, geometric_p=0.05, max_span=10, mask_prob=1.0, random_prob=0.0)
    out = Collator(info, s, seed=0)(feats)
    sel = out["labels"] != -100
    frac = float(sel.sum()) / float((~info.special[torch.tensor(ids)]).sum() * 16)
    assert 0.4 < frac < 0.6  # the budget is still met with one-word spans


# --------------------------------------------------------------------------- determinism and schedules


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_seeded_determinism(name):
    feats = make_features("bpe", ragged=True)
    _, a, _ = collate("bpe", STRATEGIES[name](), feats=feats, seed=7)
    _, b, _ = collate("bpe", STRATEGIES[name](), feats=feats, seed=7)
    _, c, _ = collate("bpe", STRATEGIES[name](), feats=feats, seed=8)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])
    assert not torch.equal(a["labels"], c["labels"])


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_rate_schedule(name):
    strategy = STRATEGIES[name](rate=Linear(0.5, 0.1, steps=100))
    _, info = tok_info("wordpiece")
    collator = Collator(info, strategy)
    batch = collator.build_batch(make_features("wordpiece"))
    eligible = ~batch["special_mask"]
    got = []
    for step in (0, 50, 100, 1000):
        out = strategy(dict(batch), info, torch.Generator().manual_seed(0), step)
        got.append(float((out["labels"] != -100)[eligible].float().mean()))
    for frac, want in zip(got, [0.5, 0.3, 0.1, 0.1]):
        assert abs(frac - want) < 0.03, got


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_bad_arguments(name):
    make = STRATEGIES[name]
    with pytest.raises(ValueError, match="rate"):
        make(rate=1.5)
    with pytest.raises(ValueError, match="rate"):
        make(rate=-0.1)
    with pytest.raises(ValueError, match="rate"):
        make(rate="lots")
    with pytest.raises(ValueError, match="rate"):
        make(rate=Linear(0.5, 1.5, 10))
    with pytest.raises(ValueError, match="mask_prob"):
        make(mask_prob=0.9, random_prob=0.2)
    with pytest.raises(ValueError, match="random_prob"):
        make(random_prob=-0.1)


def test_bad_span_arguments():
    with pytest.raises(ValueError, match="geometric_p"):
        SpanMasking(geometric_p=0)
    with pytest.raises(ValueError, match="geometric_p"):
        SpanMasking(geometric_p=1.5)
    with pytest.raises(ValueError, match="max_span"):
        SpanMasking(max_span=0)
    with pytest.raises(ValueError, match="max_span"):
        SpanMasking(max_span=2.5)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_missing_mask_token(name):
    _, info = tok_info("wordpiece")
    no_mask = dataclasses.replace(info, mask_id=None)
    with pytest.raises(TokenizerError, match="mask token"):
        Collator(no_mask, STRATEGIES[name]())
    # without [MASK] replacement the strategy needs no mask token
    out = Collator(no_mask, STRATEGIES[name](mask_prob=0.0, random_prob=0.5))(
        make_features("wordpiece", rows=4)
    )
    assert bool((out["labels"] != -100).any())


# --------------------------------------------------------------------------- the Collator's inputs


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_collator_accepts_lists_arrays_tensors(name):
    feats = make_features("unigram", rows=16, ragged=True)
    as_np = [{"input_ids": np.asarray(f["input_ids"], dtype=np.int32)} for f in feats]
    as_pt = [{"input_ids": torch.tensor(f["input_ids"])} for f in feats]
    outs = [collate("unigram", STRATEGIES[name](), feats=f, seed=5)[1] for f in (feats, as_np, as_pt)]
    for o in outs[1:]:
        assert torch.equal(o["input_ids"], outs[0]["input_ids"])
        assert torch.equal(o["labels"], outs[0]["labels"])
    # equal-length tensors take the stacking path
    same = [{"input_ids": torch.tensor(f["input_ids"])} for f in make_features("unigram", rows=8)]
    out = collate("unigram", STRATEGIES[name](), feats=same)[1]
    assert out["input_ids"].shape == (8, 128)


def test_empty_rows_of_specials_only():
    _, info = tok_info("wordpiece")
    feats = [{"input_ids": [info.cls_id, info.sep_id]}, {"input_ids": [info.cls_id, 2000, 2001, info.sep_id]}]
    for name, make in STRATEGIES.items():
        out = Collator(info, make(rate=1.0))(feats)
        assert bool((out["labels"][0] == -100).all()), name
        assert int((out["labels"][1] != -100).sum()) == 2, name


# --------------------------------------------------------------------------- property test


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.integers(min_value=0, max_value=16383), min_size=1, max_size=40), min_size=1, max_size=8
    ),
    name=st.sampled_from(list(STRATEGIES)),
    rate=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_property_specials_never_corrupted(rows, name, rate, seed):
    _, info = tok_info("wordpiece")
    feats = [{"input_ids": r} for r in rows]
    collator = Collator(info, STRATEGIES[name](rate=rate), seed=seed)
    batch = collator.build_batch(feats)
    out = collator(feats)
    ids, new, labels = batch["input_ids"], out["input_ids"], out["labels"]
    special = batch["special_mask"]
    selected = labels != -100
    assert bool((new[special] == ids[special]).all())  # specials and padding untouched
    assert not bool(selected[special].any())
    assert bool((labels[selected] == ids[selected]).all())  # labels are the original ids
    assert not bool(((new != ids) & ~selected).any())  # anything changed has a label
    # unselected positions are unchanged and carry -100: labels are -100 exactly where not selected
    assert bool((new[~selected] == ids[~selected]).all())
