"""The strategy spec: plain data <-> strategies (``textssl.corruption.spec``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from textssl.collator import Collator
from textssl.corruption import (
    STRATEGIES,
    Compose,
    Constant,
    Linear,
    Schedule,
    SentencePermutation,
    Strategy,
    TextInfilling,
    TokenMasking,
    WholeWordMasking,
    build_strategy,
    spec_of,
    strategy_from_spec,
)
from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo, load_tokenizer

# Arguments different from every default, for every registered strategy (a new strategy must add a line).
NON_DEFAULT = {
    "token_masking": {
        "rate": {"linear": [0.4, 0.1, 20]},
        "mask_prob": 0.7,
        "random_prob": 0.2,
        "exact": True,
    },
    "whole_word_masking": {"rate": 0.3, "mask_prob": 0.5, "random_prob": 0.25},
    "span_masking": {"rate": 0.25, "geometric_p": 0.4, "max_span": 5, "mask_prob": 0.6, "random_prob": 0.2},
    "t5_span_corruption": {"noise_density": 0.3, "mean_span_length": 2.0},
    "text_infilling": {"rate": 0.4, "poisson_lambda": 2.5, "whole_word": True, "random_ratio": 0.2},
    "token_deletion": {"rate": 0.25},
    "token_insertion": {"rate": 0.2, "random_ratio": 0.5},
    "word_replacement": {"rate": 0.3, "source": "unigram", "whole_word": False},
    "sentence_permutation": {"ratio": 0.5},
    "document_rotation": {"prob": 0.5},
    "sentence_order": {"swap_prob": 0.3, "label_key": "sentence_order_label"},
    "next_sentence": {"random_prob": 0.3},
    "causal_lm": {"respect_documents": True},
}

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was unbelievably fast! Nobody saw it coming. "
    "Then it rested.\n\nA second document starts here. It has three sentences. This is the last one."
)


@pytest.fixture(scope="module")
def setups():
    from textssl.commands.corrupt import make_features

    out = {}
    for kind in ("wordpiece", "unigram"):
        tok = load_tokenizer(kind)
        info = TokenizerInfo.from_tokenizer(tok)
        feats = make_features(tok, info, TEXT * 2, 40)
        counts = torch.bincount(
            torch.tensor([t for f in feats for t in f["input_ids"]]), minlength=info.vocab_size
        )
        info.set_unigram_counts(counts)
        out[kind] = (info, feats)
    return out


def corrupt(setups, strategy: Strategy, seed: int = 3, step: int = 5) -> dict[str, np.ndarray]:
    kind = "unigram" if "t5" in repr(strategy).lower() else "wordpiece"
    info, feats = setups[kind]
    out = Collator(info, strategy, seed=seed)([dict(f, _step=step) for f in feats])
    return {k: v.numpy() for k, v in out.items()}


def same_outputs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def through_yaml(spec):
    return yaml.safe_load(yaml.safe_dump(spec))


def test_every_registered_strategy_has_non_default_arguments_here():
    assert set(NON_DEFAULT) == set(STRATEGIES)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_round_trip_every_registered_strategy(setups, name):
    for args in ({}, NON_DEFAULT[name]):
        original = strategy_from_spec({"name": name, **args})
        spec = spec_of(original)
        assert spec["name"] == name
        rebuilt = strategy_from_spec(through_yaml(spec))  # plain data: survives YAML
        assert type(rebuilt) is type(original) and spec_of(rebuilt) == spec
        assert same_outputs(corrupt(setups, original), corrupt(setups, rebuilt))
    # the short form keeps only what differs from the defaults
    assert spec_of(strategy_from_spec(name), full=False) == name
    assert spec_of(original, full=False) == {"name": name, **NON_DEFAULT[name]}


def test_full_spec_spells_out_every_argument():
    assert spec_of(WholeWordMasking()) == {
        "name": "whole_word_masking",
        "rate": 0.15,
        "mask_prob": 0.8,
        "random_prob": 0.1,
    }


def test_compose_with_probs_from_yaml(setups):
    text = """
    strategy:
      compose:
        - sentence_permutation
        - {name: text_infilling, rate: 0.3, poisson_lambda: 3.5}
        - {name: token_masking, rate: {linear: [0.3, 0.15, 1000]}}
      probs: [1.0, 0.5, 0.25]
    """
    s = strategy_from_spec(yaml.safe_load(text)["strategy"])
    assert isinstance(s, Compose) and s.probs == [1.0, 0.5, 0.25]
    first, second, third = s.strategies
    assert isinstance(first, SentencePermutation)
    assert isinstance(second, TextInfilling) and second.poisson_lambda == 3.5 and second.rate(0) == 0.3
    assert isinstance(third, TokenMasking) and isinstance(third.rate, Linear) and third.rate.steps == 1000
    spec = spec_of(s, full=False)
    assert spec == {
        "compose": [
            "sentence_permutation",
            {"name": "text_infilling", "poisson_lambda": 3.5},
            {"name": "token_masking", "rate": {"linear": [0.3, 0.15, 1000]}},
        ],
        "probs": [1.0, 0.5, 0.25],
    }
    for form in (spec, spec_of(s)):
        assert same_outputs(corrupt(setups, s), corrupt(setups, strategy_from_spec(through_yaml(form))))
    # probs default to 1 and are then left out of the short form
    plain = strategy_from_spec({"compose": ["sentence_permutation", "text_infilling"]})
    assert plain.probs == [1.0, 1.0]
    assert spec_of(plain, full=False) == {"compose": ["sentence_permutation", "text_infilling"]}


def test_plus_joined_names_are_a_compose(setups):
    s = strategy_from_spec("sentence_permutation + text_infilling")
    assert isinstance(s, Compose) and [type(m) for m in s.strategies] == [SentencePermutation, TextInfilling]
    same = Compose([SentencePermutation(), TextInfilling()])
    assert same_outputs(corrupt(setups, s), corrupt(setups, same))


@pytest.mark.parametrize(
    "form",
    [
        {"linear": [0.3, 0.15, 100]},
        {"linear": {"start": 0.3, "end": 0.15, "steps": 100}},
        "linear(0.3, 0.15, 100)",
        "LINEAR(0.3,0.15,1e2)",
        Linear(0.3, 0.15, 100),
    ],
)
def test_linear_schedule_forms(form):
    s = strategy_from_spec({"name": "whole_word_masking", "rate": form})
    assert isinstance(s.rate, Linear)
    assert (s.rate.start, s.rate.end, s.rate.steps) == (0.3, 0.15, 100)
    assert s.rate(50) == pytest.approx(0.225)
    assert spec_of(s)["rate"] == {"linear": [0.3, 0.15, 100]}


def test_build_strategy_is_the_spec_parser():
    s = build_strategy("token_masking", rate={"linear": [0.3, 0.15, 10]}, exact=True)
    assert isinstance(s, TokenMasking) and isinstance(s.rate, Linear) and s.exact
    assert isinstance(build_strategy("whole_word_masking", rate=0.2).rate, Constant)
    with pytest.raises(ConfigError, match="unknown strategy 'masking'.*token_masking"):
        build_strategy("masking")
    obj = TokenMasking()
    assert strategy_from_spec(obj) is obj  # a strategy object passes through


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nope", "strategy: unknown strategy 'nope'; choose one of: token_masking"),
        ("token_masking+nope", "strategy: unknown strategy 'nope' in 'token_masking+nope'"),
        ("token_masking+", "strategy: empty strategy name in 'token_masking+'"),
        (42, "strategy: expected a strategy name"),
        (["token_masking"], "strategy: expected a strategy name"),
        ({"rate": 0.3}, "strategy: a strategy mapping needs 'name' or 'compose'"),
        (
            {"name": "token_masking", "colour": "red"},
            "strategy.colour: bad arguments for token_masking: unknown argument 'colour'; it takes: rate,",
        ),
        ({"name": "token_masking", "rate": "high"}, "strategy.rate: expected a number, {linear:"),
        ({"name": "token_masking", "rate": 1.5}, "strategy.rate: rate must be in [0.0, 1.0], got 1.5"),
        ({"name": "token_masking", "exact": "yes"}, "strategy.exact: expected true or false, got 'yes'"),
        ({"name": "span_masking", "max_span": 2.5}, "strategy.max_span: expected a whole number, got 2.5"),
        ({"name": "word_replacement", "source": 3}, "strategy.source: expected a string, got 3"),
        ({"name": "word_replacement", "source": "zipf"}, "strategy.source: source must be one of"),
        (
            {"name": "token_masking", "mask_prob": 0.9, "random_prob": 0.2},
            "strategy: mask_prob + random_prob",
        ),
        (
            {"name": "token_masking", "rate": {"linear": [0.3, 0.15]}},
            "strategy.rate.linear: expected [START, END",
        ),
        ({"name": "token_masking", "rate": {"linear": [0.3, 0.1, 0]}}, "strategy.rate.linear: STEPS must be"),
        ({"name": "token_masking", "rate": {"linear": [0.3, 1.5, 9]}}, "strategy.rate: rate must be in"),
        ({"name": "token_masking", "rate": {"cosine": [0.3, 0.1]}}, "strategy.rate: expected a number"),
        (
            {"name": "token_masking", "rate": "linear(a, b, c)"},
            "strategy.rate: linear(START, END, STEPS) needs",
        ),
        ({"compose": []}, "strategy.compose: expected a non-empty list"),
        ({"compose": "token_masking"}, "strategy.compose: expected a non-empty list"),
        (
            {"compose": ["token_masking"], "rate": 0.3},
            "strategy: a compose spec takes only 'compose' and 'probs'",
        ),
        ({"compose": ["token_masking"], "probs": [0.5, 0.5]}, "strategy.probs: expected a list of 1"),
        ({"compose": ["token_masking"], "probs": [1.5]}, "strategy.probs[0]: expected a number in [0, 1]"),
        (
            {"compose": ["sentence_permutation", {"name": "text_infilling", "rate": 1.5}]},
            "strategy.compose[1].rate: rate must be in [0.0, 1.0], got 1.5",
        ),
        ({"compose": ["token_masking", {"nme": "x"}]}, "strategy.compose[1]: a strategy mapping needs"),
    ],
)
def test_bad_specs_are_one_line_errors_with_their_path(spec, message):
    with pytest.raises(ConfigError) as info:
        strategy_from_spec(spec)
    text = info.value.message
    assert text.startswith(message), text
    assert "\n" not in text


def test_spec_of_refuses_what_plain_data_cannot_say():
    class Custom(Strategy):
        pass

    class Cosine(Schedule):
        def __call__(self, step: int) -> float:
            return 0.2

    with pytest.raises(ConfigError, match="Custom has no spec form"):
        spec_of(Custom())
    with pytest.raises(ConfigError, match="only Constant and Linear"):
        spec_of(TokenMasking(rate=Cosine()))
