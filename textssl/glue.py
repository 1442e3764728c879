"""``textssl.glue``: the documented short alias of the task registry, loaders and metrics.

The code lives in :mod:`textssl.finetuning` (:mod:`~textssl.finetuning.tasks`,
:mod:`~textssl.finetuning.loaders`, :mod:`~textssl.finetuning.metrics`); this module re-exports the public
names under the name the README and user code use, e.g. ``from textssl.glue import trainer_metrics, load_task``.
"""

from textssl.finetuning.loaders import (
    load_files,
    load_glue_dir,
    load_hub,
    load_task,
    resolve_task_dir,
    task_files,
    task_spec_of,
)
from textssl.finetuning.metrics import compute_metrics, majority_baseline, trainer_metrics
from textssl.finetuning.tasks import (
    GLUE_TASKS,
    HUB_COLUMNS,
    HUB_DATASET,
    LAYOUTS,
    METRIC_SETS,
    STSB_COLUMNS,
    SYNTHETIC_TASKS,
    TASKS,
    GlueDataError,
    TaskSpec,
    UnknownTaskError,
    check_metric_fits,
    get_task,
    parse_tasks,
)

__all__ = [
    "GLUE_TASKS",
    "HUB_COLUMNS",
    "HUB_DATASET",
    "LAYOUTS",
    "METRIC_SETS",
    "STSB_COLUMNS",
    "SYNTHETIC_TASKS",
    "TASKS",
    "GlueDataError",
    "TaskSpec",
    "UnknownTaskError",
    "check_metric_fits",
    "compute_metrics",
    "get_task",
    "load_files",
    "load_glue_dir",
    "load_hub",
    "load_task",
    "majority_baseline",
    "parse_tasks",
    "resolve_task_dir",
    "task_files",
    "task_spec_of",
    "trainer_metrics",
]
