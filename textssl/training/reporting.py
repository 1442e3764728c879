"""Run logs: a JSONL file that is always written (one record per line), and a PNG of the loss curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class RunLog:
    """Append-only JSONL log, written by the main process only."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

    def reset(self) -> None:
        if self.enabled and self.path.exists():
            self.path.unlink()

    def truncate_after(self, step: int) -> int:
        """On resume, drop records from after the checkpoint so the log reads as one uninterrupted run.

        A line that does not parse (the torn last line of a killed run) is dropped too. The shortened log is
        written atomically (temp file + rename), so a kill here leaves the old log or the new one. Returns the
        number of records dropped.
        """
        if not self.enabled or not self.path.exists():
            return 0
        from textssl.atomic import write_atomic

        keep, dropped = [], 0
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    dropped += 1
                    continue
                if not isinstance(record, dict):
                    dropped += 1
                elif record.get("step", 0) <= step or record.get("event") == "config":
                    keep.append(line if line.endswith("\n") else line + "\n")
                else:
                    dropped += 1
        write_atomic(self.path, "".join(keep))
        return dropped

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    """All records of a JSONL run log."""
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def plot_curves(log_path: Path, png_path: Path) -> Path | None:
    """Plot training loss (and eval loss when present) against steps; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_log(log_path) if Path(log_path).exists() else []
    train = [(r["step"], r["loss"]) for r in records if "loss" in r and "event" not in r]
    evals = [(r["step"], r["eval_loss"]) for r in records if "eval_loss" in r]
    if not train:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(*zip(*train), label="train loss")
    if evals:
        ax.plot(*zip(*evals), "o-", label="eval loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return Path(png_path)
