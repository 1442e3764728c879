"""The ``textssl corrupt`` preview command."""

from __future__ import annotations

import pytest

from textssl.cli import main
from textssl.commands.corrupt import make_features, parse_params, parse_value
from textssl.corruption import STRATEGIES, Linear
from textssl.tokenization import TokenizerInfo, load_tokenizer

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was unbelievably fast! Nobody saw it coming.\n\n"
    "A second document starts here. It has two sentences."
)


def corrupt(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["corrupt", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_whole_word_masking_preview(capsys):
    code, out, _ = corrupt(capsys, "--strategy", "whole_word_masking", "--param", "rate=0.5", TEXT)
    assert code == 0
    assert "WholeWordMasking(rate=Constant(0.5)" in out
    assert "original : [CLS] the quick brown fox" in out
    assert "[MASK]{" in out  # masked positions show their target
    assert "2 documents" in out


def test_every_registered_strategy_previews(capsys):
    for name in STRATEGIES:
        code, out, err = corrupt(capsys, "--strategy", name, TEXT)
        assert code == 0, (name, err)
        assert "corrupted:" in out, name


def test_t5_defaults_to_unigram_and_shows_sentinels(capsys):
    code, out, _ = corrupt(capsys, "--strategy", "t5_span_corruption", "--param", "noise_density=0.3", TEXT)
    assert code == 0
    assert "tokenizer: unigram" in out
    assert "<extra_id_0>" in out and "target   :" in out


def test_replacement_marks_replaced_tokens(capsys):
    code, out, _ = corrupt(
        capsys, "--strategy", "word_replacement", "--param", "rate=0.5", "--tokenizer", "bpe", TEXT
    )
    assert code == 0
    assert "*" in out.split("corrupted:")[1] and "replaced :" in out


def test_unigram_source_estimates_counts_from_text(capsys):
    code, out, _ = corrupt(capsys, "--strategy", "word_replacement", "--param", "source=unigram", TEXT)
    assert code == 0 and "estimated from this text" in out


def test_sentence_labels_and_compose(capsys):
    code, out, _ = corrupt(capsys, "--strategy", "sentence_order", TEXT)
    assert code == 0 and "next_sentence_label:" in out and "token_type_ids:" in out
    code, out, _ = corrupt(
        capsys,
        "--strategy",
        "sentence_permutation+text_infilling",
        "--param",
        "text_infilling.rate=0.3",
        TEXT,
    )
    assert code == 0 and "Compose(" in out and "target   :" in out


def test_causal_lm_and_token_table(capsys):
    code, out, _ = corrupt(
        capsys, "--strategy", "causal_lm", "--param", "respect_documents=true", "--tokens", TEXT
    )
    assert code == 0
    assert "next-token prediction" in out and "no loss at position(s)" in out
    assert "pos  original" in out


def test_file_input_blocks_and_seed(capsys, tmp_path):
    path = tmp_path / "doc.txt"
    path.write_text(TEXT * 5, encoding="utf-8")
    code, out1, _ = corrupt(
        capsys, "--strategy", "token_masking", "--max-length", "32", "--seed", "3", str(path)
    )
    assert code == 0 and "block 0" in out1 and "block 2" in out1
    _, out2, _ = corrupt(
        capsys, "--strategy", "token_masking", "--max-length", "32", "--seed", "3", str(path)
    )
    _, out3, _ = corrupt(
        capsys, "--strategy", "token_masking", "--max-length", "32", "--seed", "4", str(path)
    )
    assert out1 == out2 and out1 != out3


def test_step_drives_schedules(capsys):
    args = ["--strategy", "token_masking", "--param", "rate=linear(0.9,0.0,10)", TEXT]
    _, early, _ = corrupt(capsys, "--step", "0", *args)
    _, late, _ = corrupt(capsys, "--step", "10", *args)
    body = [out.split("\nblock 0")[1] for out in (early, late)]
    assert body[0].count("{") > 10 and body[1].count("{") == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--strategy", "nope", TEXT], "unknown strategy"),
        (["--strategy", "token_masking", "--param", "rate", TEXT], "KEY=VALUE"),
        (["--strategy", "token_masking", "--param", "rate=2", TEXT], "rate"),
        (["--strategy", "token_masking", "--param", "colour=red", TEXT], "bad arguments"),
        (["--strategy", "a+b", "--param", "rate=0.1", TEXT], "unknown strategy"),
        (["--strategy", "token_masking+causal_lm", "--param", "rate=0.1", TEXT], "prefix the strategy name"),
        (["--strategy", "token_masking", "missing.txt"], "no such file"),
        (["--strategy", "token_masking", "   "], "empty"),
        (["--strategy", "token_masking", "--max-length", "1", TEXT], "max-length"),
    ],
)
def test_errors_are_clear(capsys, args, message):
    code, _, err = corrupt(capsys, *args)
    assert code == 2
    assert message in err


def test_parsing_helpers():
    assert parse_value("0.3") == 0.3 and parse_value("3") == 3 and parse_value("True") is True
    assert (
        parse_value("none") is None
        and parse_value("[1, 2]") == [1, 2]
        and parse_value("unigram") == "unigram"
    )
    sched = parse_value("linear(0.3, 0.15, 100)")
    assert isinstance(sched, Linear) and sched(100) == pytest.approx(0.15)
    assert parse_params(["a.x=1", "b.y=z"], ["a", "b"]) == {"a": {"x": 1}, "b": {"y": "z"}}


