"""Unit tests for the pieces of the pretraining engine that need no data: configs, schedules, models,
checkpoint directories."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from textssl import TokenizerInfo, load_tokenizer
from textssl.atomic import atomic_dir
from textssl.models import ARCHITECTURES, SIZES, build_config, max_positions
from textssl.training.checkpoint import (
    TrainState,
    list_checkpoints,
    prune_checkpoints,
    resolve_resume,
    write_manifest,
)
from textssl.training.config import PretrainConfig, load_config
from textssl.training.schedules import lr_factor

CONFIG_DIR = Path(__file__).resolve().parent.parent / "recipes" / "configs"


@pytest.fixture(scope="module")
def info() -> TokenizerInfo:
    return TokenizerInfo.from_tokenizer(load_tokenizer("wordpiece"))


@pytest.mark.parametrize("kind", ["linear", "cosine", "wsd", "constant"])
def test_schedules_warm_up_then_decay(kind):
    assert lr_factor(kind, 0.0, warmup=0.1) == 0.0
    assert lr_factor(kind, 0.05, warmup=0.1) == pytest.approx(0.5)
    assert lr_factor(kind, 0.1, warmup=0.1) == pytest.approx(1.0)
    end = lr_factor(kind, 1.0, warmup=0.1)
    assert end == (1.0 if kind == "constant" else pytest.approx(0.0, abs=1e-9))
    values = [lr_factor(kind, p / 100, warmup=0.1) for p in range(10, 101)]
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:])), "must not increase after warmup"


def test_wsd_is_flat_until_decay():
    assert lr_factor("wsd", 0.5, warmup=0.1, decay=0.2) == 1.0
    assert lr_factor("wsd", 0.9, warmup=0.1, decay=0.2) == pytest.approx(0.5)


def test_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        lr_factor("step", 0.5)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_architecture_builds_at_tiny(arch):
    tok = load_tokenizer(
        "unigram" if arch == "t5" else "bpe" if arch in ("gpt2", "llama", "bart") else "wordpiece"
    )
    info = TokenizerInfo.from_tokenizer(tok)
    cfg = build_config(arch, "tiny", info, max_length=128)
    assert cfg.vocab_size == info.vocab_size
    hidden = getattr(cfg, "hidden_size", None) or getattr(cfg, "d_model", None) or cfg.n_embd
    assert hidden == 128
    limit = max_positions(cfg)
    assert limit is None or limit >= 128


def test_size_presets_follow_turc_et_al(info):
    expected = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768)}
    for name, (layers, hidden) in expected.items():
        cfg = build_config("bert", name, info)
        assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (
            layers,
            hidden,
            hidden // 64,
        )
    assert set(SIZES) == set(expected)


def test_overrides_and_bad_values(info):
    cfg = build_config("bert", "tiny", info, overrides={"num_hidden_layers": 3, "hidden_dropout_prob": 0.0})
    assert cfg.num_hidden_layers == 3 and cfg.hidden_dropout_prob == 0.0
    with pytest.raises(ValueError, match="not a field of BertConfig"):
        build_config("bert", "tiny", info, overrides={"num_layerz": 3})
    with pytest.raises(ValueError, match="unknown model size 'huge'.*tiny, mini"):
        build_config("bert", "huge", info)
    with pytest.raises(ValueError, match="unknown architecture 'xlnet'"):
        build_config("xlnet", "tiny", info)


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


def test_atomic_dir_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as d:
        (d / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"

    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as d:
        (d / "a.txt").write_text("partial")
        raise KeyboardInterrupt
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_checkpoint_listing_resume_and_pruning(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        resolve_resume("latest", tmp_path)
    for step in (5, 10, 15):
        d = tmp_path / "checkpoints" / f"step_{step}"
        (d / "training_state").mkdir(parents=True)
        TrainState(step=step).save(d / "trainer_state.json")
        (d / "run_config.json").write_text('{"world_size": 1}')
        (d / "training_state" / "model.safetensors").write_bytes(b"weights")
        (d / "training_state" / "random_states_0.pkl").write_bytes(b"rng")
        write_manifest(d)
    (tmp_path / "checkpoints" / ".step_20.tmp").mkdir()  # an interrupted save is never picked
    (tmp_path / "checkpoints" / ".trash-step_1").mkdir()  # a killed prune's leftover goes at the next prune
    assert resolve_resume("latest", tmp_path).name == "step_15"
    with pytest.raises(ValueError, match="manifest.json is missing"):
        resolve_resume(str(tmp_path), tmp_path)
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_10", "step_15"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_10", "step_15"]
    assert TrainState.load(tmp_path / "checkpoints" / "step_15" / "trainer_state.json").step == 15


def test_sparse_mlm_matches_dense_loss():
    from transformers import BertConfig, BertForMaskedLM

    from textssl.objectives.base import mlm_head, sparse_mlm

    torch.manual_seed(0)
    model = BertForMaskedLM(
        BertConfig(
            vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        )
    ).eval()
    ids = torch.randint(5, 50, (3, 12))
    labels = torch.full_like(ids, -100)
    labels[:, ::4] = ids[:, ::4]
    dense = model(input_ids=ids, labels=labels).loss
    hidden = model.bert(input_ids=ids).last_hidden_state
    sparse, logits, metrics = sparse_mlm(hidden, labels, mlm_head(model))
    assert torch.allclose(dense, sparse, atol=1e-5)
    assert logits.shape == (int((labels != -100).sum()), 50)
    assert int(metrics["mlm_count"]) == 9
