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


# --------------------------------------------------------------------------- exact resume at any kill point

# Smaller still, for the resume tests: a step and a checkpoint take milliseconds.
FAST = {"num_hidden_layers": 1, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2}
# 41 training blocks, batch 8: 5 optimizer steps per epoch; 14 steps are nearly three epochs.
EPOCHS = dict(data="synthetic:40", max_steps=14, save_every=1, eval_every=100, model_overrides=FAST)


def weights(result) -> list[torch.Tensor]:
    return [p.detach().clone() for p in result.model.parameters()]


def assert_identical(full, resumed) -> None:
    a, b = train_losses(full.output_dir), train_losses(resumed.output_dir)
    assert sorted(a) == sorted(b) == list(range(1, full.state.step + 1))
    assert a == b  # bit for bit, every step
    assert all(torch.equal(x, y) for x, y in zip(weights(full), weights(resumed)))


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory):
    return pretrain(tiny_config(tmp_path_factory.mktemp("full"), **EPOCHS))


def test_resume_is_exact_at_epoch_boundaries_and_several_epochs_in(three_epochs, tmp_path):
    # Stopped at the end of epoch 0, in the middle of epoch 1, and in epoch 2; each time resumed from latest.
    for stop in (5, 7, 12):
        resume = "latest" if stop != 5 else None
        result = pretrain(tiny_config(tmp_path, stop_at_step=stop, resume=resume, **EPOCHS))
        assert result.state.step == stop
        state = json.loads(
            (result.output_dir / "checkpoints" / f"step_{stop}" / "trainer_state.json").read_text()
        )
        assert (state["epoch"], state["batch_in_epoch"]) == ((stop - 1) // 5, (stop - 1) % 5 + 1)
    resumed = pretrain(tiny_config(tmp_path, resume="latest", **EPOCHS))
    assert_identical(three_epochs, resumed)


def test_resume_is_exact_with_dataloader_workers(three_epochs, tmp_path):
    # Corruption is seeded by rows and step, so 2 workers give the 0-worker run's losses, across epochs.
    pretrain(tiny_config(tmp_path, stop_at_step=8, num_workers=2, **EPOCHS))
    resumed = pretrain(tiny_config(tmp_path, resume="latest", num_workers=2, **EPOCHS))
    assert_identical(three_epochs, resumed)


def test_resume_is_exact_across_epochs_with_accumulation(tmp_path):
    kw = dict(EPOCHS, batch_size=4, grad_accum=2, max_steps=8)
    full = pretrain(tiny_config(tmp_path / "a", **kw))
    pretrain(tiny_config(tmp_path / "b", stop_at_step=6, **kw))
    resumed = pretrain(tiny_config(tmp_path / "b", resume="latest", **kw))
    assert_identical(full, resumed)


def test_streaming_resume_is_exact_across_epochs(tmp_path):
    from textssl.data import generate_corpus

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(generate_corpus(30, seed=3)) + "\n")
    kw = dict(
        data=str(corpus),
        data_args={"streaming": True, "shuffle_buffer": 8},
        max_steps=7,
        save_every=1,
        eval_batches=1,
        eval_every=100,
        model_overrides=FAST,
    )
    full = pretrain(tiny_config(tmp_path / "a", **kw))
    assert full.state.epoch >= 2  # the stream was read more than twice
    stopped = pretrain(tiny_config(tmp_path / "b", stop_at_step=4, **kw))
    assert stopped.state.epoch >= 1
    resumed = pretrain(tiny_config(tmp_path / "b", resume="latest", **kw))
    assert_identical(full, resumed)


def test_resuming_an_earlier_checkpoint_sets_the_later_ones_aside(three_epochs, tmp_path):
    pretrain(tiny_config(tmp_path, stop_at_step=9, keep_checkpoints=5, **EPOCHS))
    ckpts = tmp_path / "run" / "checkpoints"
    resumed = pretrain(tiny_config(tmp_path, resume=str(ckpts / "step_6"), keep_checkpoints=5, **EPOCHS))
    assert_identical(three_epochs, resumed)
    # The abandoned step_7..9 are kept under another name: never picked by --resume latest, never pruned first.
    assert sorted(p.name for p in ckpts.glob("superseded-*")) == [f"superseded-step_{s}" for s in (7, 8, 9)]
    assert sorted(int(p.name[5:]) for p in ckpts.glob("step_*")) == [10, 11, 12, 13, 14]


DDP_RESUME_SCRIPT = """
import hashlib, json, os, sys
import torch
from textssl.training.config import load_config
from textssl.training.pretrain import pretrain
base = json.loads(sys.argv[1])
rank = int(os.environ.get("RANK", "0"))
out = {}
for name, extra in (("full", {}), ("stopped", {"stop_at_step": 6}), ("resumed", {"resume": "latest"})):
    run_dir = base["output_dir"] + ("/full" if name == "full" else "/b")
    result = pretrain(load_config(overrides={**base, **extra, "output_dir": run_dir}))
    flat = torch.cat([p.detach().flatten() for p in result.model.parameters()])
    out[name] = hashlib.sha256(flat.numpy().tobytes()).hexdigest()
with open(os.path.join(base["output_dir"], f"rank{rank}.json"), "w") as fh:
    json.dump(out, fh)
"""


