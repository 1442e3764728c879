"""``PretrainConfig`` (``textssl.training.config``): the shipped recipe configs, defaults and option errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from textssl.training.config import PretrainConfig, load_config

CONFIG_DIR = Path(__file__).resolve().parent.parent / "recipes" / "configs"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CONFIG_DIR.glob("*.yaml") if not p.name.startswith(("glue", "compare"))),
    ids=lambda p: p.name,
)
def test_every_recipe_config_is_valid(path):
    cfg = load_config(path)
    assert cfg.output_dir.startswith("runs/")


def test_config_errors_name_the_option(tmp_path):
    with pytest.raises(ValueError, match=r"objective='mllm'.*mlm, clm, electra"):
        load_config(overrides={"objective": "mllm"})
    with pytest.raises(ValueError, match="unknown option.*batchsize"):
        load_config(overrides={"batchsize": 3})
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        load_config(overrides={"batch_size": 0})
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="mapping"):
        load_config(bad)


def test_config_defaults_are_valid():
    PretrainConfig().validate()
