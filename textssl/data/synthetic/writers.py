"""Write the synthetic corpus (plain text) and tasks (GLUE TSV layouts), each atomically."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

from textssl.atomic import atomic_dir, atomic_file
from textssl.data.synthetic.corpus import generate_documents
from textssl.data.synthetic.tasks import TASKS, make_task
from textssl.errors import ConfigError
from textssl.finetuning.tasks import STSB_COLUMNS, synthetic_task_info


def _write_tsv(path: Path, header: Sequence[str] | None, rows: Sequence[Sequence], bom: bool = False) -> None:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def _write_task(task: str, out: Path, seed: int, sizes: dict[str, int], heldout: float) -> None:
    """Write one task's splits in the GLUE layout its registry entry names (``like``: cola, sst2, mrpc, stsb)."""
    layout = synthetic_task_info(task)["like"]
    out.mkdir(parents=True, exist_ok=True)
    for split, size in sizes.items():
        rows = make_task(
            task, "train" if split == "train" else "dev" if split == "dev" else "test", size, seed, heldout
        )
        path, test = out / f"{split}.tsv", split == "test"
        if test and layout in ("cola", "sst2"):
            _write_tsv(path, ("index", "sentence"), [(i, r["sentence"]) for i, r in enumerate(rows)])
        elif layout == "cola":  # headerless: source, label, the author's mark ("*" = unacceptable), sentence
            body = [(r["source"], r["label"], "" if r["label"] else "*", r["sentence"]) for r in rows]
            _write_tsv(path, None, body)
        elif layout == "sst2":
            _write_tsv(path, ("sentence", "label"), [(r["sentence"], r["label"]) for r in rows])
        elif layout == "mrpc":
            first = "index" if test else "Quality"
            body = [
                (i if test else r["label"], r["id1"], r["id2"], r["sentence1"], r["sentence2"])
                for i, r in enumerate(rows)
            ]
            _write_tsv(path, (first, "#1 ID", "#2 ID", "#1 String", "#2 String"), body, bom=not test)
        elif layout == "stsb":
            _write_tsv(
                path,
                STSB_COLUMNS[: -1 if test else None],
                [_stsb_row(i, r, test) for i, r in enumerate(rows)],
            )
        else:
            raise ConfigError(f"synthetic task {task!r}: no writer for the {layout!r} layout")


def _stsb_row(i: int, r: dict, test: bool) -> list:
    """A row of STS-B's ten columns (test rows without the score)."""
    row = [i, "main-synthetic", "SYN", "2024", f"{i:04d}", "none", "none", r["sentence1"], r["sentence2"]]
    return row if test else [*row, f"{r['score']:.3f}"]


def write_tasks(
    output_dir: str | os.PathLike,
    seed: int = 0,
    train_size: int = 500,
    dev_size: int = 300,
    test_size: int | None = None,
    heldout: float = 0.5,
    tasks: Sequence[str] = TASKS,
) -> dict[str, Path]:
    """Write the synthetic GLUE-style tasks under ``output_dir/<task>/{train,dev,test}.tsv``.

    Layouts follow real GLUE: ``SYN-CoLA`` like CoLA (no header: source, label, ``*`` for unacceptable,
    sentence), ``SYN-SST`` like SST-2 (``sentence\\tlabel``), ``SYN-MRPC`` like MRPC (UTF-8 BOM header
    ``Quality #1 ID #2 ID #1 String #2 String``), ``SYN-STS`` like STS-B (10 columns ending in ``score``).
    ``test.tsv`` files are unlabeled, as in GLUE. Labels are balanced; ``heldout`` is the fraction of
    dev/test examples built from nouns (and adjectives) that the training split never uses. Each task
    directory is written atomically, with a ``task.json`` describing the task from its entry in the task registry
    (:func:`textssl.finetuning.tasks.synthetic_task_info`: the GLUE layout it follows, text columns, label
    names, metrics). Returns ``{task: directory}``.
    """
    if train_size < 2 or dev_size < 2:
        raise ConfigError("train_size and dev_size must be at least 2")
    if not 0.0 <= heldout <= 1.0:
        raise ConfigError(f"heldout must be in [0, 1], got {heldout}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {"train": train_size, "dev": dev_size, "test": dev_size if test_size is None else test_size}
    written: dict[str, Path] = {}
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(f"unknown synthetic task {task!r}; choose one of {', '.join(TASKS)}")
        with atomic_dir(out / task) as tmp:
            _write_task(task, tmp, seed, sizes, heldout)
            info = {"task": task, "seed": seed, "heldout": heldout, **synthetic_task_info(task)}
            (tmp / "task.json").write_text(json.dumps(info, indent=1))
        written[task] = out / task
    return written


def write_corpus(path: str | os.PathLike, num_documents: int, seed: int = 0) -> Path:
    """Write ``num_documents`` documents to a text file, separated by blank lines (``doc_mode="blank_line"``)."""
    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for doc in generate_documents(0, num_documents, seed):
            fh.write(doc)
            fh.write("\n\n")
    return path