def test_two_rank_cpu_ddp_resumes_exactly_across_epochs(tmp_path):
    script = tmp_path / "ddp_resume.py"
    script.write_text(DDP_RESUME_SCRIPT)
    out = tmp_path / "ddp"
    out.mkdir()
    # 41 blocks, 2 ranks x batch 4: 5 steps per epoch; stopped in epoch 1 and resumed into epoch 2.
    overrides = dict(
        data="synthetic:40",
        max_length=64,
        batch_size=4,
        max_steps=11,
        log_every=1,
        eval_every=100,
        save_every=3,
        output_dir=str(out),
        report_to="none",
        progress=False,
        model_overrides=FAST,
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
        "29534",
        str(script),
        json.dumps(overrides),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1]  # the ranks agree
    assert ranks[0]["resumed"] == ranks[0]["full"]  # and the resumed run has the uninterrupted weights
    a, b = train_losses(out / "full"), train_losses(out / "b")
    assert sorted(a) == list(range(1, 12)) and a == b
    saved = out / "b" / "checkpoints" / "step_9" / "training_state"
    assert sorted(p.name for p in saved.glob("random_states_*.pkl")) == [
        "random_states_0.pkl",
        "random_states_1.pkl",
    ]


# --------------------------------------------------------------------------- one-line errors


def cli_error(capsys, *argv: str) -> str:
    """Run ``textssl`` in this process; assert exit code 2 and one error line, no traceback; return the line."""
    from textssl.cli import main

    capsys.readouterr()
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("textssl ")]
    assert len(lines) == 1, err
    return lines[0]


QUICK = ["--data", "synthetic:40", "--max-length", "64", "--batch-size", "8", "--no-progress"]
QUICK += [
    "--report-to",
    "none",
    "--eval-batches",
    "1",
    "--model-overrides",
    "num_hidden_layers=1,hidden_size=32",
]


def test_malformed_yaml_names_the_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("objective: mlm\nbatch_size: [8\nlr: 1e-3\n")
    line = cli_error(capsys, "pretrain", "--config", str(bad), "--output-dir", str(tmp_path / "out"))
    assert line.startswith(f"textssl pretrain: error: --config {bad}: line 3, column")
    assert "not valid YAML" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("yaml_line", "message"),
    [
        ("lr: fast", "option lr must be a number, got 'fast'"),
        ('batch_size: "8"', "option batch_size must be an integer, got '8'"),
        ("progress: maybe", "option progress must be true or false, got 'maybe'"),
        ("model_overrides: 3", "option model_overrides must be a mapping, got 3"),
    ],
)
def test_wrong_yaml_types_are_named(tmp_path, capsys, yaml_line, message):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"objective: mlm\n{yaml_line}\n")
    line = cli_error(capsys, "pretrain", "--config", str(cfg), "--output-dir", str(tmp_path / "out"))
    assert line == f"textssl pretrain: error: {message} (in {cfg}, line 2)"
    assert not (tmp_path / "out").exists()


