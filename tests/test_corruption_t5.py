"""T5 span corruption: reconstruction, T5's span statistics, lengths, errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from blocks_helpers import make_docs, pack_blocks

from textssl import Collator, TokenizerInfo
from textssl.corruption.t5 import T5SpanCorruption, compute_input_and_target_lengths
from textssl.tokenization import TokenizerError


@pytest.fixture(scope="module")
def unigram(tokenizers):
    tok = tokenizers["unigram"]
    return tok, TokenizerInfo.from_tokenizer(tok)


def rows_of(out: dict, key: str) -> list[list[int]]:
    t = out[key]
    if key == "labels":
        return [[int(x) for x in r if x != -100] for r in t]
    return [[int(x) for x, m in zip(r, a) if m] for r, a in zip(t, out["attention_mask"])]


def reconstruct(inputs: list[int], targets: list[int], sentinels: set[int], eos: int) -> list[int]:
    """Undo span corruption: each input sentinel becomes the target tokens after the same sentinel."""
    assert targets[-1] == eos
    spans: dict[int, list[int]] = {}
    current = None
    for t in targets[:-1]:
        if t in sentinels:
            assert t not in spans, "a sentinel appears twice in the targets"
            current = t
            spans[t] = []
        else:
            assert current is not None, "targets must start with a sentinel"
            spans[current].append(t)
    out: list[int] = []
    for t in inputs:
        out.extend(spans[t] if t in sentinels else [t])
    return out


# --------------------------------------------------------------------------- lengths


def test_compute_input_and_target_lengths_matches_t5():
    assert compute_input_and_target_lengths(512, 0.15, 3.0) == (568, 114)
    assert compute_input_and_target_lengths(128) == (141, 29)
    with pytest.raises(ValueError, match="noise_density"):
        compute_input_and_target_lengths(512, 1.5)
    with pytest.raises(ValueError, match="inputs_length"):
        compute_input_and_target_lengths(2)


@pytest.mark.parametrize("inputs_length,density,span", [(64, 0.15, 3.0), (128, 0.3, 2.0), (100, 0.5, 5.0)])
def test_raw_blocks_become_exactly_inputs_length(unigram, inputs_length, density, span):
    tok, info = unigram
    tokens_length, targets_length = compute_input_and_target_lengths(inputs_length, density, span)
    g = torch.Generator().manual_seed(0)
    text_ids = info.replace_ids[torch.randint(len(info.replace_ids), (16, tokens_length), generator=g)]
    feats = [{"input_ids": r.tolist()} for r in text_ids]
    out = Collator(info, T5SpanCorruption(density, span), seed=3)(feats)
    assert out["input_ids"].shape == (16, inputs_length)
    assert bool(out["attention_mask"].all())
    assert out["labels"].shape == (16, targets_length)
    assert bool((out["labels"] != -100).all())
    assert bool((out["input_ids"][:, -1] == info.eos_id).all())


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inputs_and_targets_reconstruct_the_original(unigram, seed):
    tok, info = unigram
    feats = pack_blocks(tok, make_docs(seed, 30), 48)
    feats[-1] = {k: v[:20] for k, v in feats[-1].items()}  # a shorter (padded) row
    out = Collator(tok, T5SpanCorruption(), seed=seed)(feats)
    sentinels = set(info.sentinel_ids.tolist())
    eos = info.eos_id
    for f, inp, tgt in zip(feats, rows_of(out, "input_ids"), rows_of(out, "labels")):
        orig = list(f["input_ids"])
        expected = orig if orig[-1] == eos else orig + [eos]
        assert reconstruct(inp, tgt, sentinels, eos) == expected
        # sentinels count from <extra_id_0> in order, in inputs and in targets
        used = [t for t in inp if t in sentinels]
        assert used == info.sentinel_ids[: len(used)].tolist()
        in_targets = [t for t in tgt if t in sentinels]
        assert in_targets == info.sentinel_ids[: len(in_targets)].tolist()
        # special tokens stay in place, in order, never inside a span
        specials = [t for t in orig if info.special[t]]
        kept_specials = [t for t in inp if info.special[t] and t not in sentinels]
        assert kept_specials == (specials if orig[-1] == eos else specials + [eos])
        assert not any(info.special[t] and t not in sentinels and t != eos for t in tgt)


def test_special_mask_matches_new_layout(unigram):
    tok, info = unigram
    feats = pack_blocks(tok, make_docs(5, 20), 40)
    out = Collator(tok, T5SpanCorruption(), seed=0, keep_keys=("special_mask",))(feats)
    expected = info.special[out["input_ids"]] | (out["attention_mask"] == 0)
    assert torch.equal(out["special_mask"], expected)


def test_noise_density_and_mean_span_length(unigram):
    tok, info = unigram
    density, span = 0.15, 3.0
    g = torch.Generator().manual_seed(1)
    length = 400
    text_ids = info.replace_ids[torch.randint(len(info.replace_ids), (64, length), generator=g)]
    out = Collator(info, T5SpanCorruption(density, span), seed=7)(
        [{"input_ids": r.tolist()} for r in text_ids]
    )
    sentinels = set(info.sentinel_ids.tolist())
    noise_counts, span_counts = [], []
    for tgt in rows_of(out, "labels"):
        body = tgt[:-1]
        noise_counts.append(sum(t not in sentinels for t in body))
        span_counts.append(sum(t in sentinels for t in body))
    # T5: exactly round(density * length) noise tokens in round(noise / mean_span_length) spans
    assert set(noise_counts) == {round(length * density)}
    assert set(span_counts) == {round(round(length * density) / span)}
    # the spans' lengths vary (random segmentation), with the requested mean
    lengths = []
    for tgt in rows_of(out, "labels"):
        run = 0
        for t in tgt[1:]:
            if t in sentinels or t == info.eos_id:
                lengths.append(run)
                run = 0
            else:
                run += 1
    assert min(lengths) >= 1 and max(lengths) > 2 * span
    assert abs(sum(lengths) / len(lengths) - span) < 0.05 * span


def test_noise_positions_are_spread_over_the_row(unigram):
    """Every text position is corrupted at about the same rate (no bias to the start or the end)."""
    tok, info = unigram
    strategy = T5SpanCorruption(0.3, 2.0)
    g = torch.Generator().manual_seed(2)
    width = 60
    ids = info.replace_ids[torch.randint(len(info.replace_ids), (2000, width), generator=g)]
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "special_mask": torch.zeros_like(ids, dtype=torch.bool),
    }
    rate = torch.from_numpy(strategy.noise_mask(batch, g)).float().mean(0)
    assert float(rate.mean()) == pytest.approx(18 / 60, abs=1e-6)
    # T5's layout always starts with a kept piece and ends with a noise piece
    assert float(rate[0]) == 0.0 and float(rate[-1]) == 1.0
    assert float(rate[5:-5].min()) > 0.2 and float(rate[5:-5].max()) < 0.4


def test_seeded_determinism(unigram):
    tok, _ = unigram
    feats = pack_blocks(tok, make_docs(9, 20), 40)
    a = Collator(tok, T5SpanCorruption(), seed=11)(feats)
    b = Collator(tok, T5SpanCorruption(), seed=11)(feats)
    c = Collator(tok, T5SpanCorruption(), seed=12)(feats)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["labels"], c["labels"]) or not torch.equal(a["input_ids"], c["input_ids"])


def test_t5_model_accepts_the_batch(unigram):
    from transformers import T5Config, T5ForConditionalGeneration

    tok, info = unigram
    feats = pack_blocks(tok, make_docs(3, 10), 32)
    out = Collator(tok, T5SpanCorruption(), seed=0)(feats)
    cfg = T5Config(
        vocab_size=len(tok),
        d_model=16,
        d_kv=4,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        pad_token_id=info.pad_id,
        eos_token_id=info.eos_id,
        decoder_start_token_id=info.pad_id,
    )
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(cfg)
    loss = model(**out).loss
    assert torch.isfinite(loss)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_tokenizer_without_sentinels_is_a_clear_error(tokenizers, kind):
    with pytest.raises(TokenizerError, match="sentinel"):
        Collator(tokenizers[kind], T5SpanCorruption())


def test_too_many_spans_for_the_sentinels(unigram):
    tok, info = unigram
    few = dataclasses.replace(info, sentinel_ids=info.sentinel_ids[:3])
    text = info.replace_ids[:200].tolist()
    with pytest.raises(TokenizerError, match="sentinel"):
        Collator(few, T5SpanCorruption(0.5, 2.0))([{"input_ids": text}])


def test_too_short_rows_are_a_clear_error(unigram):
    tok, info = unigram
    feats = [
        {"input_ids": info.replace_ids[:10].tolist()},
        {"input_ids": [int(info.replace_ids[0]), info.eos_id]},
    ]
    with pytest.raises(ValueError, match="at least 2 non-special tokens.*row 1"):
        Collator(info, T5SpanCorruption())(feats)


@pytest.mark.parametrize(
    "kwargs",
    [{"noise_density": 0.0}, {"noise_density": 1.0}, {"noise_density": -0.2}, {"mean_span_length": 0.5}],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        T5SpanCorruption(**kwargs)
    with pytest.raises(ValueError, match="must be a number"):
        T5SpanCorruption(noise_density="lots")
