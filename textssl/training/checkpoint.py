"""Crash-safe checkpoints: a complete Hugging Face model directory plus the Accelerate training state.

Layout of ``<output_dir>/checkpoints/step_<N>/``::

    config.json  model.safetensors  tokenizer files  README.md (model card)   <- AutoModel*.from_pretrained
    trainer_state.json                                                           <- step, epoch, batch in epoch
    run_config.json                                                              <- the run's options
    training_state/                                                              <- accelerator.save_state
        model.safetensors  optimizer.bin  random_states_<rank>.pkl (one per process)
    manifest.json                                                                <- written last

Why it is safe:

* A checkpoint is built in a hidden temp directory and renamed into the ``step_N`` namespace in one step, so a
  kill while writing leaves only a ``.step_N.tmp`` directory, which is never resumed from and is removed later.
* ``manifest.json`` is written last and lists every file with its size, plus a sha256 of the small files
  (json, tokenizer files, RNG pickles). A checkpoint is resumed from only if the manifest is present and every
  file matches it, so a truncated, missing or replaced file is found before anything is loaded.
* Pruning first renames an old checkpoint out of the namespace (``.trash-step_N``), then deletes it, so a kill
  during pruning never leaves a half-deleted ``step_N``; leftover trash is removed by the next prune.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from textssl.errors import CheckpointError, InputFileError

STATE_FILE = "trainer_state.json"
ACCELERATE_DIR = "training_state"
MANIFEST_FILE = "manifest.json"
RUN_CONFIG_FILE = "run_config.json"
_STEP_DIR = re.compile(r"^step_(\d+)$")
# Big tensor files are checked by size only (hashing them would cost as much as writing them); everything else
# (json, tokenizer files, RNG pickles, model card) is small and also gets a sha256.
_SIZE_ONLY_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_LEFTOVER = re.compile(r"^\.(trash-step_\d+.*|step_\d+\.tmp.*|step_\d+\.old)$")

# Options that fix the model, the data order or the batch layout: a resumed run must use the same values, or it
# would load mismatched weights or continue a different data order. Others (lr, max_steps, logging, ...) may be
# changed on resume.
RESUME_MUST_MATCH = (
    "objective",
    "arch",
    "size",
    "model_overrides",
    "objective_args",
    "strategy",
    "strategy_args",
    "tokenizer",
    "data",
    "data_args",
    "eval_data",
    "eval_fraction",
    "max_length",
    "pack_mode",
    "batch_size",
    "grad_accum",
    "mixed_precision",
    "seed",
    "world_size",
)

logger = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Where the run is: enough to continue with exactly the same data order."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # the epoch the next micro-batch comes from
    batch_in_epoch: int = 0  # micro-batches of that epoch already consumed (per process)
    tokens: int = 0  # real (non-pad) input tokens seen, all processes
    elapsed: float = 0.0  # training seconds before this process started
    nan_skips: int = 0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainState:
        try:
            values = json.loads(Path(path).read_text())
            known = {f.name for f in fields(cls)}
            if not isinstance(values, dict) or not known >= set(values):
                raise ValueError("not a mapping of TrainState fields")
            return cls(**values)
        except (OSError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint file {path} is damaged ({exc})") from None


# --------------------------------------------------------------------------- manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(directory: Path) -> Path:
    """Write ``manifest.json`` (every file's size, sha256 of the small ones) as the last file of a checkpoint."""
    directory = Path(directory)
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel == MANIFEST_FILE:
            continue
        entry: dict[str, Any] = {"size": path.stat().st_size}
        if not path.name.endswith(_SIZE_ONLY_SUFFIXES):
            entry["sha256"] = _sha256(path)
        files[rel] = entry
    target = directory / MANIFEST_FILE
    target.write_text(json.dumps({"files": files}, indent=1, sort_keys=True) + "\n")
    _fsync(target)
    return target


def verify_checkpoint(directory: Path) -> dict[str, Any]:
    """Check a checkpoint against its manifest; return its run config, or raise CheckpointError naming the file.

    Every file in the manifest must exist with the recorded size (and sha256 for small files), and the RNG state
    of every process that wrote it (``random_states_<rank>.pkl``, one per rank of the saved world size) must be
    there: a run resumed without it would silently draw different dropout masks.
    """
    directory = Path(directory)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise CheckpointError(f"checkpoint {directory} is incomplete: {manifest_path} is missing")
    try:
        files = json.loads(manifest_path.read_text())["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint file {manifest_path} is damaged ({exc})") from None
    for rel in (STATE_FILE, RUN_CONFIG_FILE, f"{ACCELERATE_DIR}/model.safetensors"):
        if rel not in files:
            raise CheckpointError(
                f"checkpoint {directory} is incomplete: {directory / rel} is not in its manifest"
            )
    for rel, entry in files.items():
        path = directory / rel
        if not path.is_file():
            raise CheckpointError(f"checkpoint file {path} is missing")
        size = path.stat().st_size
        if size != entry.get("size"):
            raise CheckpointError(
                f"checkpoint file {path} is damaged: {size} bytes, the manifest says {entry.get('size')}"
            )
        if "sha256" in entry and _sha256(path) != entry["sha256"]:
            raise CheckpointError(
                f"checkpoint file {path} is damaged: its sha256 differs from the manifest's"
            )
    run_config = read_run_config(directory)
    for rank in range(int(run_config.get("world_size", 1))):
        rel = f"{ACCELERATE_DIR}/random_states_{rank}.pkl"
        if rel not in files:
            raise CheckpointError(
                f"checkpoint {directory} is incomplete: RNG state {directory / rel} is missing"
            )
    return run_config


def read_run_config(directory: Path) -> dict[str, Any]:
    """The options a checkpoint's run was started with (``run_config.json``)."""
    path = Path(directory) / RUN_CONFIG_FILE
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict):
            raise ValueError("not a mapping")
        return saved
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint file {path} is damaged ({exc})") from None


