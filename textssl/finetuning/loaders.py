"""Load a registered task into the shape of ``nyu-mll/glue``, from the Hub, a GLUE directory or your own files.

Three sources:

* the Hugging Face Hub (``nyu-mll/glue`` with the task's config) -- :func:`load_task` with no ``data_dir``;
* a local directory in the original GLUE TSV layout (as written by GLUE's download script; CoLA's missing
  header, MRPC's BOM and STS-B's ten columns handled) -- ``data_dir``;
* your own CSV/TSV/JSONL files -- :meth:`TaskSpec.custom` plus ``data_files={"train": ..., "validation": ...}``.

Each gives a ``datasets.DatasetDict`` with the task's text columns under the Hub's names, ``label`` (a
``ClassLabel``, or ``float32`` for regression) and ``idx``; every malformed row is one error naming file and line.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from textssl.errors import ConfigError, InputFileError
from textssl.finetuning.tasks import HUB_COLUMNS, HUB_DATASET, LAYOUTS, GlueDataError, TaskSpec, get_task


def load_task(
    task: str | TaskSpec,
    data_dir: str | os.PathLike | None = None,
    data_files: Mapping[str, str | os.PathLike] | None = None,
    splits: Sequence[str] | None = None,
):
    """Load a task as a ``DatasetDict`` with the Hub's columns: ``spec.input_columns``, ``label``, ``idx``.

    Sources, in order: ``data_files`` (own task files, a ``{"train": path, "validation": path}`` map),
    ``data_dir`` (a GLUE-layout directory: either the GLUE root holding ``CoLA/``, ``SST-2/`` ... or the task
    folder itself), else the Hub (``nyu-mll/glue``). ``splits`` defaults to ``train`` plus the task's
    evaluation split(s).
    """
    spec = get_task(task)
    splits = tuple(splits) if splits is not None else ("train", *spec.eval_splits)
    if data_files is not None:
        return load_files(spec, data_files, splits)
    if spec.text_columns and data_dir is None:
        raise ConfigError(
            f"task {spec.name!r} is an own task: pass data_files={{'train': ..., 'validation': ...}}"
        )
    if data_dir is not None:
        return load_glue_dir(spec, data_dir, splits)
    return load_hub(spec, splits)


def _features(spec: TaskSpec, labels: Sequence[str] | None = None):
    import datasets

    feats = {c: datasets.Value("string") for c in spec.input_columns}
    names = list(labels if labels is not None else spec.labels or [])
    feats["label"] = datasets.Value("float32") if spec.is_regression else datasets.ClassLabel(names=names)
    feats["idx"] = datasets.Value("int32")
    return datasets.Features(feats)


def load_hub(spec: TaskSpec, splits: Sequence[str]):
    """Load ``nyu-mll/glue`` with the task's config from the Hub, keeping its text, ``label`` and ``idx`` columns."""
    import datasets

    if spec.hub_config is None:
        raise ConfigError(
            f"task {spec.name!r} is not on the Hub; pass --data-dir with its {spec.dir_name}/ folder "
            "(synthetic tasks are written by textssl.data.synthetic.write_tasks)"
        )
    try:
        raw = datasets.load_dataset(HUB_DATASET, spec.hub_config)
    except Exception as exc:  # network errors become one line; anything else is a bug and keeps its trace
        from textssl.hub.network import hub_error, hub_unreachable

        if not hub_unreachable(exc):
            raise
        raise hub_error(
            f"download the task {spec.name!r} ({HUB_DATASET}, config {spec.hub_config})",
            exc,
            f"pass --data-dir with a local GLUE-layout directory holding {spec.dir_name}/, or data_dir=... in Python",
        ) from None
    columns = HUB_COLUMNS[spec.hub_config]
    out = {}
    for split in splits:
        if split not in raw:
            raise GlueDataError(
                f"task {spec.name!r}: the Hub dataset {HUB_DATASET}/{spec.hub_config} has no split {split!r} "
                f"(it has {', '.join(raw)})"
            )
        ds = raw[split]
        missing = [c for c in (*columns, "label") if c not in ds.column_names]
        if missing:
            raise GlueDataError(
                f"task {spec.name!r}: split {split!r} of {HUB_DATASET}/{spec.hub_config} lacks column(s) "
                f"{', '.join(missing)} (it has {', '.join(ds.column_names)})"
            )
        ds = ds.select_columns([c for c in (*columns, "label", "idx") if c in ds.column_names])
        if "idx" not in ds.column_names:
            ds = ds.add_column("idx", list(range(ds.num_rows)))
        out[split] = ds.cast(_features(spec))
    return datasets.DatasetDict(out)


def resolve_task_dir(spec: TaskSpec, data_dir: str | os.PathLike) -> Path:
    """The folder holding the task's TSV files: ``data_dir/<dir_name>`` or ``data_dir`` itself."""
    root = Path(data_dir)
    if not root.is_dir():
        raise InputFileError(f"--data-dir {root}: no such directory")
    if spec.dir_name and (root / spec.dir_name).is_dir():
        return root / spec.dir_name
    if spec.dir_name:  # case-insensitive match (e.g. "sst-2" for "SST-2")
        for child in root.iterdir():
            if child.is_dir() and child.name.lower() == spec.dir_name.lower():
                return child
    layout = LAYOUTS[spec.layout]
    if any((root / f).is_file() for f in layout.files.values()):
        return root
    raise InputFileError(
        f"task {spec.name!r}: {root} has no {spec.dir_name}/ folder (nor the task's "
        f"{', '.join(layout.files.values())} directly); pass the GLUE data directory that contains {spec.dir_name}/"
    )


