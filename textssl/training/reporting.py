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


def plot_curves(log_path: Path, png_path: Path, title: str | None = None) -> Path | None:
    """Plot training loss and eval loss against steps, titled with the run's name; returns the PNG path.

    Eval points are drawn with markers (and the last one labelled with its value), so a run with one or two
    evaluations still shows them. Drawn on a private ``Figure`` with the Agg canvas, so the caller's (e.g. a
    notebook's) matplotlib backend is left alone. ``title`` defaults to the run directory's name.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from textssl.atomic import atomic_file
    from textssl.hub import run_name

    records = read_log(log_path) if Path(log_path).exists() else []
    train = [(r["step"], r["loss"]) for r in records if "loss" in r and "event" not in r]
    evals = sorted({r["step"]: r["eval_loss"] for r in records if "eval_loss" in r}.items())
    if not train and not evals:
        return None
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if train:
        ax.plot(*zip(*train), label="train loss", zorder=2)
    if evals:
        ax.plot(
            *zip(*evals),
            "o-",
            markersize=6,
            label=f"eval loss ({len(evals)} point{'s' * (len(evals) != 1)})",
            zorder=3,
        )
        step, value = evals[-1]
        ax.annotate(f"{value:.3f}", (step, value), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title or run_name(Path(log_path).parent))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_file(Path(png_path)) as tmp:
        fig.savefig(tmp, dpi=100)
    return Path(png_path)
