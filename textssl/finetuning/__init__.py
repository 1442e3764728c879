"""Finetuning on GLUE-style tasks: one protocol, several seeds, an honest report.

The package, in the order a run uses it:

* :mod:`~textssl.finetuning.tasks` -- the task registry (:data:`TASKS`, :class:`TaskSpec`): GLUE, the synthetic
  ``syn-*`` tasks (whose writers in :mod:`textssl.data.synthetic` read their descriptions from here) and own tasks;
* :mod:`~textssl.finetuning.loaders` -- a task's data in the shape of ``nyu-mll/glue`` (Hub, GLUE directory, files);
* :mod:`~textssl.finetuning.metrics` -- GLUE metrics, offline, also as ``Trainer``'s ``compute_metrics``;
* :mod:`~textssl.finetuning.protocol` -- :class:`FinetuneConfig` (the same hyperparameters for every task) and
  protocol files;
* :mod:`~textssl.finetuning.loading` -- the checkpoint, its tokenizer, a sequence classifier;
* :mod:`~textssl.finetuning.loop` -- one run (:func:`finetune`, :func:`train_and_evaluate`);
* :mod:`~textssl.finetuning.suite` -- tasks x seeds (x random init): :func:`run_glue_suite`, :func:`summarize`;
* :mod:`~textssl.finetuning.report` -- results table, results.json, chart, and what a model card says about it.

The package is called ``finetuning`` so that ``textssl.finetune`` stays the function (``from textssl import
finetune``). Names are imported lazily on first use (PEP 562): importing the registry does not load torch, and
the model card (:mod:`textssl.hub.cards`) can read the report without loading the loop.
"""

from __future__ import annotations

from textssl.lazy import lazy_exports

_MODULES = {
    "textssl.finetuning.tasks": (
        "TaskSpec", "TASKS", "GLUE_TASKS", "SYNTHETIC_TASKS", "METRIC_SETS", "HUB_DATASET", "HUB_COLUMNS",
        "LAYOUTS", "STSB_COLUMNS", "GlueDataError", "UnknownTaskError", "get_task", "parse_tasks",
        "check_metric_fits", "synthetic_task_info",
    ),
    "textssl.finetuning.loaders": (
        "load_task", "load_hub", "load_glue_dir", "load_files", "task_files", "resolve_task_dir", "task_spec_of",
    ),
    "textssl.finetuning.metrics": ("compute_metrics", "trainer_metrics", "majority_baseline"),
    "textssl.finetuning.protocol": ("FinetuneConfig", "load_protocol", "parse_seeds"),
    "textssl.finetuning.loading": (
        "check_checkpoint", "load_classifier", "load_tokenizer_for", "check_vocab", "usable_max_length",
        "WEIGHT_FILES",
    ),
    "textssl.finetuning.loop": (
        "finetune", "train_and_evaluate", "tokenize_task", "prepare_task", "run_one", "PreparedTask",
        "PRETRAINED", "RANDOM_INIT",
    ),
    "textssl.finetuning.suite": ("run_glue_suite", "summarize", "BASELINES"),
    "textssl.finetuning.report": (
        "results_table", "protocol_line", "write_results", "plot_results", "load_glue_results", "RESULT_FILES",
    ),
}  # fmt: skip
# public name -> module that defines it
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
