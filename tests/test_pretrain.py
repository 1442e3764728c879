"""End-to-end pretraining on tiny configs: every objective, checkpoints that load as stock models, exact
resume, NaN handling, bad configuration errors, and 2-rank CPU DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from textssl.training.config import load_config
from textssl.training.pretrain import TrainingError, pretrain
from textssl.training.reporting import read_log

ROOT = Path(__file__).resolve().parent.parent
# A model small enough that a step takes milliseconds: the code paths are what is tested here.
SMALL = {"num_hidden_layers": 1}


def tiny_config(tmp_path: Path, **overrides):
    values = dict(
        objective="mlm",
        arch="bert",
        size="tiny",
        tokenizer="wordpiece",
        data="synthetic:120",
        max_length=64,
        batch_size=8,
        max_steps=4,
        log_every=1,
        eval_every=2,
        eval_batches=2,
        save_every=2,
        output_dir=str(tmp_path / "run"),
        report_to="none",
        progress=False,
        model_overrides=SMALL,
    )
    values.update(overrides)
    return load_config(overrides=values)


def train_losses(run_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_log(run_dir / "log.jsonl") if "loss" in r and "event" not in r}


OBJECTIVE_CASES = [
    ("mlm", "bert", "wordpiece", None, "AutoModelForMaskedLM", "mlm_acc"),
    ("mlm", "roberta", "bpe", "whole_word_masking", "AutoModelForMaskedLM", "mlm_acc"),
    ("mlm", "modernbert", "wordpiece", "span_masking", "AutoModelForMaskedLM", "mlm_acc"),
    ("clm", "gpt2", "bpe", None, "AutoModelForCausalLM", "perplexity"),
    ("clm", "llama", "bpe", None, "AutoModelForCausalLM", "perplexity"),
    ("electra", "electra", "wordpiece", None, "AutoModelForPreTraining", "rtd_acc"),
    ("sop", "bert", "wordpiece", None, "AutoModelForPreTraining", "sop_acc"),
    ("nsp", "bert", "wordpiece", None, "AutoModelForPreTraining", "nsp_acc"),
    ("seq2seq", "bart", "bpe", None, "AutoModelForSeq2SeqLM", "token_acc"),
    ("seq2seq", "t5", "unigram", None, "AutoModelForSeq2SeqLM", "token_acc"),
]


@pytest.mark.parametrize(
    ("objective", "arch", "tokenizer", "strategy", "auto_class", "metric"), OBJECTIVE_CASES
)
def test_every_objective_trains_and_saves_a_stock_model(
    tmp_path, objective, arch, tokenizer, strategy, auto_class, metric
):
    import transformers

    overrides = {}
    layer_key = {"gpt2": "n_layer", "bart": "encoder_layers", "t5": "num_layers"}.get(
        arch, "num_hidden_layers"
    )
    overrides[layer_key] = 1
    cfg = tiny_config(
        tmp_path,
        objective=objective,
        arch=arch,
        tokenizer=tokenizer,
        strategy=strategy,
        model_overrides=overrides,
    )
    result = pretrain(cfg)
    assert result.state.step == 4
    assert metric in result.eval_metrics
    assert all(torch.isfinite(torch.tensor(v)) for v in train_losses(result.output_dir).values())
    model_dir = result.model_dir
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "README.md").is_file()
    loaded = getattr(transformers, auto_class).from_pretrained(model_dir)
    assert loaded.config.vocab_size == result.model.config.vocab_size
    card = (model_dir / "README.md").read_text()
    assert "textssl" in card and objective in card
    if objective == "electra":
        assert type(loaded).__name__ == "ElectraForPreTraining"
        assert (model_dir / "generator" / "config.json").is_file()
    # Every pretrained checkpoint finetunes through the sequence-classification head.
    if objective != "seq2seq" or arch == "bart":
        clf = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
        assert clf.config.num_labels == 2
    assert (result.output_dir / "loss.png").is_file()


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path):
    # Dropout on, so the restored RNG state matters as much as the data order.
    full = pretrain(tiny_config(tmp_path / "a", max_steps=6, save_every=3))
    first = pretrain(tiny_config(tmp_path / "b", max_steps=6, save_every=3, stop_at_step=3))
    assert first.state.step == 3
    resumed = pretrain(tiny_config(tmp_path / "b", max_steps=6, save_every=3, resume="latest"))
    assert resumed.state.step == 6
    a, b = train_losses(full.output_dir), train_losses(resumed.output_dir)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        assert a[step] == pytest.approx(b[step], rel=1e-5, abs=1e-6), f"step {step}"
    for pa, pb in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_resume_mid_epoch_with_accumulation(tmp_path):
    kw = dict(max_steps=5, save_every=2, grad_accum=2, batch_size=4, data="synthetic:40")
    full = pretrain(tiny_config(tmp_path / "a", **kw))
    pretrain(tiny_config(tmp_path / "b", stop_at_step=2, **kw))
    resumed = pretrain(tiny_config(tmp_path / "b", resume="latest", **kw))
    a, b = train_losses(full.output_dir), train_losses(resumed.output_dir)
    assert a.keys() == b.keys()
    assert all(a[s] == pytest.approx(b[s], rel=1e-5) for s in a)


def test_nan_loss_is_skipped_then_stops_with_a_clear_error(tmp_path, monkeypatch):
    from textssl.objectives.mlm import MaskedLM

    real = MaskedLM.loss
    calls = {"n": 0}

    def flaky(self, model, batch):
        loss, metrics = real(self, model, batch)
        calls["n"] += 1
        return (loss * float("nan") if calls["n"] == 2 else loss), metrics

    monkeypatch.setattr(MaskedLM, "loss", flaky)
    result = pretrain(tiny_config(tmp_path, eval_every=100))
    assert result.state.nan_skips == 1 and result.state.step == 4
    events = [r for r in read_log(result.output_dir / "log.jsonl") if r.get("event") == "nan_skip"]
    assert len(events) == 1

    monkeypatch.setattr(MaskedLM, "loss", lambda self, m, b: (real(self, m, b)[0] * float("inf"), {}))
    with pytest.raises(TrainingError, match="NaN/Inf for 3 batches in a row.*lower lr"):
        pretrain(tiny_config(tmp_path / "inf", max_nan_skips=3))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"objective": "mlm", "strategy": "t5_span_corruption"}, "needs a masking strategy"),
        ({"objective": "clm", "arch": "bert"}, "does not support architecture 'bert'.*gpt2, llama"),
        (
            {
                "objective": "seq2seq",
                "arch": "t5",
                "tokenizer": "wordpiece",
                "strategy": "t5_span_corruption",
            },
            "sentinel",
        ),
        ({"strategy": "masking"}, "unknown strategy 'masking'.*token_masking"),
        ({"model_overrides": {"max_position_embeddings": 32, "num_hidden_layers": 1}}, "max_length"),
        ({"data": str(Path("/nonexistent/corpus.txt"))}, "corpus.txt"),
    ],
)
def test_bad_configuration_is_named(tmp_path, overrides, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        pretrain(tiny_config(tmp_path, **overrides))
    assert not (tmp_path / "run" / "model").exists()


def test_cli_reports_errors_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "textssl.cli", "pretrain", "--objective", "mlm", "--size", "gigantic"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "size='gigantic' is not valid" in proc.stderr and "Traceback" not in proc.stderr


DDP_SCRIPT = """
import hashlib, json, os, sys
import torch
from textssl.training.config import load_config
from textssl.training.pretrain import pretrain
cfg = load_config(overrides=json.loads(sys.argv[1]))
result = pretrain(cfg)
flat = torch.cat([p.detach().flatten() for p in result.model.parameters()])
rank = int(os.environ.get("RANK", "0"))
with open(os.path.join(cfg.output_dir, f"rank{rank}.json"), "w") as fh:
    json.dump({"sum": flat.double().sum().item(), "hash": hashlib.sha256(flat.numpy().tobytes()).hexdigest()}, fh)
