"""A run directory belongs to its run: what a run writes there, when a new run may start in it, and what
``--overwrite`` deletes (only what a textssl run wrote; anything else in the directory is left alone).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from textssl.errors import OutputExistsError
from textssl.training.config import PretrainConfig

# What a textssl run writes into its output_dir: the only things --overwrite deletes.
RUN_OUTPUTS = ("log.jsonl", "checkpoints", "model", "loss.png", "tb")
_RUN_TEMPS = re.compile(r"^\.(model|log|loss)\..*(tmp|old).*$|^\.textssl-overwritten.*$")


def check_output_dir(cfg: PretrainConfig) -> list[Path]:
    """A run directory belongs to its run: refuse a non-empty ``output_dir`` unless resuming or overwriting.

    Returns what ``--overwrite`` will delete (only the files and folders a textssl run writes; anything else in
    the directory is left alone). Checked before anything is written, on every process.
    """
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--output-dir {out} is a file, not a directory", hint="choose another path")
    if cfg.resume or not out.is_dir():
        return []
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return []
    if not cfg.overwrite:
        shown = ", ".join(entries[:4]) + (", ..." if len(entries) > 4 else "")
        raise OutputExistsError(
            f"--output-dir {out} is not empty ({shown}); a new run would mix with what is there",
            hint="continue that run with --resume latest, or start afresh with --overwrite "
            "(deletes only what a textssl run wrote there)",
        )
    return [out / n for n in entries if n in RUN_OUTPUTS or _RUN_TEMPS.match(n)]


def delete_run_outputs(paths: list[Path]) -> None:
    """Delete an earlier run's outputs: each is first renamed aside, so a kill here never leaves half of one."""
    for path in paths:
        trash = path.parent / f".textssl-overwritten-{path.name}"
        if path.name.startswith(".textssl-overwritten"):
            trash = path
        elif trash.exists():
            _rm(trash)
        if trash != path:
            os.replace(path, trash)
        _rm(trash)


def _rm(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def run_config(cfg: PretrainConfig, num_processes: int) -> dict[str, Any]:
    """The run's options as saved in every checkpoint (``run_config.json``), JSON-normalised."""
    return json.loads(json.dumps({**asdict(cfg), "world_size": num_processes}, default=str))
