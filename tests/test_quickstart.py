"""``textssl quickstart`` end to end on a small corpus and budget, and its option checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textssl.cli import main


def test_quickstart_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "qs"
    code = main(
        [
            "quickstart",
            "--output",
            str(out),
            "--budget-minutes",
            "0.1",
            "--seeds",
            "1",
            "--tasks",
            "syn-sst",
            "--documents",
            "300",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| syn-sst | acc |" in printed and "random-init" in printed
    # the pretrained checkpoint is a complete ModernBERT directory with mean pooling for classification
    model_dir = out / "pretrain" / "model"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "modernbert"
    assert config["classifier_pooling"] == "mean"
    assert (model_dir / "model.safetensors").exists()
    # the synthetic vocabulary is small (one token per word of the language)
    vocab = json.loads((out / "tokenizer" / "tokenizer.json").read_text())["model"]["vocab"]
    assert 300 < len(vocab) <= 1000
    results = json.loads((out / "glue" / "results.json").read_text())
    runs = json.dumps(results)
    assert "pretrained" in runs and "random-init" in runs
    assert (out / "glue" / "results.md").exists()
    for split in ("train", "dev", "test"):
        assert (out / "tasks" / "SYN-SST" / f"{split}.tsv").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--budget-minutes", "0"], "--budget-minutes must be > 0"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--documents", "5"], "--documents must be >= 100"),
        (["--tasks", "syn-cola,sst2"], "unknown synthetic task(s) sst2; choose from syn-cola"),
    ],
)
def test_quickstart_rejects_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["quickstart", "--output", str(tmp_path / "qs"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "qs").exists()  # nothing written before the options are checked
