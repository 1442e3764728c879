"""GLUE task registry, data loaders and metrics (Wang et al., 2019, "GLUE: A Multi-Task Benchmark").

Every task -- the nine GLUE tasks, the synthetic ``syn-*`` tasks and a user's own CSV/TSV/JSONL task -- is a
:class:`TaskSpec` and loads into the shape of ``nyu-mll/glue`` on the Hub, whatever the source: a
``datasets.DatasetDict`` with the task's own text column(s) under the Hub's names (:attr:`TaskSpec.input_columns`:
``sentence`` for CoLA/SST-2, ``question1``/``question2`` for QQP, ``premise``/``hypothesis`` for MNLI,
``question``/``sentence`` for QNLI, ``sentence1``/``sentence2`` for MRPC/STS-B/RTE/WNLI; a synthetic task uses
its namesake's; an own task keeps its files' column names), then ``label`` (a ``ClassLabel``, or ``float32`` for
regression) and ``idx`` (the row number in its split). Code written for the Hub's GLUE (``run_glue``-style
``task_to_keys``) runs unchanged. Split names follow the Hub: ``train`` and ``validation`` (MNLI:
``validation_matched`` and ``validation_mismatched``).

Three sources:

* the Hugging Face Hub (``nyu-mll/glue`` with the task's config) -- :func:`load_task` with no ``data_dir``;
* a local directory in the original GLUE TSV layout (as written by GLUE's download script) -- ``data_dir``;
* your own files -- :meth:`TaskSpec.custom` plus ``data_files={"train": ..., "validation": ...}``.

Metrics go through ``evaluate`` with a metric module shipped in :mod:`textssl.metrics`, so evaluation never
needs network access: :func:`compute_metrics`.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from textssl.errors import ConfigError, DataError, InputFileError, MissingKeyError

logger = logging.getLogger(__name__)

HUB_DATASET = "nyu-mll/glue"
# STS-B's ten TSV columns (test files lack ``score``); the synthetic SYN-STS task is written in this layout.
STSB_COLUMNS = (
    "index",
    "genre",
    "filename",
    "year",
    "old_index",
    "source1",
    "source2",
    "sentence1",
    "sentence2",
    "score",
)

# Which metrics each metric set reports (must agree with textssl/metrics/glue_metric/glue_metric.py).
METRIC_SETS: dict[str, tuple[str, ...]] = {
    "accuracy": ("accuracy",),
    "accuracy_f1": ("accuracy", "f1"),
    "matthews_correlation": ("matthews_correlation",),
    "pearson_spearman": ("pearson", "spearmanr"),
}


class GlueDataError(DataError):
    """Task data is malformed: a missing column, a label outside the label set, a non-numeric score."""


class UnknownTaskError(MissingKeyError):
    """A task name is not registered."""


@dataclass(frozen=True)
class TaskSpec:
    """What a task is: its text inputs, labels and metrics, and where its data lives.

    ``labels`` lists the class names in id order (``None`` for regression). ``metric_set`` names the metric
    module configuration (see :data:`METRIC_SETS`) and ``main_metric`` the metric used to pick the best epoch
    and to summarize the task. ``layout`` names the local GLUE TSV layout and ``dir_name`` the folder inside
    a GLUE data directory; ``hub_config`` the ``nyu-mll/glue`` configuration. For own tasks,
    ``text_columns``/``label_column`` name the columns of the user's files.
    """

    name: str
    num_texts: int
    labels: tuple[str, ...] | None
    metric_set: str
    main_metric: str
    layout: str | None = None
    dir_name: str | None = None
    hub_config: str | None = None
    eval_splits: tuple[str, ...] = ("validation",)
    text_columns: tuple[str, ...] = ()
    label_column: str = "label"
    description: str = ""

    @property
    def is_regression(self) -> bool:
        return self.labels is None

    @property
    def num_labels(self) -> int:
        return 1 if self.labels is None else len(self.labels)

    @property
    def is_pair(self) -> bool:
        return self.num_texts == 2

    @property
    def metrics(self) -> tuple[str, ...]:
        return METRIC_SETS[self.metric_set]

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The text columns of the loaded dataset, in order: the Hub's names for GLUE tasks (a synthetic task
        takes its namesake's), the files' own names for an own task."""
        if self.text_columns:
            return self.text_columns
        if self.layout in HUB_COLUMNS:
            return HUB_COLUMNS[self.layout]
        return ("sentence1", "sentence2")[: self.num_texts]

    @classmethod
    def custom(
        cls,
        name: str,
        text_columns: Sequence[str] | str,
        label_column: str = "label",
        labels: Sequence[Any] | None = None,
        regression: bool = False,
        metric_set: str | None = None,
        main_metric: str | None = None,
    ) -> TaskSpec:
        """A user's own task read from CSV/TSV/JSONL files with the named text column(s) and label column.

        ``labels`` fixes the label set (order = class ids); when omitted for classification it is read from
        the training file (sorted). ``metric_set`` defaults to ``accuracy`` (``pearson_spearman`` for
        regression).
        """
        if isinstance(text_columns, str):
            text_columns = [c.strip() for c in text_columns.split(",") if c.strip()]
        text_columns = tuple(text_columns)
        reserved = [c for c in text_columns if c in ("label", "idx")]
        if reserved:
            raise ConfigError(
                f"task {name!r}: text column {reserved[0]!r} clashes with the loaded dataset's own "
                f"'label'/'idx' column; rename that column in your files"
            )
        if len(set(text_columns)) != len(text_columns):
            raise ConfigError(f"task {name!r}: text_columns={list(text_columns)} names a column twice")
        if not 1 <= len(text_columns) <= 2:
            raise ConfigError(
                f"task {name!r}: text_columns={list(text_columns)} must name one or two columns "
                "(one sentence, or a sentence pair)"
            )
        if regression and labels:
            raise ConfigError(f"task {name!r}: a regression task takes no label set (labels={list(labels)})")
        metric_set = metric_set or ("pearson_spearman" if regression else "accuracy")
        if metric_set not in METRIC_SETS:
            raise ConfigError(
                f"task {name!r}: unknown metric set {metric_set!r}; choose one of {', '.join(METRIC_SETS)}"
            )
        main_metric = main_metric or METRIC_SETS[metric_set][-1]
        if main_metric not in METRIC_SETS[metric_set]:
            raise ConfigError(
                f"task {name!r}: main_metric {main_metric!r} is not reported by metric set {metric_set!r} "
                f"({', '.join(METRIC_SETS[metric_set])})"
            )
        return check_metric_fits(
            cls(
                name=name,
                num_texts=len(text_columns),
                labels=None if regression else (tuple(str(x) for x in labels) if labels else ()),
                metric_set=metric_set,
                main_metric=main_metric,
                text_columns=text_columns,
                label_column=label_column,
                description="own task",
            )
        )


