"""Compare results: ``results.json``, ``results.md``, ``compare.png`` and a section in each arm's model card.

Everything is rebuilt from the state file (the finished units), so partial results can be written after every
evaluation point and a resumed comparison reports exactly what an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textssl.atomic import atomic_file, write_atomic
from textssl.compare.flops import human

RANDOM_INIT = "random-init"
CARD_HEADING = "textssl compare results"
# The pretraining metric shown per objective (all of them are in results.json).
PRETRAIN_METRIC = {
    "mlm": "mlm_acc",
    "sop": "mlm_acc",
    "nsp": "mlm_acc",
    "electra": "rtd_acc",
    "clm": "perplexity",
    "seq2seq": "token_acc",
}
_SHORT = {
    "matthews_correlation": "MCC",
    "accuracy": "acc",
    "f1": "F1",
    "spearmanr": "Spearman",
    "pearson": "Pearson",
}


# Gains over the random-init twin (points of the average) whose compute the trend line extrapolates.
TREND_TARGETS = (1.0, 3.0)
FAR_MULTIPLE = 1000  # crossings further out than this many budgets are reported as "beyond", not as a number


def _lr_key(lr: float) -> str:
    return f"{lr:g}"


def summarize_model(
    units: Mapping[str, Any], model_key: str, tasks: Sequence[str], lrs: Sequence[float], seeds: Sequence[int]
) -> dict[str, Any] | None:
    """Per task the best learning rate's median over seeds (min–max), and the average over tasks.

    The learning rate is chosen per task by the median dev score over all seeds (ties: the first in the grid);
    only learning rates with every seed finished are candidates. The average is the mean of the per-task
    medians; its min–max spans the per-seed task averages (at each task's chosen learning rate).
    """
    out: dict[str, Any] = {"tasks": {}}
    for task in tasks:
        by_lr: dict[str, Any] = {}
        for lr in lrs:
            runs = [units.get(f"finetune|{model_key}|{task}|{_lr_key(lr)}|{s}") for s in seeds]
            if any(r is None for r in runs):
                continue
            scores = [r["score"] for r in runs]
            by_lr[_lr_key(lr)] = {
                "median": statistics.median(scores),
                "min": min(scores),
                "max": max(scores),
                "scores": scores,
                "main_metric": runs[0]["main_metric"],
            }
        if not by_lr:
            continue
        best = max(by_lr, key=lambda k: (by_lr[k]["median"], -list(by_lr).index(k)))
        out["tasks"][task] = {**by_lr[best], "lr": float(best), "by_lr": by_lr}
    if not out["tasks"]:
        return None
    done = [out["tasks"][t] for t in tasks if t in out["tasks"]]
    per_seed = [statistics.fmean(t["scores"][i] for t in done) for i in range(len(seeds))]
    out["average"] = {
        "median": statistics.fmean(t["median"] for t in done),
        "min": min(per_seed),
        "max": max(per_seed),
        "complete": len(done) == len(tasks),
    }
    return out


def build_results(state: Mapping[str, Any], arms: Sequence[str]) -> dict[str, Any]:
    """The comparison's results from its state: one entry per arm with its evaluation points, and the twins."""
    shared, units = state["shared"], state["units"]
    tasks, lrs, seeds = shared["tasks"], shared["finetune_lrs"], shared["seeds"]
    results: dict[str, Any] = {
        **{
            k: shared[k]
            for k in ("budget", "eval_at", "tasks", "seeds", "finetune", "finetune_lrs", "data_dir")
        },
        "flops": "training FLOPs = 3 x forward, counted per objective (docs/compare.md)",
        "lr_selection": "per model and task, the learning rate with the best median dev score over seeds",
        "arms": [],
        "baselines": {},
        "seconds": round(state.get("seconds", 0.0), 1),
    }
    for name in arms:
        plan = state["arms"][name]
        opts = plan["options"]
        arm: dict[str, Any] = {
            "name": name,
            "objective": opts.get("objective"),
            "arch": opts.get("arch"),
            "size": opts.get("size", "tiny"),
            "strategy": opts.get("strategy") or "(objective default)",
            "steps": plan["steps"],
            "flops_per_step": plan["flops_per_step"],
            "tokens_per_step": plan["tokens_per_step"],
            "baseline": plan["baseline"],
            "model_dir": f"arms/{plan['slug']}/pretrain/model",
            "points": [],
        }
        for step in plan["eval_steps"]:
            pre = units.get(f"pretrain|{name}|{step}")
            if pre is None:
                continue
            point = {
                "step": step,
                "fraction": step / plan["steps"],
                "flops": step * plan["flops_per_step"],
                "tokens": pre["tokens"],
                "train_seconds": pre["train_seconds"],
                "pretrain_eval": pre["eval"],
            }
            summary = summarize_model(units, f"{name}@{step}", tasks, lrs, seeds)
            if summary:
                point.update(summary)
            arm["points"].append(point)
        results["arms"].append(arm)
        key = plan["baseline"]
        if shared.get("baseline", True) and key not in results["baselines"]:
            summary = summarize_model(units, f"{RANDOM_INIT}|{key}", tasks, lrs, seeds)
            if summary:
                results["baselines"][key] = {
                    "arch": opts.get("arch"),
                    "size": opts.get("size", "tiny"),
                    **summary,
                }
    for arm in results["arms"]:
        twin = results["baselines"].get(arm["baseline"], {}).get("average")
        for p in arm["points"]:
            if twin and twin["complete"] and p.get("average", {}).get("complete"):
                p["gain_over_twin"] = 100 * (p["average"]["median"] - twin["median"])
        arm["trend"] = gain_trend(arm)
    return results


def gain_trend(arm: Mapping[str, Any]) -> dict[str, Any] | None:
    """A least-squares line through (log2 FLOPs, gain over the twin) of an arm's evaluation points.

    The gain of a short pretraining run tends to grow by a roughly constant amount per doubling of compute, so
    the line answers "how much does each doubling buy, and at what budget would the gain reach +N points if it
    kept that slope" (``TREND_TARGETS``). Needs two points at different budgets; an extrapolation, not a
    measurement, and only as good as the straight line through the measured points.
    """
    pts = [(math.log2(p["flops"]), p["gain_over_twin"]) for p in arm["points"] if "gain_over_twin" in p]
    if len({x for x, _ in pts}) < 2:
        return None
    mx, my = statistics.fmean(x for x, _ in pts), statistics.fmean(y for _, y in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    budget = arm["steps"] * arm["flops_per_step"]
    last = max(arm["points"], key=lambda p: p["step"])
    seconds_per_flop = last["train_seconds"] / last["flops"] if last["flops"] else 0.0
    crossings = {}
    for target in TREND_TARGETS:
        if slope <= 0:
            crossings[f"{target:g}"] = None
            continue
        flops = 2 ** (mx + (target - my) / slope)
        crossings[f"{target:g}"] = {
            "flops": flops,
            "budget_multiple": flops / budget,
            "train_minutes": flops * seconds_per_flop / 60,
        }
    return {"points": len(pts), "gain_per_doubling": slope, "crossings": crossings}


def _long_duration(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} minutes"
    return f"{minutes / 60:.0f} hours" if minutes < 48 * 60 else f"{minutes / 1440:.0f} days"


def trend_lines(results: Mapping[str, Any]) -> list[str]:
    """One sentence per arm with a trend: the gain per doubling of compute and where it would reach each target."""
    lines = []
    for arm in results["arms"]:
        trend = arm.get("trend")
        if not trend:
            continue
        text = (
            f"- **{arm['name']}**: {trend['gain_per_doubling']:+.2f} points of the average over its random-init "
            f"twin per doubling of compute (a line through {trend['points']} points)"
        )
        parts = []
        for target, cross in trend["crossings"].items():
            if cross is None:
                parts.append(f"never reaches +{target} at this slope")
            elif cross["budget_multiple"] <= 1:
                parts.append(f"+{target} at {human(cross['flops'])} FLOPs (within the budget)")
            elif cross["budget_multiple"] > FAR_MULTIPLE:
                parts.append(f"+{target} only beyond {FAR_MULTIPLE:,}x the budget (the line is nearly flat)")
            else:
                parts.append(
                    f"+{target} at {human(cross['flops'])} FLOPs ({cross['budget_multiple']:.1f}x the budget, "
                    f"about {_long_duration(cross['train_minutes'])} of pretraining at this run's speed)"
                )
        lines.append(text + "; " + "; ".join(parts) + ".")
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _cell(s: Mapping[str, Any] | None) -> str:
    if not s:
        return "–"
    return f"{100 * s['median']:.1f} ({100 * s['min']:.1f}–{100 * s['max']:.1f})"


def _pretrain_cell(objective: str, metrics: Mapping[str, float]) -> str:
    name = PRETRAIN_METRIC.get(objective, "loss")
    if name not in metrics:
        name = "loss"
    value = metrics.get(name)
    if value is None:
        return "–"
    return f"{name} {100 * value:.1f}" if name.endswith("_acc") else f"{name} {value:.3g}"


def _task_header(results: Mapping[str, Any], task: str) -> str:
    metric = None
    for arm in results["arms"]:
        for p in arm["points"]:
            if task in p.get("tasks", {}):
                metric = p["tasks"][task]["main_metric"]
    return f"{task} ({_SHORT.get(metric, metric)})" if metric else task


def rows(results: Mapping[str, Any], arm_filter: str | None = None) -> list[str]:
    """The markdown table: one row per arm x evaluation point, then the random-init twins."""
    tasks = results["tasks"]
    head = ["arm", "budget", "step", "tokens", "FLOPs", "pretrain time", "pretrain eval"]
    head += [_task_header(results, t) for t in tasks] + ["average", "vs twin"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    used = set()
    for arm in results["arms"]:
        if arm_filter and arm["name"] != arm_filter:
            continue
        used.add(arm["baseline"])
        for p in arm["points"]:
            cells = [
                f"**{arm['name']}**" if arm_filter else arm["name"],
                f"{100 * p['fraction']:.0f}%",
                str(p["step"]),
                f"{p['tokens']:,}",
                human(p["flops"]),
                _duration(p["train_seconds"]),
                _pretrain_cell(arm["objective"], p["pretrain_eval"]),
            ]
            cells += [_cell(p.get("tasks", {}).get(t)) for t in tasks]
            cells.append(_cell(p.get("average")))
            cells.append(f"{p['gain_over_twin']:+.1f}" if "gain_over_twin" in p else "–")
            lines.append("| " + " | ".join(cells) + " |")
    for key, b in results["baselines"].items():
        if arm_filter and key not in used:
            continue
        cells = [f"{RANDOM_INIT} ({key})", "–", "0", "0", "0", "–", "–"]
        cells += [_cell(b["tasks"].get(t)) for t in tasks] + [_cell(b.get("average")), "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def results_markdown(results: Mapping[str, Any]) -> str:
    lrs = results["finetune_lrs"]
    ft = results["finetune"]
    n = len(results["seeds"])
    lines = [
        "# textssl compare",
        "",
        f"Budget {results['budget']} per arm, evaluated at {', '.join(f'{100 * f:.0f}%' for f in results['eval_at'])}.",
        "",
        *rows(results),
        "",
        f"Dev scores x100: median over {n} seed{'s' * (n > 1)} (min–max), best dev epoch. Average = mean of the "
        "per-task medians; its range spans the per-seed task averages; vs twin = the average minus that of the "
        "architecture's random-init twin, in points. FLOPs = training FLOPs (3 x forward) "
        "counted per objective (docs/compare.md); pretrain time = training seconds of the arm up to that step. "
        "Points below 100% are checkpoints of the full run (its learning-rate schedule spans the whole budget).",
        "",
        f"Finetuning protocol: batch {ft['batch_size']}, {ft['epochs']} epochs, warmup {ft['warmup_ratio']:g}, "
        f"max length {ft['max_length']}"
        + (f", at most {ft['max_train_samples']} training examples" if ft.get("max_train_samples") else "")
        + (
            f"; learning rate searched per model and task over {', '.join(f'{lr:g}' for lr in lrs)} "
            "(the best median on dev; the same grid for every arm and the random-init twins)."
            if len(lrs) > 1
            else f"; learning rate {lrs[0]:g} for every model and task (no search)."
        ),
    ]
    if len(lrs) > 1:
        lines += ["", "Chosen learning rate per task:", ""]
        lines += [
            "| model | " + " | ".join(results["tasks"]) + " |",
            "|---|" + "---|" * len(results["tasks"]),
        ]
        for arm in results["arms"]:
            for p in arm["points"]:
                cells = [
                    f"{p['tasks'][t]['lr']:g}" if t in p.get("tasks", {}) else "–" for t in results["tasks"]
                ]
                lines.append(f"| {arm['name']} @ {100 * p['fraction']:.0f}% | " + " | ".join(cells) + " |")
        for key, b in results["baselines"].items():
            cells = [f"{b['tasks'][t]['lr']:g}" if t in b["tasks"] else "–" for t in results["tasks"]]
            lines.append(f"| {RANDOM_INIT} ({key}) | " + " | ".join(cells) + " |")
    trend = trend_lines(results)
    if trend:
        lines += ["", "Trend (an extrapolation, not a measurement):", "", *trend]
    lines += ["", f"{results['seconds'] / 60:.1f} minutes in all."]
    return "\n".join(lines) + "\n"


def plot(results: Mapping[str, Any], path: str | Path) -> Path:
    """Downstream average against training FLOPs, one line per arm, each random-init twin a dashed line."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for arm in results["arms"]:
        pts = [p for p in arm["points"] if p.get("average")]
        if not pts:
            continue
        xs = [p["flops"] for p in pts]
        ys = [100 * p["average"]["median"] for p in pts]
        lo = [max(0.0, 100 * (p["average"]["median"] - p["average"]["min"])) for p in pts]
        hi = [max(0.0, 100 * (p["average"]["max"] - p["average"]["median"])) for p in pts]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=arm["name"])
    styles = ["--", ":", "-.", (0, (5, 1))]
    for i, (key, b) in enumerate(results["baselines"].items()):
        if b.get("average"):
            ax.axhline(
                100 * b["average"]["median"],
                color="gray",
                linestyle=styles[i % len(styles)],
                label=f"{RANDOM_INIT} ({key})",
            )
    ax.set_xlabel("pretraining compute (training FLOPs)")
    ax.set_ylabel("downstream average x100 (median over seeds)")
    ax.set_title(f"textssl compare: {results['budget']} per arm")
    right = max((p["flops"] for a in results["arms"] for p in a["points"]), default=1.0)
    ax.set_xlim(0, 1.05 * right)  # the last points off the frame's edge
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def write_all(out: Path, state: Mapping[str, Any], arms: Sequence[str]) -> dict[str, Any]:
    """Write results.json, results.md and compare.png (each atomically) from the state."""
    results = build_results(state, arms)
    write_atomic(out / "results.json", json.dumps(results, indent=2) + "\n")
    write_atomic(out / "results.md", results_markdown(results))
    plot(results, out / "compare.png")
    return results


def upsert_section(markdown: str, heading: str, body: str) -> str:
    """Replace the ``## heading`` section of ``markdown`` with ``body`` (or append it); keep everything else.

    The section runs to the next heading of level 1 or 2 (or the end). Front matter and other sections are
    left byte for byte as they were.
    """
    lines = markdown.split("\n")
    title = f"## {heading}"
    start = next((i for i, line in enumerate(lines) if line.strip() == title), None)
    section = [title, "", *body.rstrip("\n").split("\n")]
    if start is None:
        text = markdown.rstrip("\n")
        return (text + "\n\n" if text else "") + "\n".join(section) + "\n"
    end = next(
        (j for j in range(start + 1, len(lines)) if lines[j].startswith("# ") or lines[j].startswith("## ")),
        len(lines),
    )
    tail = lines[end:]
    return "\n".join(lines[:start] + section + ([""] + tail if tail else [""]))


def write_card(model_dir: Path, results: Mapping[str, Any], arm: str) -> Path | None:
    """Add (or refresh) the compare results of ``arm`` in its final checkpoint's model card."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return None
    card = model_dir / "README.md"
    old = card.read_text(encoding="utf-8") if card.is_file() else ""
    others = [a["name"] for a in results["arms"] if a["name"] != arm]
    body = "\n".join(
        [
            f"This checkpoint is arm **{arm}** of a `textssl compare` run: every arm pretrained with the same "
            f"budget ({results['budget']}), finetuned at {', '.join(f'{100 * f:.0f}%' for f in results['eval_at'])} "
            f"of it and compared with a random-init twin of the same architecture"
            + (f"; the other arms: {', '.join(others)}." if others else "."),
            "",
            *rows(results, arm_filter=arm),
            "",
            f"Dev scores x100, median over {len(results['seeds'])} seed(s) (min–max); learning rate(s) "
            f"{', '.join(f'{lr:g}' for lr in results['finetune_lrs'])}, the best per task. The full table, with "
            "every arm, is the comparison's results.md.",
        ]
    )
    return write_atomic(card, upsert_section(old, CARD_HEADING, body))
