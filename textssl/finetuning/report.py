"""What finetuning reports: the results table, results.json and its checker, the chart, and a finetuned card's data.

:func:`results_table` turns the results of :func:`~textssl.finetuning.suite.run_glue_suite` into markdown (median
over seeds with the min-max spread, pretrained vs random init, the majority floor, the protocol in one line);
:func:`write_results` writes ``results.json`` and ``results.md`` atomically and :func:`plot_results` the chart.
:func:`load_glue_results` reads a ``results.json`` back and checks every key the model card needs. The
``*_scores``, :func:`finetune_facts` and :func:`task_dataset` functions are what a model card
(:mod:`textssl.hub.cards`) says about finetuning: dev scores per task and metric, the facts of one finetuned
model, and which dataset a task's scores are on. This module imports nothing from the training code, so the
suite and the model card both read it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textssl.atomic import atomic_file, write_atomic
from textssl.errors import DataError, InputFileError, MissingKeyError
from textssl.finetuning.tasks import HUB_DATASET, TASKS, TaskSpec

PRETRAINED = "pretrained"  # the summary key of the pretrained runs (textssl.finetuning.loop.PRETRAINED)
RESULT_FILES = ("results.json", "results.md", "results.png")  # what run_glue_suite writes into its output_dir

# --------------------------------------------------------------------------------------------------------------
# The results table

_SHORT = {
    "matthews_correlation": "MCC",
    "accuracy": "acc",
    "f1": "F1",
    "pearson": "Pearson",
    "spearmanr": "Spearman",
}


_METRIC_LABEL = {
    "matthews_correlation": "MCC",
    "accuracy": "accuracy",
    "f1": "F1",
    "pearson": "Pearson r",
    "spearmanr": "Spearman ρ",
}


def _short(metric: str) -> str:
    base, _, suffix = metric.partition("_mis") if "_mismatched" in metric else (metric, "", "")
    return _SHORT.get(base, base) + (" (mm)" if suffix else "")


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _cell(summary: Mapping[str, Any] | None, n_seeds: int) -> str:
    """``median (min to max)`` x100; with one seed (or no spread to show) just the score."""
    if not summary:
        return "–"
    low, high = summary.get("min", math.nan), summary.get("max", math.nan)
    if n_seeds < 2 or math.isnan(low) or math.isnan(high):
        return _pct(summary["median"])
    return f"{_pct(summary['median'])} ({_pct(low)} to {_pct(high)})"


def _delta(summaries: Mapping[str, Any], inits: Sequence[str]) -> str:
    a, b = (summaries.get(i) for i in inits[:2])
    return f"{100 * (a['median'] - b['median']):+.1f}" if a and b else "–"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _subset(n: int | None, what: str) -> str:
    return f"all {what} examples" if n is None else f"a fixed random subset of at most {n:,} {what} examples"


def protocol_line(results: Mapping[str, Any], model: str | None = None) -> str:
    """One sentence with everything that shapes the numbers: model, data, subset sizes, epochs, seeds."""
    protocol = results["protocol"]
    seeds = list(results["seeds"])
    overrides = results.get("task_overrides") or {}
    text = (
        f"Model `{model or results['model']}`, data {results['data']}; "
        f"{_subset(protocol.get('max_train_samples'), 'training')} per task (max_train_samples), "
        f"{_subset(protocol.get('max_eval_samples'), 'dev')} per split (max_eval_samples); "
        f"protocol: lr {protocol['learning_rate']:g}, batch {protocol['batch_size']}, "
        f"{_plural(protocol['epochs'], 'epoch')}, warmup {protocol['warmup_ratio']:g}, "
        f"max length {protocol['max_length']}; {_plural(len(seeds), 'seed')} "
        f"({', '.join(map(str, seeds))})"
    )
    if overrides:
        parts = (
            f"{task}: " + ", ".join(f"{k}={v}" for k, v in values.items())
            for task, values in overrides.items()
        )
        text += "; per-task overrides: " + "; ".join(parts)
    return text + f"; {results.get('seconds', 0):.0f} s in total."


def results_table(results: Mapping[str, Any], model: str | None = None) -> str:
    """Markdown: per task the main dev metric (x100), median over seeds with min to max, and the average.

    ``model`` names the model in the protocol line (default: ``results["model"]`` as given).
    """
    inits = [PRETRAINED] + ([results["baseline"]] if results.get("baseline") else [])
    n = len(results["seeds"])
    head = ["task", "metric", *inits] + (["Δ"] if len(inits) > 1 else []) + ["majority"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, t in results["tasks"].items():
        row = [name, _short(t["main_metric"]), *(_cell(t["summary"].get(i), n) for i in inits)]
        if len(inits) > 1:
            row.append(_delta(t["summary"], inits))
        row.append(_pct(t["majority"].get(t["main_metric"], math.nan)))
        lines.append("| " + " | ".join(row) + " |")
    avg = results.get("average") or {}
    if avg.get(PRETRAINED):
        row = ["**average**", "", *(_cell(avg.get(i), n) for i in inits)]
        if len(inits) > 1:
            row.append(_delta(avg, inits))
        row.append("")
        lines.append("| " + " | ".join(row) + " |")
    if n > 1:
        scores = f"median over {n} seeds (min to max)"
        spread = "; its spread is over per-seed task averages"
        over = "median over seeds"
    else:
        scores = f"one seed ({results['seeds'][0]}), so no spread to show"
        spread = ""
        over = f"seed {results['seeds'][0]}"
    lines += [
        "",
        f"Dev-set scores x100, {scores}; {results['selection']} "
        "(selected on the same dev set, so slightly optimistic; last-epoch scores below and in results.json). "
        "Majority = always the most frequent training label (ties: the better-scoring one). Average = mean of the "
        f"per-task scores{spread}.",
        "",
        f"All metrics ({over}, selected epoch; last epoch's main metric in brackets):",
        "",
        "| task | " + " | ".join(inits) + " |",
        "|---|" + "---|" * len(inits),
    ]
    for name, t in results["tasks"].items():
        cells = []
        for i in inits:
            s = t["summary"].get(i)
            if not s:
                cells.append("–")
                continue
            metrics = ", ".join(f"{_short(k)} {_pct(v)}" for k, v in s["metrics"].items())
            cells.append(f"{metrics} [{_pct(s['last_epoch_median'])}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", protocol_line(results, model)]
    return "\n".join(lines) + "\n"


def write_results(results: Mapping[str, Any], output_dir: str | os.PathLike) -> None:
    """Write ``results.json`` and ``results.md`` atomically (each replaces the previous version whole)."""
    out = Path(output_dir)
    write_atomic(out / "results.json", json.dumps(results, indent=2) + "\n")
    write_atomic(out / "results.md", results_table(results))


def plot_results(results: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Bar chart of the per-task median main metric (min to max error bars with several seeds).

    One panel per metric kind (MCC, accuracy, F1, Spearman, ...) with that metric on its y axis, and one for
    the average; every bar carries its value, so a zero-height bar still shows. Drawn on a private
    ``Figure`` with the Agg canvas: the caller's (e.g. a notebook's) matplotlib backend is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from textssl.hub.names import display_name

    inits = [PRETRAINED] + ([results["baseline"]] if results.get("baseline") else [])
    n_seeds = len(results["seeds"])
    panels = _panels(results)
    widths = [max(1, len(rows)) for rows in panels.values()]
    fig = Figure(figsize=(max(4.5, 1.3 * sum(widths) + 1.2 * len(panels)), 3.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, (kind, rows) in zip(axes, panels.items()):
        _draw_panel(ax, kind, rows, inits, n_seeds)
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="upper right", fontsize=8, frameon=False)
    spread = f"median over {n_seeds} seeds, bars min to max" if n_seeds > 1 else "1 seed"
    fig.suptitle(f"Finetuning {display_name(results['model'])} ({spread})", fontsize=10, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=100)
    return path


# (bar group name, summaries by init, majority floor or None)
_Row = tuple[str, Mapping[str, Any], Any]


def _panels(results: Mapping[str, Any]) -> dict[str, list[_Row]]:
    """The chart's panels: tasks grouped by the kind of their main metric, then the average."""
    panels: dict[str, list[_Row]] = {}
    for name, t in results["tasks"].items():
        floor = t.get("majority", {}).get(t["main_metric"])
        kind = _METRIC_LABEL.get(t["main_metric"], _short(t["main_metric"]))
        panels.setdefault(kind, []).append((name, t["summary"], floor))
    if (results.get("average") or {}).get(PRETRAINED):
        panels["mean of the task scores"] = [("average", results["average"], None)]
    return panels