def check_metric_fits(spec: TaskSpec) -> TaskSpec:
    """Check that ``spec``'s metric set can be computed for its labels; return ``spec``.

    Run before any training (a metric that cannot be computed would otherwise fail after the first epoch):
    ``pearson_spearman`` needs a regression task and the others a classification task; ``accuracy_f1``
    (binary F1 of class 1) needs exactly two labels; a classifier needs at least two. An empty label set
    (an own task whose labels are read from its training file) is checked once the data is loaded.
    """
    if spec.is_regression != (spec.metric_set == "pearson_spearman"):
        kind = "regression" if spec.is_regression else "classification"
        fix = "--metric pearson_spearman" if spec.is_regression else "--regression, or another --metric"
        raise ConfigError(
            f"task {spec.name!r}: metric set {spec.metric_set!r} does not fit a {kind} task",
            hint=f"pass {fix}",
        )
    labels = spec.labels or ()
    if spec.is_regression or not labels:
        return spec
    shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
    if len(labels) < 2:
        raise DataError(
            f"task {spec.name!r} has a single label ({shown}); a classifier needs at least two",
            hint="check --label-column and --labels, or the labels in the training file",
        )
    if spec.metric_set == "accuracy_f1" and len(labels) != 2:
        raise ConfigError(
            f"task {spec.name!r}: metric set 'accuracy_f1' needs exactly 2 labels (F1 of the second label); "
            f"the task has {len(labels)} ({shown})",
            hint="use --metric accuracy or --metric matthews_correlation for more than two classes",
        )
    return spec


@dataclass(frozen=True)
class _Layout:
    """Where the texts and the label sit in a GLUE-layout TSV file."""

    text: tuple[Any, ...]  # column names (header files) or indices (headerless)
    label: Any
    header: bool = True
    files: Mapping[str, str] = field(default_factory=lambda: {"train": "train.tsv", "validation": "dev.tsv"})


_MNLI_FILES = {
    "train": "train.tsv",
    "validation_matched": "dev_matched.tsv",
    "validation_mismatched": "dev_mismatched.tsv",
}

