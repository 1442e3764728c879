"""WordReplacement, CausalLM and Compose."""

from __future__ import annotations

import dataclasses
import functools
import random

import numpy as np
import pytest
import torch

from textssl.collator import Collator
from textssl.corruption.base import Linear
from textssl.corruption.causal import CausalLM
from textssl.corruption.compose import Compose
from textssl.corruption.masking import TokenMasking, WholeWordMasking
from textssl.corruption.replacement import WordReplacement
from textssl.tokenization import TokenizerError, TokenizerInfo, load_tokenizer

KINDS = ("wordpiece", "bpe", "unigram")
WORDS = (
    "the a of and to in is was for on that with as by it from at his an were are which this be or "
    "language model training pretraining transformer attention corpus sentence document token "
    "unbelievably extraordinary photosynthesis internationalization misunderstanding counterproductive "
    "river mountain village station orchestra symphony laboratory Cambridge Mediterranean 1987"
).split()


@functools.cache
def tok_info(kind: str):
    tok = load_tokenizer(kind)
    return tok, TokenizerInfo.from_tokenizer(tok)


@functools.cache
def packed(kind: str, n_tokens: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Documents tokenized with the template and concatenated: (ids, document index per token)."""
    tok, _ = tok_info(kind)
    rng = random.Random(0)
    ids: list[int] = []
    docs: list[int] = []
    d = 0
    while len(ids) < n_tokens:
        text = " ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
            for _ in range(rng.randint(1, 4))
        )
        enc = tok(text, verbose=False)["input_ids"]
        ids += enc
        docs += [d] * len(enc)
        d += 1
    return tuple(ids[:n_tokens]), tuple(docs[:n_tokens])


def make_features(
    kind: str, rows: int = 64, length: int = 128, ragged: bool = False, seed: int = 0
) -> list[dict]:
    ids, docs = packed(kind, rows * length)
    rng = random.Random(seed)
    feats = []
    for r in range(rows):
        n = rng.randint(2, length) if ragged else length
        row_docs = np.asarray(docs[r * length : r * length + n])
        feats.append(
            {"input_ids": list(ids[r * length : r * length + n]), "document_ids": row_docs - row_docs[0]}
        )
    return feats


def run(kind: str, strategy, feats=None, seed: int = 0, info=None, **kw):
    _, default_info = tok_info(kind)
    info = info or default_info
    feats = feats if feats is not None else make_features(kind, **kw)
    collator = Collator(info, strategy, seed=seed)
    return collator.build_batch(feats), collator(feats), info


def word_groups(batch) -> np.ndarray:
    ws = batch["word_start"].numpy()
    wid = np.cumsum(ws, axis=1) - 1 + np.arange(ws.shape[0])[:, None] * ws.shape[1]
    return np.where(batch["special_mask"].numpy(), -1, wid)


# --------------------------------------------------------------------------- WordReplacement


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


# --------------------------------------------------------------------------- CausalLM


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


# --------------------------------------------------------------------------- Compose


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