def _draw_panel(ax, kind: str, rows: Sequence[_Row], inits: Sequence[str], n_seeds: int) -> None:
    """One panel: a bar per init and row (value on top, min-max error bars), dashed majority floors."""
    width = 0.8 / len(inits)
    for k, init in enumerate(inits):
        xs, ys, lo, hi = [], [], [], []
        for x, (_, summaries, _) in enumerate(rows):
            s = summaries.get(init)
            if s:
                xs.append(x + (k - (len(inits) - 1) / 2) * width)
                ys.append(100 * s["median"])
                # the average row's centre (mean of per-task medians) can fall outside the range of
                # per-seed averages; a bar never gets a negative error
                lo.append(max(0.0, 100 * (s["median"] - s["min"])) if n_seeds > 1 else 0.0)
                hi.append(max(0.0, 100 * (s["max"] - s["median"])) if n_seeds > 1 else 0.0)
        if not xs:
            continue
        color = f"C{k}"
        bars = ax.bar(
            xs, ys, width, yerr=[lo, hi] if n_seeds > 1 else None, capsize=3, color=color,
            edgecolor="black", linewidth=0.6, label=init,
        )  # fmt: skip
        ax.bar_label(bars, labels=[f"{y:.1f}" for y in ys], padding=2, fontsize=7)
        # a tick at each bar's top, in its colour: a zero-height bar is still a visible mark
        ax.plot(
            xs, ys, linestyle="none", marker="_", markersize=14, markeredgewidth=2.5, color=color, zorder=3
        )
    for x, (_, _, floor) in enumerate(rows):
        if floor is not None:
            ax.hlines(100 * floor, x - 0.45, x + 0.45, colors="black", linestyles="dashed", label="majority")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([name for name, _, _ in rows], rotation=20)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel(f"{kind} x100 (dev)")
    ax.axhline(0, color="black", linewidth=0.5)
    low, high = ax.get_ylim()
    pad = 0.06 * (high - low)
    ax.set_ylim(min(low, 0) - pad, max(high, 0) + pad)  # room for the labels and a zero bar's tick


