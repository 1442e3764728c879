"""The task registry: every GLUE-style task textssl finetunes on, described once (Wang et al., 2019, "GLUE").

A task -- one of the nine GLUE tasks, a synthetic ``syn-*`` task or a user's own CSV/TSV/JSONL task -- is a
:class:`TaskSpec`: its text inputs, labels, metric set, and where its data lives (the ``nyu-mll/glue`` Hub
configuration, the folder and TSV layout of a local GLUE directory). :data:`TASKS` is the registry; the loaders
(:mod:`textssl.finetuning.loaders`), the metrics (:mod:`textssl.finetuning.metrics`), the model card and the
synthetic task writers (:mod:`textssl.data.synthetic.writers`, through :func:`synthetic_task_info`) all read it.
A new task in an existing layout is one :class:`TaskSpec` entry in :data:`TASKS`.

Whatever the source, a task loads into the shape of ``nyu-mll/glue``: its text column(s) under the Hub's names
(:attr:`TaskSpec.input_columns`: ``sentence`` for CoLA/SST-2, ``question1``/``question2`` for QQP,
``premise``/``hypothesis`` for MNLI, ``question``/``sentence`` for QNLI, ``sentence1``/``sentence2`` for
MRPC/STS-B/RTE/WNLI; a synthetic task uses its namesake's; an own task keeps its files' column names), then
``label`` and ``idx``. Split names follow the Hub: ``train`` and ``validation`` (MNLI: ``validation_matched`` and
``validation_mismatched``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from textssl.errors import ConfigError, DataError, MissingKeyError

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
        # Synthetic tasks (textssl.data.synthetic.write_tasks writes them) in the layouts of their GLUE namesakes.
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


def synthetic_task_info(dir_name: str) -> dict[str, Any]:
    """What a synthetic task's ``task.json`` says about it, read from its registry entry (``SYN-CoLA`` etc.).

    ``like`` is the GLUE task whose layout the files follow, ``columns`` the text columns of those files,
    ``labels`` the class names in id order (``None`` for a score), ``metric_set``/``main_metric`` what
    finetuning reports. Raises :class:`UnknownTaskError` for a name that is not a registered synthetic task.
    """
    spec = get_task(dir_name)
    if spec.name not in SYNTHETIC_TASKS:
        raise UnknownTaskError(
            f"{dir_name!r} is not a synthetic task; those are {', '.join(SYNTHETIC_TASKS)}"
        )
    layout = LAYOUTS[spec.layout]
    columns = [c if isinstance(c, str) else spec.input_columns[i] for i, c in enumerate(layout.text)]
    return {
        "name": spec.name,
        "like": spec.layout,
        "columns": columns,
        "labels": list(spec.labels) if spec.labels is not None else None,
        "metric_set": spec.metric_set,
        "main_metric": spec.main_metric,
        "description": spec.description,
    }
