"""Run a comparison: every arm pretrained to the same budget in segments, evaluated along the way, resumable.

Layout of the output directory (all of it created by compare; a rerun in it continues where it stopped)::

    compare_state.json          the plan and every finished unit (rewritten atomically after each unit)
    results.json results.md compare.png
    tokenizer/                  the vocabulary trained on the corpus (when train_tokenizer is set)
    tasks/                      the synthetic tasks (when syn-* tasks are evaluated)
    arms/<arm>/pretrain/        the arm's pretraining run: checkpoints/, model/ (final, with the model card)

The units of work, in order, are: for each arm, for each evaluation point (a step count = fraction x the arm's
budget), pretrain up to that step (``stop_at_step``; the first segment starts a fresh run, later ones resume
from the latest checkpoint, so the run is the same as an uninterrupted one) then finetune the checkpoint on
every task x learning rate x seed. The random-init twin of each architecture is finetuned once, when its first
checkpoint exists, and shared by every arm of that architecture. A finished unit is recorded in the state file
before the next one starts; a rerun skips recorded units and resumes an arm from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textssl.atomic import write_atomic
from textssl.compare.arms import arm_options
from textssl.compare.config import CompareConfig
from textssl.compare.flops import ArmFlops, arm_flops, human
from textssl.errors import CheckpointError, ConfigError, OutputExistsError

STATE_FILE = "compare_state.json"
STATE_VERSION = 1
RANDOM_INIT = "random-init"
SYNTHETIC_PREFIX = "syn-"


def _is_main() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def _barrier() -> None:
    from accelerate import PartialState

    PartialState().wait_for_everyone()


def _fmt_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def lr_key(lr: float) -> str:
    return f"{lr:g}"


class CompareRun:
    """One comparison in one output directory; :meth:`run` does (or finishes) it and returns the results."""

    def __init__(
        self,
        config: CompareConfig,
        output_dir: str | Path,
        *,
        overwrite: bool = False,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg = config
        self.out = Path(output_dir)
        self.overwrite = overwrite
        self.progress = progress
        self._log = log or (lambda line: print(line, file=sys.stdout, flush=True))
        self.session_start = time.perf_counter()
        self.state: dict[str, Any] = {}
        self.arm_plans: dict[str, dict[str, Any]] = {}
        self.costs: dict[str, ArmFlops] = {}

    # ---------------------------------------------------------------- setup

    def log(self, message: str) -> None:
        if _is_main():
            self._log(f"[compare {_fmt_seconds(self._elapsed())} | left ~{self.eta()}] {message}")

    def _elapsed(self) -> float:
        return self.state.get("seconds_before", 0.0) + time.perf_counter() - self.session_start

    def check_output_dir(self) -> bool:
        """Refuse a non-empty directory that is not a compare's own; return True when resuming one."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputExistsError(f"--output-dir {out} is a file", hint="choose a directory")
        ours = (out / STATE_FILE).is_file()
        if out.is_dir() and any(out.iterdir()) and not ours and not self.overwrite:
            raise OutputExistsError(
                f"--output-dir {out} is not empty and is not a textssl compare directory (no {STATE_FILE})",
                hint="choose another --output-dir, or pass --overwrite to replace its contents",
            )
        wipe = self.overwrite and out.is_dir() and any(out.iterdir())
        _barrier()  # every process has looked before any of them writes
        if wipe and _is_main():
            shutil.rmtree(out)
        _barrier()
        return ours and not wipe

    def prepare_shared(self, fresh: bool) -> dict[str, Any]:
        """Options every arm shares, with the tokenizer resolved (trained into ``tokenizer/`` by a fresh
        comparison, reused by a resumed one: its checkpoints depend on it)."""
        common = dict(self.cfg.common)
        spec = self.cfg.train_tokenizer
        if spec:
            target = self.out / "tokenizer"
            if fresh or not (target / "tokenizer.json").is_file():
                if fresh and _is_main():  # claim the directory first: a rerun after a later error resumes it
                    self.out.mkdir(parents=True, exist_ok=True)
                    marker = {"version": STATE_VERSION, "preparing": True}
                    write_atomic(self.out / STATE_FILE, json.dumps(marker) + "\n")
                self.log(
                    f"training a {spec['kind']} vocabulary of {spec['vocab_size']} on {common.get('data', 'synthetic')}"
                )
                if _is_main():
                    self._train_tokenizer(spec, common.get("data", "synthetic"), target)
            _barrier()  # (every process reaches it, whatever it saw)
            common["tokenizer"] = str(target)
        return common

    @staticmethod
    def _train_tokenizer(spec: dict[str, Any], data: str, target: Path) -> None:
        from itertools import islice

        from textssl.data import load_documents
        from textssl.tokenization import train_tokenizer

        docs = load_documents(data, streaming=True)
        texts = (row["text"] for row in docs)
        if spec.get("max_documents"):
            texts = islice(texts, int(spec["max_documents"]))
        train_tokenizer(spec["kind"], texts, int(spec["vocab_size"]), target, show_progress=False)

    def task_dirs(self) -> dict[str, str | None]:
        """Where each task's data comes from: generated synthetic tasks, the local GLUE folder, or the Hub."""
        dirs: dict[str, str | None] = {}
        synthetic = [t for t in self.cfg.tasks if t.startswith(SYNTHETIC_PREFIX)]
        if synthetic and self.cfg.data_dir is None:
            target = self.out / "tasks"
            if not (target / ".complete").is_file():
                from textssl.data.synthetic import write_tasks

                if _is_main():
                    write_tasks(target, seed=int(self.cfg.common.get("seed", 0)))
                    write_atomic(target / ".complete", "")
        _barrier()
        for task in self.cfg.tasks:
            if self.cfg.data_dir is not None:
                dirs[task] = self.cfg.data_dir
            elif task.startswith(SYNTHETIC_PREFIX):
                dirs[task] = str(self.out / "tasks")
            else:
                dirs[task] = None  # the Hub
        return dirs

    def plan(self, common: dict[str, Any]) -> dict[str, Any]:
        """Each arm's options, cost model, step budget and evaluation steps; and the shared settings."""
        import os

        from textssl.tokenization import TokenizerInfo, load_tokenizer

        world = int(os.environ.get("WORLD_SIZE", "1"))
        infos: dict[str, Any] = {}
        baseline_keys: dict[str, str] = {}
        for arm in self.cfg.arms:
            options = arm_options(arm, common)
            tok_name = str(options.get("tokenizer", "wordpiece"))
            if tok_name not in infos:
                infos[tok_name] = TokenizerInfo.from_tokenizer(load_tokenizer(tok_name))
            cost = arm_flops(options, infos[tok_name], world)
            try:
                cost.strategy.validate(infos[tok_name])  # e.g. T5 sentinels missing from the vocabulary
            except ConfigError as exc:
                raise ConfigError(f"arm {arm.name!r}: {exc.message}", hint=exc.hint) from None
            steps = cost.steps_for(self.cfg.budget.kind, self.cfg.budget.value)
            if steps < 1:
                raise ConfigError(
                    f"--budget {self.cfg.budget}: arm {arm.name!r} gets 0 steps (one step costs "
                    f"{human(cost.flops(1))} FLOPs, {cost.tokens_per_step} tokens)",
                    hint="raise the budget",
                )
            eval_steps = sorted({max(1, round(f * steps)) for f in self.cfg.eval_at})
            signature = json.dumps(
                {k: options.get(k) for k in ("arch", "size", "model_overrides", "tokenizer", "max_length")},
                sort_keys=True,
                default=str,
            )
            if signature not in baseline_keys:
                name = f"{options['arch']}-{options.get('size', 'tiny')}"
                taken = set(baseline_keys.values())
                key, n = name, 2
                while key in taken:
                    key, n = f"{name}-{n}", n + 1
                baseline_keys[signature] = key
            self.costs[arm.name] = cost
            self.arm_plans[arm.name] = {
                "name": arm.name,
                "slug": arm.slug,
                "options": json.loads(json.dumps(options, default=str)),
                "steps": steps,
                "eval_steps": eval_steps,
                "flops_per_step": cost.flops(steps) / steps,
                "flops_parts_per_sequence": cost.parts(),
                "tokens_per_step": cost.tokens_per_step,
                "baseline": baseline_keys[signature],
            }
        return {
            "budget": str(self.cfg.budget),
            "eval_at": self.cfg.eval_at,
            "tasks": self.cfg.tasks,
            "seeds": self.cfg.seeds,
            "finetune": dataclasses.asdict(self.cfg.protocol()),
            "finetune_lrs": self.cfg.lrs(),
            "data_dir": self.cfg.data_dir,
            "train_tokenizer": self.cfg.train_tokenizer,
            "baseline": self.cfg.baseline,
            "world_size": world,
        }

    def read_state(self) -> dict[str, Any]:
        """The state file of an earlier run in this directory."""
        path = self.out / STATE_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(
                f"{path} is unreadable ({exc})", hint="pass --overwrite to start this comparison over"
            ) from None

    def load_state(self, state: dict[str, Any], shared: dict[str, Any]) -> None:
        """Continue ``state`` (an earlier run's, or empty) after checking that its plan is this one."""
        path = self.out / STATE_FILE
        if state and not state.get("preparing"):
            if state.get("version") != STATE_VERSION:
                raise CheckpointError(
                    f"{path} was written by another version of textssl compare",
                    hint="pass --overwrite to start over",
                )
            changed = [k for k, v in shared.items() if state["shared"].get(k) != json.loads(json.dumps(v))]
            for name, plan in self.arm_plans.items():
                old = state["arms"].get(name)
                if old is not None and (old["options"] != plan["options"] or old["steps"] != plan["steps"]):
                    changed.append(f"arm {name!r}")
            if changed:
                raise ConfigError(
                    f"--output-dir {self.out} holds a comparison with another plan (changed: {', '.join(changed)})",
                    hint="rerun with the same options to resume it, use another --output-dir, or pass --overwrite",
                )
            self.state = state
            self.state["arms"].update(self.arm_plans)  # arms added to an earlier comparison
        else:
            self.state = {"version": STATE_VERSION, "shared": shared, "arms": self.arm_plans, "units": {}}
        self.state["seconds_before"] = self.state.get("seconds", 0.0)
        self.session_start = time.perf_counter()
        self.save()

    def save(self) -> None:
        self.state["seconds"] = self._elapsed()
        if _is_main():
            self.out.mkdir(parents=True, exist_ok=True)
            write_atomic(self.out / STATE_FILE, json.dumps(self.state, indent=1, sort_keys=True) + "\n")
        _barrier()

    def record(self, key: str, value: dict[str, Any]) -> None:
        """Mark a unit finished (atomically, with the time it finished)."""
        self.state["units"][key] = {**value, "finished_at": time.time()}
        self.save()

    # ---------------------------------------------------------------- units

    def pretrain_dir(self, arm: str) -> Path:
        return self.out / "arms" / self.arm_plans[arm]["slug"] / "pretrain"

    def finetune_units(self, model_key: str) -> list[tuple[str, str, float, int]]:
        """(unit key, task, lr, seed) for every finetuning run of one model (an arm's point or a twin)."""
        return [
            (f"finetune|{model_key}|{task}|{lr_key(lr)}|{seed}", task, lr, seed)
            for task in self.cfg.tasks
            for lr in self.cfg.lrs()
            for seed in self.cfg.seeds
        ]

    def pending(self, model_key: str) -> list[tuple[str, str, float, int]]:
        return [u for u in self.finetune_units(model_key) if u[0] not in self.state["units"]]

    def pretrain_to(self, arm: str, step: int) -> Path:
        """Pretrain ``arm`` up to ``step`` (resuming its run); return the model directory at that step."""
        from textssl.training.checkpoint import list_checkpoints
        from textssl.training.config import load_config
        from textssl.training.pretrain import pretrain

        plan = self.arm_plans[arm]
        pdir = self.pretrain_dir(arm)
        ckpts = list_checkpoints(pdir)
        latest = int(ckpts[-1].name.removeprefix("step_")) if ckpts else 0
        if latest > step:
            raise CheckpointError(
                f"arm {arm!r}: its run is already at step {latest}, past the evaluation point {step}",
                hint=f"delete {pdir} to retrain the arm, or pass --overwrite",
            )
        if not ckpts and pdir.exists():  # a first segment killed before its first checkpoint: ours to restart
            if _is_main():
                shutil.rmtree(pdir)
        _barrier()
        cfg = load_config(
            overrides={
                **plan["options"],
                "output_dir": str(pdir),
                "max_steps": plan["steps"],
                "stop_at_step": step,
                "resume": "latest" if ckpts else None,
                "progress": self.progress,
            }
        )
        key = f"pretrain|{arm}|{step}"
        start = time.perf_counter()
        result = pretrain(cfg)
        if result.state.step != step:
            raise CheckpointError(f"arm {arm!r}: pretraining stopped at step {result.state.step}, not {step}")
        if key not in self.state["units"]:
            self.record(
                key,
                {
                    "step": step,
                    "tokens": result.state.tokens,
                    "train_seconds": round(result.state.elapsed, 2),
                    "wall_seconds": round(time.perf_counter() - start, 2),
                    "steps_run": step - latest,
                    "eval": result.eval_metrics,
                },
            )
        return result.model_dir

    def finetune_model(self, model_dir: Path, model_key: str, label: str, random_init: bool) -> None:
        """Finetune ``model_dir`` (or its random-init twin) on every pending task x lr x seed unit."""
        from textssl.finetuning.loop import finetune

        dirs = self.task_dirs_cache
        protocol = self.cfg.protocol()
        for key, task, lr, seed in self.pending(model_key):
            self.log(f"{label}: finetuning {task} lr {lr:g} seed {seed}")
            start = time.perf_counter()
            result = finetune(
                model_dir,
                task,
                seed=seed,
                random_init=random_init,
                data_dir=dirs[task],
                config=protocol.replace(learning_rate=lr),
                show_progress=False,
            )
            self.record(
                key,
                {
                    "task": result["task"],
                    "lr": lr,
                    "seed": seed,
                    "main_metric": result["main_metric"],
                    "score": result["score"],
                    "metrics": result["metrics"],
                    "last_score": result["last_metrics"][result["main_metric"]],
                    "best_epoch": result["best_epoch"],
                    "seconds": round(time.perf_counter() - start, 2),
                },
            )

    # ---------------------------------------------------------------- progress

    def eta(self) -> str:
        """Time left, from the measured cost of finished units: seconds per pretraining FLOP and per finetune."""
        units = self.state.get("units", {})
        if not units or not self.arm_plans:
            return "?"
        pre = [
            (u, k.split("|")[1]) for k, u in units.items() if k.startswith("pretrain|") and u.get("steps_run")
        ]
        fin = [u for k, u in units.items() if k.startswith("finetune|")]
        s_per_flop = None
        if pre:
            flops = sum(
                u["steps_run"] * self.arm_plans[a]["flops_per_step"] for u, a in pre if a in self.arm_plans
            )
            s_per_flop = sum(u["wall_seconds"] for u, _ in pre) / max(flops, 1.0)
        per_task: dict[str, list[float]] = {}
        for u in fin:
            per_task.setdefault(u["task"], []).append(u["seconds"])
        mean_ft = statistics.fmean(u["seconds"] for u in fin) if fin else None
        left, unknown = 0.0, False
        for name, plan in self.arm_plans.items():
            done = max((u["step"] for k, u in units.items() if k.startswith(f"pretrain|{name}|")), default=0)
            remaining = plan["steps"] - done
            if remaining > 0:
                if s_per_flop is None:
                    unknown = True
                else:
                    left += remaining * plan["flops_per_step"] * s_per_flop
        keys = [f"{n}@{s}" for n, p in self.arm_plans.items() for s in p["eval_steps"]]
        if self.cfg.baseline:
            keys += sorted({f"{RANDOM_INIT}|{p['baseline']}" for p in self.arm_plans.values()})
        for model_key in keys:
            for _, task, _, _ in self.pending(model_key):
                times = per_task.get(task)
                if times:
                    left += statistics.fmean(times)
                elif mean_ft is not None:
                    left += mean_ft
                else:
                    unknown = True
        return _fmt_seconds(left) + ("+" if unknown else "")

    # ---------------------------------------------------------------- the run

    def run(self) -> dict[str, Any]:
        from textssl.compare import report

        for (
            arm
        ) in self.cfg.arms:  # every arm's options, objective and strategy checked before anything is written
            arm_options(arm, self.cfg.common)
        previous = self.read_state() if self.check_output_dir() else {}
        resuming = bool(previous) and not previous.get("preparing")
        common = self.prepare_shared(fresh=not resuming)
        shared = self.plan(common)
        self.load_state(previous if resuming else {}, shared)
        self.task_dirs_cache = self.task_dirs()
        arms = list(self.arm_plans)
        if resuming:
            self.log(f"resuming the comparison in {self.out} ({len(self.state['units'])} finished units)")
        for i, name in enumerate(arms, 1):
            plan = self.arm_plans[name]
            self.log(
                f"arm {i}/{len(arms)} {name}: {plan['options']['objective']} on {plan['options']['arch']}-"
                f"{plan['options'].get('size', 'tiny')}, {plan['steps']} steps "
                f"({human(plan['flops_per_step'] * plan['steps'])} FLOPs), evaluated at steps "
                f"{', '.join(map(str, plan['eval_steps']))}"
            )
            for step in plan["eval_steps"]:
                model_key = f"{name}@{step}"
                twin = f"{RANDOM_INIT}|{plan['baseline']}"
                need_twin = self.cfg.baseline and self.pending(twin)
                if (
                    not self.pending(model_key)
                    and not need_twin
                    and f"pretrain|{name}|{step}" in self.state["units"]
                ):
                    continue
                pct = 100 * step / plan["steps"]
                self.log(f"arm {name}: pretraining to step {step}/{plan['steps']} ({pct:.0f}% of the budget)")
                model_dir = self.pretrain_to(name, step)
                if need_twin:
                    self.finetune_model(
                        model_dir, twin, f"{RANDOM_INIT} {plan['baseline']}", random_init=True
                    )
                self.finetune_model(
                    model_dir, model_key, f"arm {name} @ step {step} ({pct:.0f}%)", random_init=False
                )
                if _is_main():
                    report.write_all(self.out, self.state, arms)
                _barrier()
        results = report.build_results(self.state, arms)
        if _is_main():
            report.write_all(self.out, self.state, arms)
            for name in arms:
                report.write_card(self.pretrain_dir(name) / "model", results, name)
        _barrier()
        self.save()
        self.log(f"done: {self.out / 'results.md'}, {self.out / 'compare.png'}")
        return results


def run_compare(
    config: CompareConfig,
    output_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or finish) the comparison ``config`` in ``output_dir``; return the results (also in results.json)."""
    return CompareRun(config, output_dir, overwrite=overwrite, progress=progress, log=log).run()
