"""prepare_dataset / get_blocks / load_prepared / unigram_counts / check_max_length and the `textssl data` CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import datasets
import numpy as np
import pytest

from textssl.cli import main
from textssl.data import (
    check_max_length,
    get_blocks,
    is_prepared_dir,
    load_prepared,
    prepare_dataset,
    prepared_info,
    unigram_counts,
)
from textssl.tokenization import TokenizerError, load_tokenizer


@pytest.fixture(scope="module")
def wordpiece():
    return load_tokenizer("wordpiece")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    docs = [f"Document {i} starts here. It has a second sentence! And a third?" for i in range(30)]
    path.write_text("\n\n".join(docs) + "\n")
    return path


def test_prepare_end_to_end(tmp_path: Path, corpus: Path, wordpiece) -> None:
    out = tmp_path / "prepared"
    blocks, summary = prepare_dataset(corpus, wordpiece, 32, cache_dir=tmp_path / "cache", output_dir=out)
    assert (summary.documents, summary.sentences) == (30, 90)
    assert summary.blocks == len(blocks) and summary.tokens == sum(
        np.array(blocks["document_ids"]).ravel() >= 0
    )
    assert summary.packing_efficiency > 0.97 and summary.split_lines == 0 and summary.seconds > 0
    text = str(summary)
    for key in ("documents", "sentences", "tokens", "blocks", "packing efficiency", "time"):
        assert key in text
    assert is_prepared_dir(out) and not [p for p in tmp_path.iterdir() if p.name.startswith(".prepared")]
    loaded = load_prepared(out)
    assert loaded["input_ids"] == blocks["input_ids"] and loaded["sentence_ids"] == blocks["sentence_ids"]
    meta = prepared_info(out)
    assert meta["summary"]["blocks"] == summary.blocks and meta["vocab_size"] == len(wordpiece)
    # get_blocks: prepared directory or raw source through one function
    again, s2 = get_blocks(out, wordpiece, 32)
    assert len(again) == len(blocks) and s2.blocks == summary.blocks
    raw, s3 = get_blocks(corpus, "wordpiece", 32, cache_dir=tmp_path / "cache")
    assert raw["input_ids"] == blocks["input_ids"] and s3.tokens == summary.tokens
    stream, none = get_blocks(corpus, wordpiece, 32, streaming=True, shuffle_buffer=0)
    assert none is None and [r["input_ids"] for r in stream] == blocks["input_ids"]
    with pytest.raises(ValueError, match="blocks of 32 tokens, but max_length=64"):
        get_blocks(out, wordpiece, 64)
    with pytest.raises(ValueError, match="different tokenizer"):
        get_blocks(out, load_tokenizer("bpe"), 32)


def test_output_is_atomic(tmp_path: Path, corpus: Path, wordpiece, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    prepare_dataset(corpus, wordpiece, 16, cache_dir=tmp_path / "cache", output_dir=out)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(FileExistsError, match="not empty.*pass overwrite=True"):
        prepare_dataset(corpus, wordpiece, 16, cache_dir=tmp_path / "cache", output_dir=out)

    def broken_save(self, path, *args, **kwargs):
        Path(path).mkdir(parents=True, exist_ok=True)  # like datasets (the target is an empty temp dir)
        (Path(path) / "partial.arrow").write_bytes(b"half")
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", broken_save)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(corpus, wordpiece, 8, cache_dir=tmp_path / "cache", output_dir=out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before  # the old result is intact
    assert load_prepared(out)[0]["input_ids"].__len__() == 16
    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(corpus, wordpiece, 8, cache_dir=tmp_path / "cache", output_dir=fresh)
    assert not fresh.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp directories left


def test_bad_inputs_are_clear(tmp_path: Path, corpus: Path, wordpiece) -> None:
    with pytest.raises(ValueError, match="max_length=1024 is longer than the model's 512 position"):
        check_max_length(1024, 512)
    assert check_max_length(128, 512) == 128
    with pytest.raises(ValueError, match="integer >= 2"):
        check_max_length(1, None)
    with pytest.raises(ValueError, match="max_length=600 is longer"):
        prepare_dataset(corpus, wordpiece, 600, max_positions=512, cache_dir=tmp_path / "cache")
    no_pad = load_tokenizer("wordpiece")
    no_pad.pad_token = None
    with pytest.raises(TokenizerError, match="document-mode packing needs a pad token"):
        prepare_dataset(corpus, no_pad, 16, mode="document", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="mode='sentences'"):
        prepare_dataset(corpus, wordpiece, 16, mode="sentences")
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Hi.")
    with pytest.raises(ValueError, match="do not fill one block"):
        prepare_dataset(tiny, wordpiece, 64, drop_last=True, cache_dir=tmp_path / "cache")
    with pytest.raises(FileNotFoundError):
        load_prepared(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a prepared dataset"):
        load_prepared(tmp_path)


def test_long_lines_counted_in_summary(tmp_path: Path, wordpiece) -> None:
    path = tmp_path / "long.txt"
    path.write_text("Short line.\n" + "word " * 5000 + "\n")
    _, summary = prepare_dataset(path, wordpiece, 64, max_line_chars=1000, cache_dir=tmp_path / "cache")
    assert summary.split_lines == 1 and summary.tokens > 5000


def test_unigram_counts(wordpiece) -> None:
    ds = datasets.Dataset.from_dict(
        {
            "input_ids": [[2, 5, 5, 0], [7, 5, 3, 3]],
            "document_ids": [[0, 0, 0, -1], [0, 0, 1, 1]],
            "sentence_ids": [[-1, 0, 0, -1], [0, 0, -1, -1]],
        }
    )
    counts = unigram_counts(ds, 10)
    assert counts.tolist() == [0, 0, 1, 2, 0, 3, 0, 1, 0, 0]  # the padding 0 is not counted
    with pytest.raises(ValueError, match="outside"):
        unigram_counts(ds, 6)
    stream = ds.to_iterable_dataset()
    assert unigram_counts(stream, 10).tolist() == counts.tolist()


def test_cli_prepare_and_synthetic(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "blocks"
    argv = ["data", "prepare", "--input", str(corpus), "--tokenizer", "wordpiece", "--max-length", "32"]
    assert main([*argv, "--output", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out
    assert "packing efficiency" in printed and "blocks" in printed and f"wrote {out}" in printed
    assert len(load_prepared(out)[0]["input_ids"]) == 32
    assert main([*argv, "--output", str(out)]) == 2  # exists: refused, nothing touched
    assert "not empty" in capsys.readouterr().err
    missing = ["data", "prepare", "--input", str(tmp_path / "nope.txt"), "--tokenizer", "wordpiece"]
    assert main([*missing, "--max-length", "8", "--output", str(tmp_path / "x")]) == 2
    assert "nope.txt: no such file" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

    syn = tmp_path / "syn"
    assert (
        main(
            [
                "data",
                "synthetic",
                "--output",
                str(syn),
                "--docs",
                "50",
                "--train-size",
                "40",
                "--dev-size",
                "20",
            ]
        )
        == 0
    )
    assert (syn / "corpus.txt").read_text().count("\n\n") == 50
    with open(syn / "SYN-CoLA" / "train.tsv", newline="") as fh:
        assert len(list(csv.reader(fh, delimiter="\t"))) == 40
    assert main(["data", "synthetic", "--output", str(syn), "--docs", "5"]) == 2


def test_unknown_reading_option_is_a_config_error(tmp_path: Path, corpus: Path) -> None:
    """A misspelt option (e.g. from a pretraining config's data_args) names itself and the valid options."""
    from textssl.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"unknown reading option\(s\) text_colum; the options are: text_column"
    ):
        get_blocks(corpus, "wordpiece", 16, text_colum="body", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()  # refused before anything was read
