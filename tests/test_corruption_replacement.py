"""WordReplacement (``textssl.corruption.replacement``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from shipped_helpers import KINDS, make_features, run, tok_info, word_groups

from textssl.collator import Collator
from textssl.corruption.base import Linear
from textssl.corruption.replacement import WordReplacement


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("whole_word", [True, False])
def test_word_replacement_outputs(kind, whole_word):
    batch, out, info = run(kind, WordReplacement(rate=0.15, whole_word=whole_word), ragged=True)
    ids, special = batch["input_ids"], batch["special_mask"]
    assert set(out) >= {"input_ids", "attention_mask", "original_ids", "replaced", "labels"}
    assert torch.equal(out["original_ids"], ids)
    assert torch.equal(
        out["replaced"], out["input_ids"] != ids
    )  # a draw equal to the original is no replacement
    assert torch.equal(out["labels"][~special], out["replaced"][~special].long())
    assert bool((out["labels"][special] == -100).all())
    assert bool((out["input_ids"][special] == ids[special]).all())
    assert not bool(info.special[out["input_ids"][out["replaced"]]].any())  # never draws a special token
    frac = float(out["replaced"][~special].float().mean())
    assert abs(frac - 0.15) < 0.02


@pytest.mark.parametrize("kind", KINDS)
def test_word_replacement_whole_words(kind):
    batch, out, info = run(kind, WordReplacement(rate=0.3), seed=2)
    wid = word_groups(batch)
    rep = out["replaced"].numpy()
    valid = wid >= 0
    n, s = np.bincount(wid[valid]), np.bincount(wid[valid], weights=rep[valid])
    mixed = int(((s > 0) & (s < n)).sum())
    assert mixed <= max(2, int(0.002 * (n > 0).sum()))  # only where a random draw equalled the original
    assert ((n > 1) & (s == n)).sum() > 20  # multi-token words are replaced whole
    # word-start positions receive word-start tokens, continuation positions continuation tokens
    ws = batch["word_start"]
    new = out["input_ids"]
    assert bool(info.word_start[new[out["replaced"] & ws]].all())
    assert not bool(info.word_start[new[out["replaced"] & ~ws]].any())


def test_word_replacement_unigram_source():
    _, base = tok_info("wordpiece")
    with pytest.raises(ValueError, match="unigram"):
        Collator(base, WordReplacement(source="unigram"))
    info = dataclasses.replace(base)
    frequent = [2000, 2001, 2002]
    counts = torch.zeros(info.vocab_size)
    counts[frequent] = 100.0
    counts[info.word_start.logical_not().nonzero()[:3, 0]] = 100.0  # a few continuation pieces too
    info.set_unigram_counts(counts)
    batch, out, _ = run("wordpiece", WordReplacement(source="unigram", rate=0.5), info=info)
    drawn = out["input_ids"][out["replaced"]]
    allowed = torch.tensor(frequent + info.word_start.logical_not().nonzero()[:3, 0].tolist())
    assert drawn.numel() > 100
    assert bool(torch.isin(drawn, allowed).all())


def test_word_replacement_bad_arguments():
    with pytest.raises(ValueError, match="source"):
        WordReplacement(source="zipf")
    with pytest.raises(ValueError, match="rate"):
        WordReplacement(rate=2)


def test_word_replacement_schedule_and_determinism():
    s = WordReplacement(rate=Linear(0.4, 0.1, 10))
    feats = make_features("bpe")
    _, info = tok_info("bpe")
    c = Collator(info, s, seed=1)
    batch = c.build_batch(feats)
    hi = s(dict(batch), info, torch.Generator().manual_seed(0), 0)["replaced"].float().mean()
    lo = s(dict(batch), info, torch.Generator().manual_seed(0), 10)["replaced"].float().mean()
    assert hi > 3 * lo
    a, b = Collator(info, s, seed=3), Collator(info, s, seed=3)
    a.set_step(5)
    b.set_step(5)
    assert torch.equal(a(feats)["input_ids"], b(feats)["input_ids"])
