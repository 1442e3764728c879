"""The suite: a checkpoint finetuned on several tasks x seeds (optionally also from random init), summarized.

:func:`run_glue_suite` repeats :func:`~textssl.finetuning.loop.run_one` over tasks and seeds under one protocol,
with the same data and tokenization for every seed and for the random-init twin, and reports the median over
seeds with the min-max spread, next to a majority-class floor (:func:`summarize`; the table and chart are
:mod:`textssl.finetuning.report`). Every task's data, the checkpoint and the output directory are checked before
the first task trains; ``results.json`` is rewritten after each task, so a crash loses at most one task.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from textssl.atomic import check_output_dir
from textssl.errors import ConfigError
from textssl.finetuning.loaders import task_files
from textssl.finetuning.loading import check_checkpoint
from textssl.finetuning.loop import PRETRAINED, RANDOM_INIT, PreparedTask, prepare_task, run_one, subsample
from textssl.finetuning.metrics import majority_baseline
from textssl.finetuning.protocol import FinetuneConfig, parse_seeds
from textssl.finetuning.report import RESULT_FILES, plot_results, write_results
from textssl.finetuning.tasks import HUB_DATASET, TaskSpec, get_task, parse_tasks

logger = logging.getLogger(__name__)

BASELINES = (RANDOM_INIT,)


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Median over seeds (with min and max) of the main score, and the median of every metric."""
    scores = [r["score"] for r in runs]
    names = list(runs[0]["metrics"]) if runs else []
    return {
        "median": statistics.median(scores),
        "min": min(scores),
        "max": max(scores),
        "scores": scores,
        "metrics": {m: statistics.median(r["metrics"][m] for r in runs) for m in names},
        "last_epoch_median": statistics.median(r["last_metrics"][r["main_metric"]] for r in runs),
    }


def _average(results: dict[str, Any], init: str, seeds: Sequence[int]) -> dict[str, Any] | None:
    """Mean over tasks of the per-task median; spread = min/max over seeds of the per-seed task average."""
    tasks = [t for t in results["tasks"].values() if init in t["summary"]]
    if not tasks:
        return None
    per_seed = []
    for i in range(len(seeds)):
        vals = [t["runs"][init][i]["score"] for t in tasks if len(t["runs"][init]) > i]
        if len(vals) == len(tasks):
            per_seed.append(statistics.fmean(vals))
    return {
        "median": statistics.fmean(t["summary"][init]["median"] for t in tasks),
        "min": min(per_seed) if per_seed else math.nan,
        "max": max(per_seed) if per_seed else math.nan,
        "tasks": [t["task"] for t in tasks],
    }


def _check_inputs(
    model: str, specs: Sequence[TaskSpec], data_dir, output_dir, tokenizer, overwrite: bool
) -> None:
    """Everything a suite reads or writes, checked before the first task trains."""
    check_checkpoint(model, need_weights=True)
    for spec in specs:  # every task's files before the first task trains
        task_files(spec, data_dir)
    if output_dir is None:
        return
    check_output_dir(
        output_dir,
        overwrite=overwrite,
        models=[("--model", model)],
        inputs=[("--data-dir", data_dir)]
        + ([("--tokenizer", tokenizer)] if isinstance(tokenizer, (str, os.PathLike)) else []),
    )
    for name in RESULT_FILES:  # with overwrite: an earlier run's report must not mix into this one
        (Path(output_dir) / name).unlink(missing_ok=True)


def _run_task(
    model: str,
    prepared: PreparedTask,
    config: FinetuneConfig,
    inits: Sequence[str],
    seeds: Sequence[int],
    show_progress: bool,
) -> dict[str, Any]:
    """One task's entry of results.json: every init x seed run, their summaries and the majority floor."""
    spec, dataset = prepared.spec, prepared.dataset
    train_labels = subsample(dataset["train"], config.max_train_samples)["label"]
    eval_labels = subsample(dataset[spec.eval_splits[0]], config.max_eval_samples)["label"]
    entry: dict[str, Any] = {
        "task": spec.name,
        "main_metric": spec.main_metric,
        "metric_set": spec.metric_set,
        "protocol": config.to_dict(),
        "majority": majority_baseline(spec, train_labels, eval_labels),
        "runs": {},
        "summary": {},
    }
    for init in inits:
        runs = []
        for seed in seeds:
            run = run_one(
                model,
                prepared,
                config,
                seed=seed,
                random_init=init == RANDOM_INIT,
                show_progress=show_progress,
            )
            run.pop("config", None)
            runs.append(run)
            logger.info("%s %s seed %d: %s %.4f", spec.name, init, seed, spec.main_metric, run["score"])
        entry["runs"][init] = runs
        entry["summary"][init] = summarize(runs)
    return entry


def run_glue_suite(
    model: str | os.PathLike,
    tasks: str | Iterable[str | TaskSpec] = "glue",
    seeds: int | str | Sequence[int] = 3,
    baseline: str | None = None,
    output_dir: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    config: FinetuneConfig | None = None,
    task_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    tokenizer=None,
    show_progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Finetune ``model`` on every task with every seed (and, with ``baseline="random-init"``, the same
    architecture from random init under the same protocol); return and (with ``output_dir``) write the results.

    ``output_dir`` receives ``results.json`` (rewritten after each task, so a crash loses at most one task),
    ``results.md`` (markdown table: median over seeds, min-max spread, pretrained vs random init, majority
    floor) and ``results.png`` (bar chart). A non-empty ``output_dir`` needs ``overwrite=True``, which replaces
    those three files and leaves everything else there alone; the output may never be, contain or lie inside the
    model directory, nor be or contain ``data_dir``.
    """
    if baseline is not None and baseline not in BASELINES:
        raise ConfigError(f"--baseline {baseline!r}: choose one of {', '.join(BASELINES)}")
    specs = parse_tasks(tasks) if isinstance(tasks, str) else [get_task(t) for t in tasks]
    seeds = parse_seeds(seeds)
    config = config or FinetuneConfig()
    task_overrides = {get_task(k).name: dict(v) for k, v in (task_overrides or {}).items()}
    model = str(model)
    _check_inputs(model, specs, data_dir, output_dir, tokenizer, overwrite)
    inits = [PRETRAINED] + ([baseline] if baseline else [])
    results: dict[str, Any] = {
        "model": model,
        "baseline": baseline,
        "seeds": seeds,
        "data": str(data_dir) if data_dir else f"hub:{HUB_DATASET}",
        "protocol": config.to_dict(),
        "task_overrides": task_overrides,
        "selection": f"{config.select} dev epoch",
        "tasks": {},
    }
    start = time.perf_counter()
    for spec in specs:
        task_config = config.replace(**task_overrides.get(spec.name, {}))
        prepared = prepare_task(
            model, spec, task_config, data_dir=data_dir, tokenizer=tokenizer, show_progress=show_progress
        )
        results["tasks"][prepared.spec.name] = _run_task(
            model, prepared, task_config, inits, seeds, show_progress
        )
        results["average"] = {init: _average(results, init, seeds) for init in inits}
        results["seconds"] = round(time.perf_counter() - start, 1)
        if output_dir is not None:
            write_results(results, output_dir)
    if output_dir is not None:
        plot_results(results, Path(output_dir) / "results.png")
    return results
