"""Atomic checkpoints: a complete Hugging Face model directory plus the Accelerate training state.

Layout of ``<output_dir>/checkpoints/step_<N>/``::

    config.json  model.safetensors  tokenizer files  README.md (model card)   <- AutoModel*.from_pretrained
    trainer_state.json                                                           <- step, epoch, tokens, ...
    training_state/                                                              <- accelerator.save_state

Everything is written to a hidden temp directory next to the target and renamed into place
(``textssl.atomic.replace_dir``), so a run killed at any moment leaves either the previous checkpoint or the
new one, never a half-written directory.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from textssl.errors import InputFileError

STATE_FILE = "trainer_state.json"
ACCELERATE_DIR = "training_state"
_STEP_DIR = re.compile(r"^step_(\d+)$")


@dataclass
class TrainState:
    """Where the run is: enough to continue with exactly the same data order."""

    step: int = 0  # optimizer steps done
    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed
    tokens: int = 0  # real (non-pad) input tokens seen, all processes
    elapsed: float = 0.0  # training seconds before this process started
    nan_skips: int = 0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainState:
        return cls(**json.loads(path.read_text()))


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints under ``output_dir/checkpoints``, oldest first."""
    root = Path(output_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for d in root.iterdir():
        m = _STEP_DIR.match(d.name)
        if m and (d / STATE_FILE).is_file() and (d / ACCELERATE_DIR).is_dir():
            found.append((int(m.group(1)), d))
    return [d for _, d in sorted(found)]


def resolve_resume(resume: str, output_dir: Path) -> Path:
    """Turn ``--resume latest`` or a path into a checkpoint directory, with a clear error if there is none."""
    if resume == "latest":
        ckpts = list_checkpoints(output_dir)
        if not ckpts:
            raise InputFileError(
                f"--resume latest: no checkpoint under {Path(output_dir) / 'checkpoints'}; "
                "start without --resume or point --output-dir at the earlier run"
            )
        return ckpts[-1]
    path = Path(resume)
    if not (path / STATE_FILE).is_file() or not (path / ACCELERATE_DIR).is_dir():
        raise InputFileError(
            f"--resume {resume}: not a textssl checkpoint (needs {STATE_FILE} and {ACCELERATE_DIR}/); "
            "use 'latest' or a directory under <output_dir>/checkpoints/"
        )
    return path


def prune_checkpoints(output_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for old in list_checkpoints(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