def _read_table(path: Path, delimiter: str, header: bool, quoting: int) -> tuple[list[str] | None, list]:
    """Read a delimited file into (header, [(line_number, row), ...]), skipping blank lines."""
    rows: list = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # utf-8-sig strips MRPC's BOM
            reader = csv.reader(fh, delimiter=delimiter, quoting=quoting)
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append((reader.line_num, row))
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except csv.Error as exc:
        kind = "TSV" if delimiter == "\t" else "CSV"
        raise GlueDataError(f"{path}:{reader.line_num}: malformed {kind} ({exc})") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not header:
        return None, rows
    if not rows:
        raise GlueDataError(f"{path}: the file is empty (expected a header line)")
    return [c.strip() for c in rows[0][1]], rows[1:]


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> GlueDataError:
    """One line naming the first line of ``path`` that is not UTF-8 (the decoder reads ahead in blocks)."""
    with open(path, "rb") as fh:
        line_num = next((n for n, raw in enumerate(fh, 1) if not _decodes(raw)), 0)
    return GlueDataError(f"{path}:{line_num}: not UTF-8 text ({exc.reason})", hint="save the file as UTF-8")


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8_lines(fh, path: Path):
    """Number and yield the lines of a text file, turning a decoding error into one line naming the file."""
    try:
        yield from enumerate(fh, 1)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None


def _column_index(header: list[str] | None, column: Any, path: Path, task: str) -> int:
    if header is None:
        return int(column)
    if column not in header:
        raise GlueDataError(
            f"{path}: task {task!r} needs column {column!r}; the header has {', '.join(header)}"
        )
    return header.index(column)


class _LabelParser:
    """Turns a raw label cell into a class id (or a float score), with errors naming file, line, column."""

    def __init__(self, spec: TaskSpec, labels: Sequence[str] | None, allow_ids: bool = True):
        self.spec = spec
        self.index = {name: i for i, name in enumerate(labels or [])}
        self.allow_ids = allow_ids  # GLUE files store class ids ("0", "1") for tasks with named classes

    def __call__(self, raw: str, where: str, column: Any) -> float | int:
        raw = raw.strip()
        if self.spec.is_regression:
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise GlueDataError(
                    f"{where}: task {self.spec.name!r} column {column!r}: score {raw!r} is not a number"
                ) from None
            return value
        if raw in self.index:
            return self.index[raw]
        if self.allow_ids and raw.isdigit() and int(raw) < len(self.index):
            return int(raw)
        known = ", ".join(f"{i}={n}" for n, i in self.index.items())
        raise GlueDataError(
            f"{where}: task {self.spec.name!r} column {column!r}: label {raw!r} is outside the label set ({known})"
        )


def task_files(
    spec: TaskSpec, data_dir: str | os.PathLike | None, splits: Sequence[str] | None = None
) -> dict[str, Path]:
    """The TSV file of each split of a GLUE-layout task, checked to exist (nothing is read).

    Lets a suite check every task's data before training the first one. With ``data_dir=None`` it checks only that
    the task can come from the Hub.
    """
    splits = tuple(splits) if splits is not None else ("train", *spec.eval_splits)
    if data_dir is None:
        if spec.hub_config is None and not spec.text_columns:
            raise ConfigError(
                f"task {spec.name!r} is not on the Hub; pass --data-dir with its {spec.dir_name}/ folder "
                "(synthetic tasks are written by textssl.data.synthetic.write_tasks)"
            )
        return {}
    if spec.layout is None:
        raise ConfigError(f"task {spec.name!r} has no GLUE layout; pass data_files for an own task")
    layout = LAYOUTS[spec.layout]
    task_dir = resolve_task_dir(spec, data_dir)
    out = {}
    for split in splits:
        if split not in layout.files:
            raise GlueDataError(
                f"task {spec.name!r} has no split {split!r}; its splits are {', '.join(layout.files)}"
            )
        path = task_dir / layout.files[split]
        if not path.is_file():
            raise InputFileError(f"task {spec.name!r}: split {split!r} needs {path}, which does not exist")
        out[split] = path
    return out