def test_yaml_scientific_notation_without_a_dot_is_a_number(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("lr: 1e-3\nadam_eps: 1E-8\n")
    loaded = load_config(cfg)
    assert loaded.lr == 1e-3 and loaded.adam_eps == 1e-8


def test_resume_with_other_model_options_lists_the_fields(tmp_path, capsys):
    out = tmp_path / "run"
    pretrain(tiny_config(tmp_path, max_steps=2, save_every=2, model_overrides=FAST, data="synthetic:40"))
    log_before = (out / "log.jsonl").read_bytes()
    line = cli_error(
        capsys, "pretrain", *QUICK, "--max-steps", "4", "--size", "mini", "--max-length", "32",
        "--resume", "latest", "--output-dir", str(out),
    )  # fmt: skip
    assert line.startswith(f"textssl pretrain: error: cannot resume from {out / 'checkpoints' / 'step_2'}")
    assert "size: checkpoint 'tiny', now 'mini'" in line and "max_length: checkpoint 64, now 32" in line
    assert "model_overrides" in line
    assert (out / "log.jsonl").read_bytes() == log_before


def test_resume_latest_without_a_checkpoint_and_conflicting_flags(tmp_path, capsys):
    line = cli_error(capsys, "pretrain", *QUICK, "--resume", "latest", "--output-dir", str(tmp_path / "x"))
    assert line.startswith("textssl pretrain: error: --resume latest: no checkpoint under")
    assert not (tmp_path / "x").exists()
    line = cli_error(
        capsys, "pretrain", *QUICK, "--resume", "latest", "--overwrite", "--output-dir", str(tmp_path)
    )
    assert "options resume and overwrite contradict" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    line = cli_error(capsys, "pretrain", *QUICK, "--output-dir", str(tmp_path / "file"))
    assert line.startswith(f"textssl pretrain: error: --output-dir {tmp_path / 'file'} is a file")
    assert (tmp_path / "file").read_text() == "x"


def test_accelerate_cpu_launch_of_several_processes_is_refused(tmp_path):
    # `accelerate launch --cpu --num_processes 2` starts ONE process; training it as if it were two would be
    # a silent lie, so textssl stops before loading anything.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_CPU"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--quiet", "--cpu", "--num_processes", "2"]
    cmd += [
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "29535",
    ]
    cmd += [str(ROOT / "recipes" / "pretrain.py"), *QUICK, "--output-dir", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("textssl pretrain: error:")]
    assert len(lines) == 1 and "asked for several processes but started one" in lines[0], proc.stderr[-2000:]
    assert "cpu_ddp.yaml" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_yaml_option_is_named(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("objective: mlm\nbatchsize: 8\n")
    line = cli_error(capsys, "pretrain", "--config", str(cfg), "--output-dir", str(tmp_path / "out"))
    assert line.startswith(f"textssl pretrain: error: unknown option(s) batchsize (in {cfg}); known:")
    assert not (tmp_path / "out").exists()


def test_world_size_mismatch_is_refused(monkeypatch):
    # A multi-GPU launch on a machine without GPUs: torchrun says WORLD_SIZE=2, Accelerate runs alone.
    from types import SimpleNamespace

    from textssl.training.pretrain import check_world_size

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(TrainingError, match=r"runs 1 process\(es\) but WORLD_SIZE=2") as err:
        check_world_size(SimpleNamespace(num_processes=1))
    assert "cpu_ddp.yaml" in str(err.value)
    monkeypatch.setenv("WORLD_SIZE", "1")
    check_world_size(SimpleNamespace(num_processes=1))  # a plain single process is fine


SPEC_YAML = """\
objective: seq2seq
arch: bart
tokenizer: bpe
strategy:
  compose:
    - sentence_permutation
    - {name: text_infilling, rate: {linear: [0.4, 0.2, 4]}, poisson_lambda: 2.0}
  probs: [0.5, 1.0]
"""


def test_yaml_compose_strategy_with_a_schedule_trains_and_is_recorded(tmp_path):
    from textssl.corruption import Compose, Linear

    path = tmp_path / "bart.yaml"
    path.write_text(SPEC_YAML)
    base = tiny_config(tmp_path, objective="seq2seq", arch="bart", tokenizer="bpe")
    overrides = {
        k: v for k, v in vars(base).items() if k not in ("objective", "arch", "tokenizer", "strategy")
    }
    cfg = load_config(path, overrides)
    result = pretrain(cfg)
    expected = {
        "compose": [
            {"name": "sentence_permutation", "ratio": 1.0},
            {"name": "text_infilling", "rate": {"linear": [0.4, 0.2, 4]}, "poisson_lambda": 2.0},
        ],
        "probs": [0.5, 1.0],
    }
    config_event = next(r for r in read_log(result.output_dir / "log.jsonl") if r.get("event") == "config")
    assert config_event["strategy"] == yaml_spec(path)
    full = config_event["strategy_spec"]
    assert full["probs"] == [0.5, 1.0] and [m["name"] for m in full["compose"]] == [
        "sentence_permutation",
        "text_infilling",
    ]
    assert full["compose"][1]["rate"] == {"linear": [0.4, 0.2, 4]}
    saved = json.loads(next((result.output_dir / "checkpoints").glob("step_*/run_config.json")).read_text())
    assert saved["strategy"] == yaml_spec(path)
    card = (result.model_dir / "README.md").read_text()
    assert "text_infilling" in card and "linear" in card and "probs" in card
    from textssl.corruption import strategy_from_spec

    rebuilt = strategy_from_spec(expected)
    assert isinstance(rebuilt, Compose) and isinstance(rebuilt.strategies[1].rate, Linear)


def yaml_spec(path: Path):
    import yaml

    return yaml.safe_load(path.read_text())["strategy"]


def test_strategy_flag_takes_inline_yaml_and_bad_specs_are_one_line(tmp_path, capsys):
    from textssl.cli import main

    spec = "{name: whole_word_masking, rate: {linear: [0.3, 0.15, 100]}}"
    args = ["pretrain", "--strategy", spec, "--max-steps", "0", "--output-dir", str(tmp_path / "a")]
    assert main(args) == 2  # max-steps 0 is refused, but only after the spec parsed
    assert "max_steps" in capsys.readouterr().err
    bad = "{name: whole_word_masking, rate: 1.5}"
    assert main(["pretrain", "--strategy", bad, "--output-dir", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "strategy.rate" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "b").exists()
    both = [
        "pretrain",
        "--strategy",
        "a+b",
        "--strategy-args",
        "rate=0.2",
        "--output-dir",
        str(tmp_path / "c"),
    ]
    assert main(both) == 2