LAYOUTS: dict[str, _Layout] = {
    # CoLA: no header; columns are source, label, original label (author's mark), sentence.
    "cola": _Layout(text=(3,), label=1, header=False),
    "sst2": _Layout(text=("sentence",), label="label"),
    # MRPC: the header starts with a UTF-8 BOM (stripped by reading with utf-8-sig).
    "mrpc": _Layout(text=("#1 String", "#2 String"), label="Quality"),
    "qqp": _Layout(text=("question1", "question2"), label="is_duplicate"),
    # STS-B: the ten STSB_COLUMNS.
    "stsb": _Layout(text=("sentence1", "sentence2"), label="score"),
    "mnli": _Layout(text=("sentence1", "sentence2"), label="gold_label", files=_MNLI_FILES),
    "qnli": _Layout(text=("question", "sentence"), label="label"),
    "rte": _Layout(text=("sentence1", "sentence2"), label="label"),
    "wnli": _Layout(text=("sentence1", "sentence2"), label="label"),
}

# Text columns of the nyu-mll/glue configurations on the Hub (each also has ``label`` and ``idx``). Every loader
# returns these names, so code written for the Hub's GLUE (run_glue's ``task_to_keys``) works on its output.
HUB_COLUMNS: dict[str, tuple[str, ...]] = {
    "cola": ("sentence",),
    "sst2": ("sentence",),
    "mrpc": ("sentence1", "sentence2"),
    "qqp": ("question1", "question2"),
    "stsb": ("sentence1", "sentence2"),
    "mnli": ("premise", "hypothesis"),
    "qnli": ("question", "sentence"),
    "rte": ("sentence1", "sentence2"),
    "wnli": ("sentence1", "sentence2"),
}


def _glue(name, dir_name, num_texts, labels, metric_set, main, description, **kw) -> TaskSpec:
    return TaskSpec(
        name=name,
        num_texts=num_texts,
        labels=labels,
        metric_set=metric_set,
        main_metric=main,
        layout=kw.pop("layout", name),
        dir_name=dir_name,
        hub_config=kw.pop("hub_config", name),
        description=description,
        **kw,
    )


_BINARY_NLI = ("entailment", "not_entailment")
TASKS: dict[str, TaskSpec] = {
    t.name: t
    for t in [
        _glue("cola", "CoLA", 1, ("unacceptable", "acceptable"), "matthews_correlation",
              "matthews_correlation", "grammatical acceptability (Warstadt et al., 2019)"),
        _glue("sst2", "SST-2", 1, ("negative", "positive"), "accuracy", "accuracy",
              "sentiment of movie-review phrases (Socher et al., 2013)"),
        _glue("mrpc", "MRPC", 2, ("not_equivalent", "equivalent"), "accuracy_f1", "f1",
              "paraphrase detection in news (Dolan & Brockett, 2005)"),
        _glue("qqp", "QQP", 2, ("not_duplicate", "duplicate"), "accuracy_f1", "f1",
              "duplicate Quora questions"),
        _glue("stsb", "STS-B", 2, None, "pearson_spearman", "spearmanr",
              "semantic similarity score 0-5 (Cer et al., 2017)"),
        _glue("mnli", "MNLI", 2, ("entailment", "neutral", "contradiction"), "accuracy", "accuracy",
              "three-way entailment, matched and mismatched genres (Williams et al., 2018)",
              eval_splits=("validation_matched", "validation_mismatched")),
        _glue("qnli", "QNLI", 2, _BINARY_NLI, "accuracy", "accuracy",
              "does the sentence answer the question (from SQuAD, Rajpurkar et al., 2016)"),
        _glue("rte", "RTE", 2, _BINARY_NLI, "accuracy", "accuracy", "textual entailment (RTE1-3, 5)"),
        _glue("wnli", "WNLI", 2, ("not_entailment", "entailment"), "accuracy", "accuracy",
              "Winograd schema NLI (Levesque et al., 2012)"),
        # Synthetic tasks (textssl.data.synthetic.write_tasks) in the layouts of their GLUE namesakes.
        _glue("syn-cola", "SYN-CoLA", 1, ("unacceptable", "acceptable"), "matthews_correlation",
              "matthews_correlation", "synthetic acceptability (CoLA layout)", layout="cola", hub_config=None),
        _glue("syn-sst", "SYN-SST", 1, ("negative", "positive"), "accuracy", "accuracy",
              "synthetic sentiment (SST-2 layout)", layout="sst2", hub_config=None),
        _glue("syn-mrpc", "SYN-MRPC", 2, ("not_equivalent", "equivalent"), "accuracy_f1", "f1",
              "synthetic paraphrase (MRPC layout)", layout="mrpc", hub_config=None),
        _glue("syn-sts", "SYN-STS", 2, None, "pearson_spearman", "spearmanr",
              "synthetic similarity (STS-B layout)", layout="stsb", hub_config=None),
    ]
}  # fmt: skip