# --------------------------------------------------------------------------- finding and choosing checkpoints


def list_checkpoints(output_dir: Path) -> list[Path]:
    """The ``step_N`` directories under ``output_dir/checkpoints``, oldest first (not verified)."""
    root = Path(output_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for d in root.iterdir():
        m = _STEP_DIR.match(d.name)
        if m and d.is_dir():
            found.append((int(m.group(1)), d))
    return [d for _, d in sorted(found)]


def checkpoint_step(path: Path) -> int | None:
    m = _STEP_DIR.match(Path(path).name)
    return int(m.group(1)) if m else None


def resolve_resume(resume: str, output_dir: Path, warn=None) -> Path:
    """Turn ``--resume latest`` or a path into a verified checkpoint directory.

    ``latest``: the newest checkpoint whose manifest checks out; damaged or incomplete ones are skipped with a
    warning (through ``warn``) naming the bad file. A named checkpoint that is damaged is an error.
    """
    warn = warn or logger.warning
    if resume == "latest":
        ckpts = list_checkpoints(output_dir)
        if not ckpts:
            raise InputFileError(
                f"--resume latest: no checkpoint under {Path(output_dir) / 'checkpoints'}",
                hint="start without --resume, or point --output-dir at the earlier run",
            )
        problems = []
        for ckpt in reversed(ckpts):
            try:
                verify_checkpoint(ckpt)
                return ckpt
            except CheckpointError as exc:
                warn(f"warning: skipping checkpoint {ckpt.name}: {exc}")
                problems.append(str(exc))
        raise CheckpointError(
            f"--resume latest: none of the {len(ckpts)} checkpoints under {Path(output_dir) / 'checkpoints'} "
            f"is intact (newest: {problems[0]})",
            hint="start again with --overwrite",
        )
    path = Path(resume)
    if not path.is_dir():
        raise InputFileError(
            f"--resume {resume}: no such checkpoint directory",
            hint="use 'latest' or a directory under <output_dir>/checkpoints/",
        )
    verify_checkpoint(path)
    return path


def check_run_config(ckpt: Path, current: dict[str, Any]) -> None:
    """Refuse to resume with options that change the model or the data order; list every field that differs."""
    saved = read_run_config(ckpt)
    differ = [
        f"{k}: checkpoint {saved.get(k)!r}, now {current.get(k)!r}"
        for k in RESUME_MUST_MATCH
        if k in saved and saved.get(k) != current.get(k)
    ]
    if differ:
        raise CheckpointError(
            f"cannot resume from {ckpt}: the run was started with other options ({'; '.join(differ)})",
            hint="resume with the checkpoint's values, or start a new run in another --output-dir",
        )


# --------------------------------------------------------------------------- deleting, crash-safely


def _unused(path: Path) -> Path:
    """``path``, else ``path.1``, ``path.2``, ...: the first of them that does not exist yet."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _remove(path: Path) -> None:
    """Move ``path`` out of the ``step_N`` namespace (one atomic rename), then delete it."""
    trash = _unused(path.parent / f".trash-{path.name}")
    os.replace(path, trash)
    _fault_point("prune")
    shutil.rmtree(trash, ignore_errors=True)


def clean_leftovers(output_dir: Path, keep: Path | None = None) -> None:
    """Delete what killed runs left behind: trash from a prune, unfinished ``.step_N.tmp`` directories."""
    root = Path(output_dir) / "checkpoints"
    if not root.is_dir():
        return
    for d in root.iterdir():
        if _LEFTOVER.match(d.name) and d != keep:
            shutil.rmtree(d, ignore_errors=True)


def prune_checkpoints(output_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints (renamed out of the namespace first), and old leftovers."""
    clean_leftovers(output_dir)
    for old in list_checkpoints(output_dir)[:-keep]:
        _remove(old)


def set_aside_newer(output_dir: Path, step: int) -> list[Path]:
    """When resuming from an earlier checkpoint, move later ones out of the namespace (kept, not deleted).

    Otherwise the abandoned run's newer checkpoints would be what ``--resume latest`` picks next, and pruning
    would delete the new run's checkpoints first.
    """
    moved = []
    for ckpt in list_checkpoints(output_dir):
        n = checkpoint_step(ckpt)
        if n is not None and n > step:
            target = _unused(ckpt.parent / f"superseded-{ckpt.name}")
            os.replace(ckpt, target)
            moved.append(target)
    return moved


# --------------------------------------------------------------------------- fault injection (tests)


def _fault_point(name: str, value: int | None = None) -> None:
    """SIGKILL this process at a named point when ``TEXTSSL_FAULT`` says so (tests/test_faults.py).

    ``TEXTSSL_FAULT=name:K`` kills when the point is reached with ``value == K`` (e.g. ``step:7``: right after
    step 7 is logged) or, for points without a value, the K-th time it is reached (``checkpoint:2``: while
    writing the second checkpoint, before its manifest; ``prune:1``: in the first prune, after the rename and
    before the delete). A real SIGKILL: no cleanup handler runs. Costs one environment lookup per call.
    """
    spec = os.environ.get("TEXTSSL_FAULT")
    if not spec:
        return
    target, _, count = spec.partition(":")
    if target != name:
        return
    if value is None:
        value = _FAULT_COUNTS[name] = _FAULT_COUNTS.get(name, 0) + 1
    if value == int(count or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


_FAULT_COUNTS: dict[str, int] = {}