def test_features_follow_the_packing_contract():
    tok = load_tokenizer("wordpiece")
    info = TokenizerInfo.from_tokenizer(tok)
    feats = make_features(tok, info, TEXT, max_length=20)
    assert [len(f["input_ids"]) for f in feats] == [20, 17]
    first = feats[0]
    assert first["document_ids"][0] == 0
    s = [x for x in first["sentence_ids"] if x >= 0]
    assert s[0] == 0 and all(b - a in (0, 1) for a, b in zip(s, s[1:]))  # consecutive from 0
    assert all(x == -1 for x, t in zip(first["sentence_ids"], first["input_ids"]) if info.special[t])
    second = feats[1]
    assert second["document_ids"][0] == 0 and max(second["document_ids"]) == 1


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_sentence_ids_follow_sentence_boundaries(kind):
    tok = load_tokenizer(kind)
    info = TokenizerInfo.from_tokenizer(tok)
    feat = make_features(tok, info, "The fox ran. It was fast! Nobody saw.", max_length=64)[0]
    tokens = tok.convert_ids_to_tokens(feat["input_ids"])
    by_word = {t.lstrip("Ġ▁").lower(): s for t, s in zip(tokens, feat["sentence_ids"])}
    assert (by_word["fox"], by_word["it"], by_word["was"], by_word["nobody"]) == (0, 1, 1, 2)


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_preview_blocks_are_training_blocks(kind, tmp_path):
    """The preview packs with textssl.data's own pipeline: the blocks equal pack(tokenize_documents(...)) on a
    file holding the same text (the old private splitter cut after "Mr." and before lower-case words)."""
    from textssl.data import load_documents, pack, tokenize_documents

    tok = load_tokenizer(kind)
    info = TokenizerInfo.from_tokenizer(tok)
    text = TEXT + "\n\nMr. Smith paid $3.14 for it. did he? Yes!\n  \n\nLast one."
    path = tmp_path / "same.txt"
    path.write_text(text, encoding="utf-8")
    blocks, _ = pack(
        tokenize_documents(load_documents(path, cache_dir=tmp_path / "cache"), tok), 24, pad_id=info.pad_id
    )
    feats = make_features(tok, info, text, max_length=24)
    assert [f["_index"] for f in feats] == list(range(len(blocks)))
    for feat, block in zip(feats, blocks):
        n = len(feat["input_ids"])
        for key in ("input_ids", "document_ids", "sentence_ids"):
            assert feat[key] == list(block[key])[:n]
        assert all(d == -1 for d in list(block["document_ids"])[n:])  # only the padding was cut off
    assert len(feats[-1]["input_ids"]) < 24  # the last block is not padded in the preview
    mr = make_features(tok, info, "Mr. Smith paid $3.14 for it. did he? Yes!", max_length=64)[0]
    assert max(mr["sentence_ids"]) == 1  # "Mr. Smith ... it. did he?" is one sentence, "Yes!" the second


def _spec_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("spec     :"))[
        len("spec     :") :
    ].strip()


def test_spec_line_is_the_yaml_the_flags_stand_for(capsys):
    flags = [
        "--strategy",
        "sentence_permutation+token_masking",
        "--param",
        "token_masking.rate=linear(0.5,0.1,10)",
    ]
    code, out, _ = corrupt(capsys, *flags, "--step", "4", TEXT)
    assert code == 0
    line = _spec_line(out)
    assert line == "{compose: [sentence_permutation, {name: token_masking, rate: {linear: [0.5, 0.1, 10]}}]}"
    # the same YAML through --spec previews exactly the same batch
    code, again, _ = corrupt(capsys, "--spec", line, "--step", "4", TEXT)
    assert code == 0 and again == out


def test_spec_from_a_pretraining_config_file(capsys, tmp_path):
    config = tmp_path / "bart.yaml"
    config.write_text(
        "objective: bart\n"
        "strategy:\n"
        "  compose:\n"
        "    - sentence_permutation\n"
        "    - {name: text_infilling, rate: 0.4, poisson_lambda: 3.5}\n"
        "  probs: [1.0, 0.5]\n",
        encoding="utf-8",
    )
    code, out, _ = corrupt(capsys, "--spec", str(config), TEXT)
    assert code == 0 and "target   :" in out
    assert _spec_line(out) == (
        "{compose: [sentence_permutation, {name: text_infilling, rate: 0.4, poisson_lambda: 3.5}], "
        "probs: [1.0, 0.5]}"
    )
    old_style = tmp_path / "mlm.yaml"
    old_style.write_text("strategy: whole_word_masking\nstrategy_args: {rate: 0.5}\n", encoding="utf-8")
    code, out, _ = corrupt(capsys, "--spec", str(old_style), TEXT)
    assert code == 0 and _spec_line(out) == "{name: whole_word_masking, rate: 0.5}"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--spec", "{compose: [sentence_permutation, {name: text_infilling, rate: 1.5}]}"],
            "strategy.compose[1].rate: rate must be in [0.0, 1.0], got 1.5",
        ),
        (
            ["--spec", "{name: token_masking, colour: red}"],
            "strategy.colour: bad arguments for token_masking",
        ),
        (["--spec", "{name: token_masking", "--seed", "1"], "--spec: not valid YAML"),
        (["--spec", "missing.yaml"], "--spec missing.yaml: no such file"),
        (
            ["--spec", "token_masking", "--strategy", "token_masking"],
            "--spec replaces --strategy and --param",
        ),
        ([], "give --strategy NAME"),
    ],
)
def test_spec_errors_are_one_line(capsys, args, message):
    code, out, err = corrupt(capsys, *args, TEXT)
    assert code == 2
    assert err.startswith(f"textssl corrupt: error: {message}"), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and out == ""
