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


def _write_tsv(path: Path, header: Sequence[str] | None, rows: Sequence[Sequence], bom: bool = False) -> None:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def _write_task(task: str, out: Path, seed: int, sizes: dict[str, int], heldout: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, size in sizes.items():
        rows = make_task(
            task, "train" if split == "train" else "dev" if split == "dev" else "test", size, seed, heldout
        )
        path = out / f"{split}.tsv"
        test = split == "test"
        if task == "SYN-CoLA":
            if test:
                _write_tsv(path, ("index", "sentence"), [(i, r["sentence"]) for i, r in enumerate(rows)])
            else:
                _write_tsv(
                    path,
                    None,
                    [(r["source"], r["label"], "" if r["label"] else "*", r["sentence"]) for r in rows],
                )
        elif task == "SYN-SST":
            if test:
                _write_tsv(path, ("index", "sentence"), [(i, r["sentence"]) for i, r in enumerate(rows)])
            else:
                _write_tsv(path, ("sentence", "label"), [(r["sentence"], r["label"]) for r in rows])
        elif task == "SYN-MRPC":
            first = "index" if test else "Quality"
            body = [
                (i if test else r["label"], r["id1"], r["id2"], r["sentence1"], r["sentence2"])
                for i, r in enumerate(rows)
            ]
            _write_tsv(path, (first, "#1 ID", "#2 ID", "#1 String", "#2 String"), body, bom=not test)
        else:
            from textssl.glue import STSB_COLUMNS

            header = list(STSB_COLUMNS[:-1])
            body = []
            for i, r in enumerate(rows):
                row = [
                    i,
                    "main-synthetic",
                    "SYN",
                    "2024",
                    f"{i:04d}",
                    "none",
                    "none",
                    r["sentence1"],
                    r["sentence2"],
                ]
                if not test:
                    row.append(f"{r['score']:.3f}")
                body.append(row)
            _write_tsv(path, header + ([] if test else [STSB_COLUMNS[-1]]), body)


TASK_INFO = {
    "SYN-CoLA": {"like": "cola", "labels": [0, 1], "metric": "matthews_correlation", "columns": ["sentence"]},
    "SYN-SST": {"like": "sst2", "labels": [0, 1], "metric": "accuracy", "columns": ["sentence"]},
    "SYN-MRPC": {
        "like": "mrpc",
        "labels": [0, 1],
        "metric": "f1/accuracy",
        "columns": ["#1 String", "#2 String"],
    },
    "SYN-STS": {
        "like": "stsb",
        "labels": None,
        "metric": "pearson/spearman",
        "columns": ["sentence1", "sentence2"],
    },
}


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
    directory is written atomically. Returns ``{task: directory}``.
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
            (tmp / "task.json").write_text(
                json.dumps({"task": task, "seed": seed, "heldout": heldout, **TASK_INFO[task]}, indent=1)
            )
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
