"""Fault injection: real SIGKILLs of pretraining runs (at random steps across two epoch boundaries, while a
checkpoint is written, while old ones are pruned), every kind of damage to a checkpoint file, a torn log line,
and a second run pointed at an existing run directory.

Each killed run is resumed with ``--resume latest``; the stitched run must log every per-step loss and write
final weights bit for bit equal to an uninterrupted run. Kills come from ``TEXTSSL_FAULT`` (the process
SIGKILLs itself at a named point, see ``textssl.training.checkpoint._fault_point``) and from this test killing a
``textssl pretrain`` subprocess with SIGKILL from outside at a random moment. The figures (kills injected and
resumed identically, damaged checkpoints and detected) are printed at the end of the module.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from textssl.errors import CheckpointError
from textssl.training.checkpoint import list_checkpoints, resolve_resume, verify_checkpoint, write_manifest

# 41 training blocks of 64 tokens, batch 8: 5 optimizer steps per epoch, so 13 steps cross two epoch
# boundaries (after steps 5 and 10). Checkpoints every 3 steps, 2 kept: pruning happens during the run.
RUN = {
    "data": "synthetic:40",
    "max-length": "64",
    "batch-size": "8",
    "max-steps": "13",
    "save-every": "3",
    "keep-checkpoints": "2",
    "log-every": "1",
    "eval-every": "100",
    "eval-batches": "1",
    # A model small enough that a step and a checkpoint take milliseconds: the fault paths are what is tested.
    "model-overrides": "num_hidden_layers=1,hidden_size=32,intermediate_size=64,num_attention_heads=2",
    "report-to": "none",
}
STEPS_PER_EPOCH, TOTAL = 5, 13
FIGURES = {"kills": 0, "resumed_identically": 0, "damaged": 0, "detected": 0}


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    line = (
        f"fault injection: {FIGURES['kills']} kills injected, {FIGURES['resumed_identically']} resumed "
        f"identically; {FIGURES['damaged']} damaged checkpoints, {FIGURES['detected']} detected"
    )
    print("\n" + line)
    if os.environ.get("TEXTSSL_FAULT_REPORT"):
        Path(os.environ["TEXTSSL_FAULT_REPORT"]).write_text(json.dumps(FIGURES) + "\n")


def argv(out: Path, *extra: str, **options: str) -> list[str]:
    args = ["pretrain"]
    for key, value in {**RUN, **options}.items():
        args += [f"--{key}", value]
    return [*args, "--no-progress", "--output-dir", str(out), *extra]


def _child(args: list[str], fault: str | None, log: str) -> None:
    """A forked `textssl pretrain`: one thread (as the reference), output to a file, the fault hook armed."""
    import torch

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    # pytest may have replaced sys.stdout/err with its capture objects: write to the file, line by line.
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.pop("TEXTSSL_FAULT", None)
    if fault:
        os.environ["TEXTSSL_FAULT"] = fault
    torch.set_num_threads(1)
    from textssl.cli import main

    code = main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(args: list[str], fault: str | None = None) -> int:
    """Run ``textssl`` in a forked process (no import cost); returns its exit code (-9 when SIGKILLed)."""
    import matplotlib.pyplot  # noqa: F401  (imported once here, not in every child that plots its loss)
    import transformers  # noqa: F401

    out = Path(args[args.index("--output-dir") + 1])
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = multiprocessing.get_context("fork").Process(
        target=_child, args=(args, fault, str(out.parent / f"{out.name}.out"))
    )
    proc.start()
    proc.join(timeout=300)
    return proc.exitcode


def losses(run_dir: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    return {r["step"]: r["loss"] for r in records if "loss" in r and "event" not in r}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def latest_good_step(run_dir: Path) -> int:
    return int(resolve_resume("latest", run_dir, warn=lambda m: None).name.split("_")[1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("faults") / "reference"
    assert run(argv(out)) == 0, (out.parent / "reference.out").read_text()[-3000:]
    assert sorted(losses(out)) == list(range(1, TOTAL + 1))
    return out


def test_sigkill_at_random_steps_resumes_bit_identically(reference, tmp_path):
    rng = random.Random(9)
    ref = losses(reference)
    out = tmp_path / "run"
    kills = 0

    def check_prefix():
        got = losses_tolerant(out)
        assert got == {s: ref[s] for s in got}, "a resumed segment logged a different loss"

    # 1. A real `textssl pretrain` subprocess, SIGKILLed from outside at a random moment after step k0 (late in
    # epoch 0 or early in epoch 1, once the first checkpoint is written): maybe mid-step, maybe mid-save.
    k0 = rng.randint(4, 6)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TEXTSSL_FAULT", None)
    cmd = [sys.executable, "-m", "textssl.cli", *argv(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while proc.poll() is None and time.time() < deadline:
        if (out / "log.jsonl").exists() and max(losses_tolerant(out), default=0) >= k0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=60)
    kills += proc.returncode == -signal.SIGKILL
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    check_prefix()

    # 2. Killed right after a random step of epoch 1 (the step is logged, its checkpoint not yet written).
    start = latest_good_step(out)
    k1 = rng.randint(max(start + 1, STEPS_PER_EPOCH), 2 * STEPS_PER_EPOCH)
    assert run(argv(out, "--resume", "latest"), fault=f"step:{k1}") == -9
    kills += 1
    assert max(losses_tolerant(out)) == k1
    check_prefix()

    # 3. Killed while writing its first checkpoint (model and state written, manifest not yet).
    before = latest_good_step(out)
    assert run(argv(out, "--resume", "latest"), fault="checkpoint:1") == -9
    kills += 1
    tmp = list((out / "checkpoints").glob(".step_*.tmp"))
    assert tmp and not (tmp[0] / "manifest.json").exists()
    assert latest_good_step(out) == before  # the half-written checkpoint is not a candidate
    check_prefix()

    # 4. Killed in the middle of pruning (old checkpoint renamed aside, not yet deleted).
    assert run(argv(out, "--resume", "latest"), fault="prune:1") == -9
    kills += 1
    assert list((out / "checkpoints").glob(".trash-step_*"))
    assert all((d / "manifest.json").is_file() for d in list_checkpoints(out))
    check_prefix()

    # 5. Killed after a random step of epoch 2, with a torn last line in the log (a kill mid-write).
    start = latest_good_step(out)
    k2 = rng.randint(max(start + 1, 2 * STEPS_PER_EPOCH + 1), TOTAL - 1)
    assert run(argv(out, "--resume", "latest"), fault=f"step:{k2}") == -9
    kills += 1
    with open(out / "log.jsonl", "a") as fh:
        fh.write('{"step": 12, "loss": 3.1')
    check_prefix_tolerant = losses_tolerant(out)
    assert max(check_prefix_tolerant) >= k2

    # 6. Resumed to the end.
    assert run(argv(out, "--resume", "latest")) == 0, (tmp_path / "run.out").read_text()[-3000:]
    got = losses(out)  # every line parses again: the torn one was cut on resume
    assert got == ref  # every per-step loss, bit for bit
    assert sha(out / "model" / "model.safetensors") == sha(reference / "model" / "model.safetensors")
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == [f"step_{TOTAL - 1}", f"step_{TOTAL}"]  # leftovers of the killed write and prune are gone
    FIGURES["kills"] += kills
    FIGURES["resumed_identically"] += kills
    assert kills >= 4


def losses_tolerant(run_dir: Path) -> dict[int, float]:
    """Losses of a log that may end in a torn line (a run killed mid-write)."""
    out = {}
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "loss" in r and "event" not in r:
            out[r["step"]] = r["loss"]
    return out


# --------------------------------------------------------------------------- damaged checkpoints


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _replace_rng(path: Path) -> None:
    older = sorted(path.parents[2].glob("step_*/training_state/random_states_0.pkl"))[0]
    assert older != path
    shutil.copyfile(older, path)  # a valid pickle, from another step


DAMAGE = {
    "rng_missing": ("training_state/random_states_0.pkl", lambda p: p.unlink()),
    "rng_truncated": ("training_state/random_states_0.pkl", _truncate),
    "rng_replaced": ("training_state/random_states_0.pkl", _replace_rng),
    "state_model_truncated": ("training_state/model.safetensors", _truncate),
    "optimizer_truncated": ("training_state/optimizer.bin", _truncate),
    "weights_truncated": ("model.safetensors", _truncate),
    "trainer_state_truncated": ("trainer_state.json", _truncate),
    "run_config_edited": ("run_config.json", lambda p: p.write_text(p.read_text().replace("64", "32"))),
    "tokenizer_missing": ("tokenizer.json", lambda p: p.unlink()),
    "manifest_missing": ("manifest.json", lambda p: p.unlink()),
    "manifest_truncated": ("manifest.json", _truncate),
}


@pytest.fixture(scope="module")
def stopped(reference, tmp_path_factory) -> Path:
    """A run stopped at step 9 (epoch 1) with intact checkpoints step_6 and step_9."""
    out = tmp_path_factory.mktemp("stopped") / "run"
    assert run(argv(out, "--stop-at-step", "9")) == 0
    assert [p.name for p in list_checkpoints(out)] == ["step_6", "step_9"]
    return out


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_every_damaged_checkpoint_file_is_detected(stopped, tmp_path, damage):
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    rel, apply = DAMAGE[damage]
    newest = out / "checkpoints" / "step_9"
    apply(newest / rel)
    FIGURES["damaged"] += 1
    # Named explicitly: a one-line CheckpointError naming the file.
    with pytest.raises(CheckpointError) as err:
        verify_checkpoint(newest)
    assert rel.split("/")[-1] in str(err.value) and "\n" not in str(err.value)
    # --resume latest: skipped with a warning naming the file, the previous good checkpoint is used.
    warnings = []
    assert resolve_resume("latest", out, warn=warnings.append).name == "step_6"
    assert len(warnings) == 1 and rel.split("/")[-1] in warnings[0] and "step_9" in warnings[0]
    FIGURES["detected"] += 1


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_named_damaged_checkpoint_stops_with_one_line_and_writes_nothing(stopped, tmp_path, capsys, damage):
    from textssl.cli import main

    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    rel, apply = DAMAGE[damage]
    apply(out / "checkpoints" / "step_9" / rel)
    log_before = (out / "log.jsonl").read_bytes()
    FIGURES["damaged"] += 1
    capsys.readouterr()
    assert main(argv(out, "--resume", str(out / "checkpoints" / "step_9"))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("textssl pretrain: error: checkpoint ") and rel.split("/")[-1] in err[-1]
    assert not any("Traceback" in line for line in err)
    assert (out / "log.jsonl").read_bytes() == log_before  # nothing was cut or written
    assert [p.name for p in list_checkpoints(out)] == ["step_6", "step_9"]
    assert not (out / "checkpoints" / ".step_12.tmp").exists()
    FIGURES["detected"] += 1


def test_resume_latest_with_no_intact_checkpoint_is_one_line(stopped, tmp_path, capsys):
    from textssl.cli import main

    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    for step in (6, 9):
        (out / "checkpoints" / f"step_{step}" / "training_state" / "random_states_0.pkl").unlink()
    FIGURES["damaged"] += 2
    capsys.readouterr()
    assert main(argv(out, "--resume", "latest")) == 2
    err = capsys.readouterr()
    last = err.err.strip().splitlines()[-1]
    assert last.startswith("textssl pretrain: error: --resume latest: none of the 2 checkpoints under ")
    assert "random_states_0.pkl" in last and "Traceback" not in err.err
    assert err.out.count("warning: skipping checkpoint") == 2
    FIGURES["detected"] += 2


def test_resume_latest_falls_back_past_a_damaged_checkpoint_and_stays_exact(reference, stopped, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    _truncate(out / "checkpoints" / "step_9" / "training_state" / "optimizer.bin")
    FIGURES["damaged"] += 1
    assert run(argv(out, "--resume", "latest")) == 0
    assert "skipping checkpoint step_9" in (tmp_path / "run.out").read_text()
    assert "optimizer.bin" in (tmp_path / "run.out").read_text()
    FIGURES["detected"] += 1
    assert losses(out) == losses(reference)
    assert sha(out / "model" / "model.safetensors") == sha(reference / "model" / "model.safetensors")


def test_unloadable_state_that_matches_its_manifest_is_a_one_line_error(stopped, tmp_path, capsys):
    from textssl.cli import main

    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    ckpt = out / "checkpoints" / "step_9"
    opt = ckpt / "training_state" / "optimizer.bin"
    opt.write_bytes(b"not a torch file" * 100)
    write_manifest(ckpt)  # damage the manifest cannot see: the load itself fails
    FIGURES["damaged"] += 1
    capsys.readouterr()
    assert main(argv(out, "--resume", "latest")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("textssl pretrain: error: could not load the training state ")
    assert "step_9/training_state" in err[-1] and not any("Traceback" in line for line in err)
    FIGURES["detected"] += 1


# --------------------------------------------------------------------------- a run directory belongs to its run


def test_pretrain_refuses_a_non_empty_output_dir(stopped, tmp_path, capsys):
    from textssl.cli import main

    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    (out / "notes.txt").write_text("mine")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    capsys.readouterr()
    assert main(argv(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"textssl pretrain: error: --output-dir {out} is not empty")
    assert "--resume latest" in err[-1] and "--overwrite" in err[-1]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing touched

    # --overwrite deletes only what a textssl run wrote; the new run's checkpoints are its own.
    assert run(argv(out, "--overwrite", "--max-steps", "4")) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in list_checkpoints(out)] == ["step_3", "step_4"]
    assert sorted(losses(out)) == [1, 2, 3, 4]
    assert not list(out.glob(".textssl-overwritten*"))