# --------------------------------------------------------------------------------------------------------------
# results.json, read back

# What the model card reads from a `textssl glue` results.json (see run_glue_suite): checked before anything is
# written, so an incomplete or hand-edited file fails with the missing key instead of a bare KeyError.
RESULTS_KEYS = ("model", "seeds", "selection", "protocol", "tasks")
PROTOCOL_KEYS = ("learning_rate", "batch_size", "epochs", "warmup_ratio", "max_length")
TASK_KEYS = ("main_metric", "summary", "majority")
SUMMARY_KEYS = ("median", "min", "max", "metrics", "last_epoch_median")


def load_glue_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check the results.json of `textssl glue` (a file or the directory holding it).

    Raises :class:`~textssl.errors.InputFileError` for a missing or unreadable file,
    :class:`~textssl.errors.DataError` for invalid JSON and :class:`~textssl.errors.MissingKeyError` naming the
    first missing key (``tasks.sst2.summary.pretrained.median``).
    """
    source = Path(path)
    if source.is_dir():
        source = source / "results.json"
    hint = "pass the results.json written by `textssl glue`; rerun it if the file was cut short"
    if not source.is_file():
        raise InputFileError(f"--glue-results {source}: no such file", hint=hint)
    try:
        results = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"--glue-results {source}: cannot read the file ({exc})", hint=hint) from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"--glue-results {source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint=hint,
        ) from None

    def need(obj: Any, keys: tuple[str, ...], where: str) -> None:
        if not isinstance(obj, dict):
            raise DataError(
                f"--glue-results {source}: {where or 'the file'} must be a JSON object", hint=hint
            )
        for key in keys:
            if key not in obj:
                raise MissingKeyError(
                    f"--glue-results {source}: missing key '{where + '.' if where else ''}{key}'", hint=hint
                )

    need(results, RESULTS_KEYS, "")
    need(results["protocol"], PROTOCOL_KEYS, "protocol")
    if not isinstance(results["seeds"], list) or not results["seeds"]:
        raise DataError(f"--glue-results {source}: seeds must be a non-empty list", hint=hint)
    tasks = results["tasks"]
    need(tasks, (), "tasks")
    if not tasks:
        raise DataError(f"--glue-results {source}: no task results (tasks is empty)", hint=hint)
    for name, task in tasks.items():
        need(task, TASK_KEYS, f"tasks.{name}")
        need(task["summary"], ("pretrained",), f"tasks.{name}.summary")
        for init, summary in task["summary"].items():
            need(summary, SUMMARY_KEYS, f"tasks.{name}.summary.{init}")
            bad = [k for k in ("median", "min", "max", "last_epoch_median") if not _number(summary[k])]
            if bad:
                raise DataError(
                    f"--glue-results {source}: tasks.{name}.summary.{init}.{bad[0]} is not a number",
                    hint=hint,
                )
    return results


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_results(glue_results: Mapping[str, Any] | str | os.PathLike | None) -> Mapping[str, Any] | None:
    """Suite results given as a dict (used as it is) or as a results.json path (read and checked)."""
    if glue_results is None or isinstance(glue_results, Mapping):
        return glue_results
    return load_glue_results(glue_results)


# --------------------------------------------------------------------------------------------------------------
# What a model card says about finetuning

Score = tuple[str, str, float, str]  # (task, metric key, value in [0, 1], how it was obtained)


def task_dataset(name: str) -> tuple[str, str, str | None, TaskSpec | None]:
    """``(dataset type, dataset name, Hub config, spec)`` of a task for a model-index entry.

    GLUE tasks are ``nyu-mll/glue`` with their config; a synthetic or own task is named by itself.
    """
    spec = TASKS.get(name)
    if spec is not None and spec.hub_config:
        return HUB_DATASET, f"GLUE {spec.dir_name}", spec.hub_config, spec
    return name, name, None, spec


def metric_split(metric: str, spec: TaskSpec | None) -> tuple[str, str]:
    """``(metric type, dev split)`` of a metric key (``accuracy_mismatched`` -> MNLI's mismatched split)."""
    splits = list(spec.eval_splits) if spec is not None else ["validation"]
    for split in splits[1:]:
        suffix = "_" + split.removeprefix("validation_")
        if metric.endswith(suffix):
            return metric[: -len(suffix)], split
    return metric, splits[0]


def suite_scores(results: Mapping[str, Any]) -> list[Score]:
    """One score per task and metric of a suite: the median over seeds of the pretrained runs."""
    out = []
    for name, task in results.get("tasks", {}).items():
        summary = (task.get("summary") or {}).get(PRETRAINED)
        if not summary:
            continue
        n = len(summary.get("scores", [])) or len(results.get("seeds", []))
        label = f"dev, x100, median of {n} seed{'s' * (n != 1)}"
        out += [(name, m, v, label) for m, v in summary.get("metrics", {}).items()]
    return out


def finetuned_scores(result: Mapping[str, Any]) -> list[Score]:
    """A finetuned model's own dev scores: the selected epoch of its one run (the dict ``finetune`` returns)."""
    select = (result.get("config") or {}).get("select", "best")
    label = f"dev, x100, seed {result.get('seed', 0)}, {select} epoch"
    return [(result["task"], m, v, label) for m, v in (result.get("metrics") or {}).items()]


def finetune_facts(result: Mapping[str, Any], base_note: str | None) -> dict[str, Any]:
    """The facts table of a finetuned model's card: task, initialization, base model, seed, epoch, protocol."""
    _, dataset_name, _, _ = task_dataset(result["task"])
    protocol = result.get("config") or {}
    epochs = protocol.get("epochs")
    facts: dict[str, Any] = {"task": dataset_name if dataset_name != result["task"] else result["task"]}
    facts["initialization"] = (
        "random (a baseline: no pretraining)" if result.get("init") == "random-init" else "pretrained"
    )
    if base_note:
        facts["base model"] = base_note
    if "seed" in result:
        facts["seed"] = result["seed"]
    if "best_epoch" in result and epochs:
        facts["selected epoch"] = (
            f"{result['best_epoch']} of {epochs} ({protocol.get('select', 'best')} on dev)"
        )
    if "num_train" in result:
        facts["training examples"] = f"{int(result['num_train']):,}"
    if protocol:
        facts["protocol"] = (
            f"lr {protocol['learning_rate']:g}, batch {protocol['batch_size']}, "
            f"{epochs} epoch{'s' * (epochs != 1)}, warmup {protocol['warmup_ratio']:g}, "
            f"max length {protocol['max_length']}"
        )
    for metric, value in (result.get("metrics") or {}).items():
        facts[f"dev {metric}"] = f"{100 * float(value):.2f}"
    return facts