"""


def test_two_rank_cpu_ddp_keeps_identical_weights(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP_SCRIPT)
    out = tmp_path / "ddp"
    overrides = dict(
        data="synthetic:120",
        max_length=64,
        batch_size=4,
        max_steps=3,
        eval_every=100,
        save_every=100,
        output_dir=str(out),
        report_to="none",
        progress=False,
        model_overrides=SMALL,
        eval_batches=1,
    )
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ROOT / "recipes" / "accelerate" / "cpu_ddp.yaml"),
        "--main_process_port",
        "29533",
        str(script),
        json.dumps(overrides),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["hash"] == ranks[1]["hash"]
    log = read_log(out / "log.jsonl")
    config = next(r for r in log if r.get("event") == "config")
    assert config["world_size"] == 2


def test_streaming_corpus_trains_and_resumes_exactly(tmp_path):
    from textssl.data import generate_corpus

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(generate_corpus(150, seed=3)) + "\n")
    kw = dict(
        data=str(corpus), data_args={"streaming": True, "shuffle_buffer": 50}, max_steps=4, save_every=2
    )
    full = pretrain(tiny_config(tmp_path / "a", **kw))
    pretrain(tiny_config(tmp_path / "b", stop_at_step=2, **kw))
    resumed = pretrain(tiny_config(tmp_path / "b", resume="latest", **kw))
    a, b = train_losses(full.output_dir), train_losses(resumed.output_dir)
    assert sorted(a) == [1, 2, 3, 4] and a.keys() == b.keys()
    assert all(a[s] == pytest.approx(b[s], rel=1e-5) for s in a)
    assert "mlm_acc" in full.eval_metrics