GLUE_TASKS = ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli")
SYNTHETIC_TASKS = ("syn-cola", "syn-sst", "syn-mrpc", "syn-sts")
_ALIASES = {"sst-2": "sst2", "sts-b": "stsb", "sts": "stsb", "mnli-m": "mnli", "mnli_matched": "mnli"}


def get_task(task: str | TaskSpec) -> TaskSpec:
    """Look up a task by name (case-insensitive; GLUE directory names like ``SST-2`` work too)."""
    if isinstance(task, TaskSpec):
        return task
    key = str(task).strip().lower()
    key = _ALIASES.get(key, key)
    if key in TASKS:
        return TASKS[key]
    for spec in TASKS.values():
        if spec.dir_name and spec.dir_name.lower() == key:
            return spec
    raise UnknownTaskError(
        f"unknown task {task!r}; known tasks: {', '.join(TASKS)}. "
        "For your own data use TaskSpec.custom(...) (CLI: --train-file/--validation-file/--text-column)."
    )


def parse_tasks(tasks: str | Iterable[str]) -> list[TaskSpec]:
    """``"cola,sst2"`` or a list of names -> task specs (``glue`` expands to all nine GLUE tasks)."""
    names = [t.strip() for t in tasks.split(",")] if isinstance(tasks, str) else list(tasks)
    out: list[TaskSpec] = []
    for name in names:
        if not name:
            continue
        expanded = (
            GLUE_TASKS if name.lower() == "glue" else SYNTHETIC_TASKS if name.lower() == "syn" else [name]
        )
        out += [get_task(n) for n in expanded]
    if not out:
        raise ConfigError(f"--tasks {tasks!r} names no task; known tasks: {', '.join(TASKS)}")
    return out


# --------------------------------------------------------------------------------------------------------------
# Loading


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
        from textssl.hub import hub_error, hub_unreachable

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


# --------------------------------------------------------------------------------------------------------------
# Metrics


@functools.cache
def _metric(metric_set: str):
    import evaluate

    from textssl.metrics import GLUE_METRIC_PATH

    return evaluate.load(GLUE_METRIC_PATH, metric_set, keep_in_memory=True)


def compute_metrics(
    task: str | TaskSpec, predictions: Sequence | None = None, references: Sequence | None = None
) -> dict[str, float]:
    """GLUE metrics of a task for class-id predictions (or scores, for regression tasks), offline.

    ``compute_metrics("cola", preds, refs) -> {"matthews_correlation": ...}``; ``mrpc``/``qqp`` give
    ``accuracy`` and ``f1``; ``stsb`` gives ``pearson`` and ``spearmanr``. Uses the ``evaluate`` module shipped
    in :mod:`textssl.metrics` (the Hub's ``glue`` metric needs network access).

    This is not ``transformers.Trainer``'s ``compute_metrics`` argument (that one takes an ``EvalPrediction``
    of logits): pass ``compute_metrics=textssl.glue.trainer_metrics("cola")`` there.
    """
    if _is_eval_prediction(task):
        raise ConfigError(
            "textssl.glue.compute_metrics(task, predictions, references) got a transformers EvalPrediction: "
            "for Trainer(compute_metrics=...) pass textssl.glue.trainer_metrics(TASK) instead, e.g. "
            "Trainer(..., compute_metrics=trainer_metrics('cola'))"
        )
    if predictions is None or references is None:
        raise ConfigError(
            "compute_metrics(task, predictions, references) needs predictions and references "
            "(for transformers.Trainer use textssl.glue.trainer_metrics(task))"
        )
    spec = get_task(task)
    if len(predictions) != len(references):
        raise ConfigError(
            f"task {spec.name!r}: {len(predictions)} predictions for {len(references)} references"
        )
    if not spec.is_regression:
        predictions = [int(p) for p in predictions]
        references = [int(r) for r in references]
    else:
        predictions = [float(p) for p in predictions]
        references = [float(r) for r in references]
    return {
        k: float(v)
        for k, v in _metric(spec.metric_set).compute(predictions=predictions, references=references).items()
    }