def load_glue_dir(spec: TaskSpec, data_dir: str | os.PathLike, splits: Sequence[str]):
    """Load a task from a directory in the original GLUE TSV layout (``glue_data/`` of GLUE's script)."""
    import datasets

    files = task_files(spec, data_dir, splits)  # raises for a task without a GLUE layout
    layout = LAYOUTS[spec.layout]
    parse = _LabelParser(spec, spec.labels)
    out = {}
    for split, path in files.items():
        header, rows = _read_table(path, "\t", layout.header, csv.QUOTE_NONE)
        if not rows:
            raise GlueDataError(f"{path}: split {split!r} of task {spec.name!r} has no examples")
        text_idx = [_column_index(header, c, path, spec.name) for c in layout.text]
        label_idx = _column_index(header, layout.label, path, spec.name)
        need = max(*text_idx, label_idx) + 1
        columns: dict[str, list] = {c: [] for c in (*spec.input_columns, "label")}
        columns["idx"] = list(range(len(rows)))
        for line, row in rows:
            where = f"{path}:{line}"
            if len(row) < need:
                raise GlueDataError(
                    f"{where}: expected at least {need} tab-separated fields for task {spec.name!r}, found "
                    f"{len(row)}"
                )
            for name, idx in zip(spec.input_columns, text_idx):
                columns[name].append(row[idx])
            columns["label"].append(parse(row[label_idx], where, layout.label))
        out[split] = datasets.Dataset.from_dict(columns, features=_features(spec))
    return datasets.DatasetDict(out)


def _read_records(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """Rows of an own-task file as dicts: ``.jsonl``/``.json`` (one object a line), ``.tsv``, else CSV."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        records = []
        try:
            fh = open(path, encoding="utf-8")
        except OSError as exc:
            raise InputFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
        with fh:
            for line_num, line in _utf8_lines(fh, path):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise GlueDataError(
                        f"{path}:{line_num}: not a JSON object per line ({exc.msg})"
                    ) from None
                if not isinstance(obj, dict):
                    raise GlueDataError(
                        f"{path}:{line_num}: expected a JSON object, found {type(obj).__name__}"
                    )
                records.append((line_num, obj))
        columns = list(records[0][1]) if records else []
        return columns, records
    delimiter, quoting = ("\t", csv.QUOTE_NONE) if suffix == ".tsv" else (",", csv.QUOTE_MINIMAL)
    header, rows = _read_table(path, delimiter, True, quoting)
    return header, [(line, dict(zip(header, row))) for line, row in rows]


def load_files(
    spec: TaskSpec, data_files: Mapping[str, str | os.PathLike], splits: Sequence[str] | None = None
):
    """Load an own task from CSV/TSV/JSONL files: ``{"train": path, "validation": path}``.

    Text columns are ``spec.text_columns`` and the label is ``spec.label_column``. For classification without
    a fixed label set, the set is the sorted distinct labels of the training file (integers sort numerically).
    """
    import datasets

    if not spec.text_columns:
        raise ConfigError(
            f"task {spec.name!r}: data_files needs an own task (TaskSpec.custom) naming its columns"
        )
    splits = list(splits) if splits is not None else list(data_files)
    read: dict[str, tuple[Path, list]] = {}
    for split in splits:
        if split not in data_files:
            raise GlueDataError(
                f"task {spec.name!r}: no file for split {split!r}; data_files has {', '.join(data_files) or 'none'}"
            )
        path = Path(data_files[split])
        if not path.is_file():
            raise InputFileError(f"task {spec.name!r}: the {split} file {path} does not exist")
        columns, records = _read_records(path)
        if not records:
            raise GlueDataError(f"{path}: the {split} file of task {spec.name!r} has no examples")
        missing = [c for c in (*spec.text_columns, spec.label_column) if c not in columns]
        if missing:
            raise GlueDataError(
                f"{path}: task {spec.name!r} needs column(s) {', '.join(map(repr, missing))}; the file has "
                f"{', '.join(map(str, columns)) or 'no columns'} (set --text-column / --label-column)"
            )
        read[split] = (path, records)

    labels = spec.labels
    if not spec.is_regression and not labels:
        source = "train" if "train" in read else splits[0]
        raw = {str(rec.get(spec.label_column, "")).strip() for _, rec in read[source][1]}
        ints = all(r.lstrip("-").isdigit() for r in raw)
        labels = tuple(sorted(raw, key=int) if ints else sorted(raw))
        spec = replace(spec, labels=labels)
    parse = _LabelParser(spec, labels, allow_ids=False)

    out = {}
    for split in splits:
        path, records = read[split]
        columns: dict[str, list] = {c: [] for c in (*spec.input_columns, "label")}
        columns["idx"] = list(range(len(records)))
        for line, rec in records:
            where = f"{path}:{line}"
            for name, src in zip(spec.input_columns, spec.text_columns):
                value = rec.get(src)
                if value is None:
                    raise GlueDataError(f"{where}: column {src!r} is missing or empty")
                columns[name].append(str(value))
            value = rec.get(spec.label_column)
            if value is None or str(value).strip() == "":
                raise GlueDataError(f"{where}: label column {spec.label_column!r} is missing or empty")
            columns["label"].append(parse(str(value), where, spec.label_column))
        out[split] = datasets.Dataset.from_dict(columns, features=_features(spec, labels))
    return datasets.DatasetDict(out)


def task_spec_of(dataset, spec: TaskSpec) -> TaskSpec:
    """``spec`` with the label set stored in the dataset's ``label`` feature (own tasks read it from data)."""
    if spec.is_regression or spec.labels:
        return spec
    first = next(iter(dataset.values()))
    return replace(spec, labels=tuple(first.features["label"].names))