def _is_eval_prediction(value: Any) -> bool:
    return hasattr(value, "predictions") and hasattr(value, "label_ids")


def trainer_metrics(task_or_metric: str | TaskSpec) -> Any:
    """A ``compute_metrics`` for ``transformers.Trainer``: ``EvalPrediction`` in, GLUE metrics dict out.

    ``task_or_metric`` is a task (``"cola"``, ``"mrpc"``, ``"stsb"``, a :class:`TaskSpec`) or a metric set
    (``"accuracy"``, ``"accuracy_f1"``, ``"matthews_correlation"``, ``"pearson_spearman"``). Logits
    (``[N, num_labels]``; the first array when the model returns several) become class ids by argmax;
    regression outputs (``[N]`` or ``[N, 1]``) are used as scores; predictions that are already class ids
    (``[N]``, e.g. from ``preprocess_logits_for_metrics``) are used as they are. Labels ``-100`` are skipped.

        trainer = Trainer(model, args, ..., compute_metrics=trainer_metrics("mrpc"))
        trainer.evaluate()  # {"eval_accuracy": ..., "eval_f1": ..., "eval_loss": ...}
    """
    if _is_eval_prediction(task_or_metric):
        raise ConfigError(
            "trainer_metrics(task) makes the compute_metrics function: pass "
            "Trainer(..., compute_metrics=trainer_metrics('cola')), not trainer_metrics itself"
        )
    if isinstance(task_or_metric, str) and task_or_metric in METRIC_SETS:
        spec = TaskSpec(
            name=task_or_metric,
            num_texts=1,
            labels=None if task_or_metric == "pearson_spearman" else (),
            metric_set=task_or_metric,
            main_metric=METRIC_SETS[task_or_metric][-1],
        )
    else:
        spec = get_task(task_or_metric)

    def glue_metrics(eval_pred: Any, compute_result: bool = True) -> dict[str, float]:
        if not _is_eval_prediction(eval_pred):
            raise ConfigError(
                f"trainer_metrics({spec.name!r}) is Trainer's compute_metrics: it takes an EvalPrediction, "
                f"got {type(eval_pred).__name__}; to score lists use compute_metrics(task, predictions, references)"
            )
        import numpy as np

        preds = eval_pred.predictions
        labels = eval_pred.label_ids
        preds = preds[0] if isinstance(preds, (tuple, list)) else preds
        labels = labels[0] if isinstance(labels, (tuple, list)) else labels
        preds, labels = np.asarray(preds), np.asarray(labels)
        if spec.is_regression:
            preds = preds.reshape(len(preds), -1)[:, 0] if preds.ndim > 1 else preds
            keep = np.ones(len(labels), bool)
        else:
            preds = preds.argmax(-1) if preds.ndim > 1 else preds
            keep = labels != -100
        if preds.shape[0] != labels.shape[0]:
            raise ConfigError(
                f"trainer_metrics({spec.name!r}): {preds.shape[0]} predictions for {labels.shape[0]} labels; "
                "is the model a sequence classifier (AutoModelForSequenceClassification)?"
            )
        return compute_metrics(spec, preds[keep].tolist(), labels[keep].tolist())

    glue_metrics.__name__ = f"glue_metrics_{spec.name}"
    return glue_metrics


def majority_baseline(spec: TaskSpec, train_labels: Sequence, eval_labels: Sequence) -> dict[str, float]:
    """Metrics of always predicting the most frequent training label (the mean score, for regression).

    A floor every finetuned model must clear: e.g. on MRPC always answering "equivalent" already scores F1 81.
    Ties between equally frequent training labels go to the better-scoring one.
    """
    if not len(eval_labels):
        return {}
    if spec.is_regression:
        mean = float(sum(train_labels) / max(len(train_labels), 1))
        return compute_metrics(spec, [mean] * len(eval_labels), eval_labels)
    counts: dict[int, int] = {}
    for y in train_labels:
        counts[int(y)] = counts.get(int(y), 0) + 1
    most = max(counts.values(), default=0)
    candidates = [label for label, n in sorted(counts.items()) if n == most] or [0]
    # A tie (balanced training labels) goes to the label that scores better: the floor errs on the high side.
    scored = [compute_metrics(spec, [label] * len(eval_labels), eval_labels) for label in candidates]
    return max(scored, key=lambda m: m[spec.main_metric])
