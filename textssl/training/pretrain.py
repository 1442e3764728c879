"""The pretraining loop on Hugging Face Accelerate. Read it top to bottom: ``pretrain(cfg)`` is check -> setup
-> train -> finish, and each stage below takes the one run-state object, :class:`Run`.

Accelerate is the only distributed engine: one CPU, one GPU, DDP, FSDP and DeepSpeed all come from
``accelerate launch`` configs (see ``recipes/accelerate/``). Exact resume at any kill point: the loop owns its
data position (``textssl.training.data``: a seeded EpochSampler that starts at ``(epoch, batch_in_epoch)``
from the checkpoint; corruption seeded by (seed, step, rows)); the RNG, model and optimizer states are
restored by ``accelerator.load_state``. Checkpoints are written crash-safely (``textssl.training.checkpoint``)
into a run directory that belongs to its run (``textssl.training.rundir``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from textssl.atomic import atomic_dir, replace_dir
from textssl.corruption import spec_line, spec_of, strategy_from_spec
from textssl.errors import CheckpointError, ConfigError, DataError, TrainingError
from textssl.models import build_config, count_parameters, max_positions
from textssl.objectives import Objective, build_objective
from textssl.objectives.base import ObjectiveModule
from textssl.tokenization import TokenizerInfo, load_tokenizer, save_tokenizer
from textssl.training.checkpoint import (
    ACCELERATE_DIR,
    RUN_CONFIG_FILE,
    STATE_FILE,
    TrainState,
    _fault_point,
    check_run_config,
    clean_leftovers,
    prune_checkpoints,
    resolve_resume,
    set_aside_newer,
    write_manifest,
)
from textssl.training.config import PretrainConfig
from textssl.training.data import (  # noqa: F401  (EpochSampler, load_blocks: public names of this module)
    EpochSampler,
    Loaders,
    load_blocks,
    make_loaders,
)
from textssl.training.reporting import RunLog, plot_curves
from textssl.training.rundir import check_output_dir, delete_run_outputs, run_config
from textssl.training.schedules import lr_factor


@dataclass
class PretrainResult:
    """Where the run wrote its model, how far it got, its final eval metrics, and the trained model."""

    output_dir: Path
    model_dir: Path
    state: TrainState
    eval_metrics: dict[str, float]
    model: torch.nn.Module


@dataclass
class Window:
    """Training loss and tokens since the last log line (for its mean loss and tokens/s)."""

    t0: float
    loss: float = 0.0
    n: int = 0
    tokens: int = 0

    def reset(self) -> None:
        self.loss, self.n, self.tokens, self.t0 = 0.0, 0, 0, time.perf_counter()


@dataclass
class Run:
    """Everything the stages share: what is trained, on what data, where the run is, and its clocks."""

    cfg: PretrainConfig
    accelerator: Any
    saved_config: dict[str, Any]  # run_config.json of every checkpoint
    tokenizer: Any
    objective: Objective
    strategy: Any
    module: Any  # the prepared ObjectiveModule (model + objective head/loss)
    optimizer: torch.optim.Optimizer
    data: Loaders
    log: RunLog
    parameters: int
    state: TrainState = field(default_factory=TrainState)
    start: float = 0.0  # perf_counter() at which the run (with its earlier segments) would have started
    budget_s: float | None = None
    bar: Any = None
    window: Window = field(default_factory=lambda: Window(t0=time.perf_counter()))
    lr: float = 0.0
    consecutive_nan: int = 0
    eval_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        return Path(self.cfg.output_dir)

    def progress(self) -> float:
        """How far the run is, 0..1: by steps, or by time in budget mode (whichever is further)."""
        by_steps = self.state.step / self.cfg.max_steps
        if self.budget_s:
            return max(by_steps, (time.perf_counter() - self.start) / self.budget_s)
        return by_steps

    def finished(self) -> bool:
        stop = self.cfg.stop_at_step
        return self.progress() >= 1.0 or (stop is not None and self.state.step >= stop)


# --------------------------------------------------------------------------- the loop


def pretrain(cfg: PretrainConfig) -> PretrainResult:
    """Pretrain a model as ``cfg`` says; returns where the final model was written and its eval metrics."""
    from accelerate.utils import set_seed

    # Check: options, the output directory and a resume checkpoint, before anything is written or loaded.
    cfg.validate()
    if cfg.resume and cfg.overwrite:
        raise ConfigError("options resume and overwrite contradict each other: continue a run, or replace it")
    stale = check_output_dir(cfg)  # what --overwrite deletes
    _quiet_libraries()
    accelerator = make_accelerator(cfg)
    check_world_size(accelerator)
    saved_config = run_config(cfg, accelerator.num_processes)
    ckpt = checked_resume_point(cfg, accelerator, saved_config)
    accelerator.wait_for_everyone()  # every process has checked output_dir before the main one changes it
    if stale and accelerator.is_main_process:
        delete_run_outputs(stale)
        accelerator.print(f"--overwrite: deleted {', '.join(p.name for p in stale)} from {cfg.output_dir}")
    set_seed(cfg.seed)

    # Setup: tokenizer -> objective + strategy -> model -> data -> optimizer; then the checkpoint, if any.
    run = setup(cfg, accelerator, saved_config)
    if ckpt is not None:
        resume(run, ckpt)
    start_run(run)

    # Train until max_steps, the time budget or stop_at_step; log, evaluate and save along the way.
    train(run)

    # Finish: final evaluation, the model directory, the loss curves, the Hub.
    return finish(run)


def _quiet_libraries() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()  # no per-save shard bars or tied-weight notices
    transformers.utils.logging.disable_progress_bar()
    # Accelerate notes at every save that tied weights (e.g. the MLM decoder) are stored once; that is expected.
    logging.getLogger("accelerate.utils.other").setLevel(logging.ERROR)


def checked_resume_point(cfg: PretrainConfig, accelerator, saved_config: dict[str, Any]) -> Path | None:
    """The checkpoint to resume from, checked (manifest, RNG state of every process, options) before any data
    is read or model built, so a damaged one is reported at once. None for a fresh run."""
    if not cfg.resume:
        return None
    ckpt = resolve_resume(cfg.resume, Path(cfg.output_dir), warn=accelerator.print)
    if ckpt is not None:
        check_run_config(ckpt, saved_config)
    return ckpt


# --------------------------------------------------------------------------- setup


def setup(cfg: PretrainConfig, accelerator, saved_config: dict[str, Any]) -> Run:
    """Build what is trained (a stock transformers model behind its objective), its data and its optimizer."""
    tokenizer = load_tokenizer(cfg.tokenizer)
    info = TokenizerInfo.from_tokenizer(tokenizer)
    objective = build_objective(cfg.objective, cfg.arch, **cfg.objective_args)
    strategy = objective_strategy(cfg, objective)
    objective.check_strategy(strategy)
    strategy.validate(info)
    model_config = build_config(cfg.arch, cfg.size, info, cfg.max_length, cfg.model_overrides)
    model = objective.build_model(model_config)
    data = make_loaders(cfg, accelerator, tokenizer, info, strategy, max_positions(model_config))
    optimizer = build_optimizer(model, cfg)
    module, optimizer = accelerator.prepare(ObjectiveModule(objective, model), optimizer)
    return Run(
        cfg=cfg,
        accelerator=accelerator,
        saved_config=saved_config,
        tokenizer=tokenizer,
        objective=objective,
        strategy=strategy,
        module=module,
        optimizer=optimizer,
        data=data,
        log=RunLog(Path(cfg.output_dir) / "log.jsonl", enabled=accelerator.is_main_process),
        parameters=count_parameters(model),
    )


def resume(run: Run, ckpt: Path) -> None:
    """Load the checkpoint's position and training state; set aside later checkpoints of an abandoned future."""
    accelerator, out_dir = run.accelerator, run.out_dir
    run.state = TrainState.load(ckpt / STATE_FILE)
    try:
        accelerator.load_state(str(ckpt / ACCELERATE_DIR))
    except Exception as exc:  # the manifest matched, so the files are what was written; say which state
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"could not load the training state {ckpt / ACCELERATE_DIR}: {first[:300]}",
            hint="resume from an earlier checkpoint (--resume <output_dir>/checkpoints/step_N)",
        ) from exc
    accelerator.wait_for_everyone()  # every process has read the checkpoint before it is moved aside
    if accelerator.is_main_process:
        if ckpt.parent.resolve() == (out_dir / "checkpoints").resolve():
            for moved in set_aside_newer(out_dir, run.state.step):
                accelerator.print(f"kept the abandoned later checkpoint as {moved}")
        clean_leftovers(out_dir)
        run.log.truncate_after(run.state.step)
    accelerator.print(f"resumed from {ckpt} at step {run.state.step} (epoch {run.state.epoch})")


def start_run(run: Run) -> None:
    """Log the config, start the trackers, the progress bar and the clocks (continuing a resumed run's)."""
    from textssl.training.progress import progress_bar

    cfg, accelerator, state = run.cfg, run.accelerator, run.state
    if accelerator.is_main_process:
        run.out_dir.mkdir(parents=True, exist_ok=True)
        record = {"event": "config", **asdict(cfg), "strategy_spec": spec_of(run.strategy)}
        record["parameters"] = run.parameters
        run.log.write({**record, "world_size": accelerator.num_processes})
    tracker_config = {k: v for k, v in asdict(cfg).items() if isinstance(v, int | float | str | bool)}
    accelerator.init_trackers("pretrain", config=tracker_config)
    run.budget_s = cfg.budget_minutes * 60 if cfg.budget_minutes else None
    # The bar counts steps, or seconds in time-budget mode (so its ETA is the budget's end).
    run.bar = progress_bar(  # a line per 10% when stderr is not a terminal
        total=int(run.budget_s) if run.budget_s else cfg.max_steps,
        initial=int(state.elapsed) if run.budget_s else state.step,
        disable=not (cfg.progress and accelerator.is_local_main_process),
        desc=f"{cfg.objective}/{cfg.arch}-{cfg.size}",
        unit="s" if run.budget_s else "step",
    )
    run.start = time.perf_counter() - state.elapsed
    run.window = Window(t0=time.perf_counter())


# --------------------------------------------------------------------------- train


def train(run: Run) -> None:
    """Epochs of optimizer steps until the run is finished; after each step: maybe log, evaluate, save."""
    state = run.state
    run.module.train()
    while not run.finished():
        seen = 0
        for batch in epoch_batches(run):
            seen += 1
            if not train_micro_batch(run, batch):
                continue  # gradient accumulation, or a skipped NaN batch
            maybe_log(run)
            maybe_eval(run)
            if maybe_save(run):
                break
        else:
            if not seen and not state.batch_in_epoch:
                raise DataError(f"data {run.cfg.data!r} gave no training batch in epoch {state.epoch}")
            state.epoch += 1
            state.batch_in_epoch = 0
    run.bar.close()


def epoch_batches(run: Run):
    """The rest of the current epoch's micro-batches, from ``state.batch_in_epoch`` on."""
    cfg, state, data = run.cfg, run.state, run.data
    data.collator.set_epoch(state.epoch)
    data.train.generator.manual_seed(cfg.seed + state.epoch)  # worker seeds: a function of the epoch
    if data.sampler is not None:
        data.sampler.set_position(state.epoch, state.batch_in_epoch)
        return iter(data.train)
    data.train_blocks.set_epoch(state.epoch)
    # Streamed rows carry no step: tell the Collator the step of the epoch's first batch (the skipped batches
    # of a resumed epoch are collated too), so rate schedules follow the optimizer step.
    data.collator.set_step(
        state.step - state.batch_in_epoch // cfg.grad_accum, batches_per_step=cfg.grad_accum
    )
    return itertools.islice(iter(data.train), state.batch_in_epoch, None)


def train_micro_batch(run: Run, batch) -> bool:
    """Forward and backward one micro-batch; True when it completed an optimizer step."""
    from accelerate.utils import send_to_device

    cfg, accelerator, module, state = run.cfg, run.accelerator, run.module, run.state
    batch = send_to_device(batch, accelerator.device)
    state.batch_in_epoch += 1
    with accelerator.accumulate(module):
        loss, _ = module(batch)
        if not _all_finite(accelerator, loss):
            skip_nan_batch(run)
            return False
        run.consecutive_nan = 0
        accelerator.backward(loss)
        if accelerator.sync_gradients and cfg.max_grad_norm > 0:
            accelerator.clip_grad_norm_(module.parameters(), cfg.max_grad_norm)
        run.lr = cfg.lr * lr_factor(cfg.schedule, run.progress(), cfg.warmup, cfg.decay)
        for group in run.optimizer.param_groups:
            group["lr"] = run.lr
        run.optimizer.step()
        run.optimizer.zero_grad(set_to_none=True)
    batch_tokens = int(batch["attention_mask"].sum()) * accelerator.num_processes
    state.tokens += batch_tokens
    run.window.loss += loss.detach().float().item()
    run.window.n += 1
    run.window.tokens += batch_tokens
    if not accelerator.sync_gradients:
        return False
    state.step += 1
    if run.budget_s:
        run.bar.n = min(int(time.perf_counter() - run.start), run.bar.total)
    run.bar.update(0 if run.budget_s else 1)
    return True


def _all_finite(accelerator, loss: torch.Tensor) -> bool:
    finite = torch.isfinite(loss.detach()).float()
    if accelerator.num_processes > 1:  # every rank skips together, or DDP would hang
        finite = accelerator.reduce(finite, reduction="sum") / accelerator.num_processes
    return finite.item() >= 1.0


def skip_nan_batch(run: Run) -> None:
    """Drop a batch whose loss is NaN/Inf; stop with advice after ``max_nan_skips`` in a row."""
    cfg, state = run.cfg, run.state
    run.consecutive_nan += 1
    state.nan_skips += 1
    run.optimizer.zero_grad(set_to_none=True)
    run.log.write({"event": "nan_skip", "step": state.step, "consecutive": run.consecutive_nan})
    run.accelerator.print(
        f"step {state.step}: loss is NaN/Inf, batch skipped ({run.consecutive_nan} in a row)"
    )
    if run.consecutive_nan >= cfg.max_nan_skips:
        raise TrainingError(
            f"the loss was NaN/Inf for {run.consecutive_nan} batches in a row at step {state.step}; "
            f"lower lr (now {cfg.lr}), raise warmup, or use mixed_precision='no' "
            f"(option max_nan_skips={cfg.max_nan_skips})"
        )


def maybe_log(run: Run) -> None:
    """Every ``log_every`` steps (and at step 1): mean loss, lr, tokens and tokens/s since the last line."""
    state, window = run.state, run.window
    if not (state.step % run.cfg.log_every == 0 or state.step == 1):
        return
    dt = time.perf_counter() - window.t0
    record = {
        "step": state.step,
        "loss": window.loss / max(window.n, 1),
        "lr": run.lr,
        "tokens": state.tokens,
        "tokens_per_s": window.tokens / max(dt, 1e-9),
        "elapsed": time.perf_counter() - run.start,
    }
    run.log.write(record)
    _fault_point("step", state.step)
    run.accelerator.log({"train/loss": record["loss"], "train/lr": run.lr}, step=state.step)
    run.bar.set_postfix(step=state.step, loss=f"{record['loss']:.3f}", tok_s=f"{record['tokens_per_s']:.0f}")
    window.reset()


def maybe_eval(run: Run) -> None:
    """Every ``eval_every`` steps: held-out loss and metrics."""
    if run.state.step % run.cfg.eval_every == 0:
        run_eval(run, track=True)


def run_eval(run: Run, track: bool) -> None:
    metrics = evaluate(run.accelerator, run.objective, run.module, run.data.eval, run.cfg.eval_batches)
    run.eval_metrics = metrics
    run.log.write({"step": run.state.step, **{f"eval_{k}": v for k, v in metrics.items()}})
    if track:
        run.accelerator.log({f"eval/{k}": v for k, v in metrics.items()}, step=run.state.step)


def maybe_save(run: Run) -> bool:
    """Every ``save_every`` steps and at the end: a checkpoint. True when the run is finished."""
    done = run.finished()
    if run.state.step % run.cfg.save_every == 0 or done:
        run.state.elapsed = time.perf_counter() - run.start
        save_checkpoint(run)
    return done


# --------------------------------------------------------------------------- finish


def finish(run: Run) -> PretrainResult:
    """Final evaluation (unless the last step had one), the model directory, loss curves, trackers, the Hub."""
    cfg, accelerator, state = run.cfg, run.accelerator, run.state
    if not run.eval_metrics or state.step % cfg.eval_every:
        run_eval(run, track=False)
    model_dir = run.out_dir / "model"
    state.elapsed = time.perf_counter() - run.start
    save_model_dir(run, model_dir, run.eval_metrics)
    if accelerator.is_main_process:
        plot_curves(run.out_dir / "log.jsonl", run.out_dir / "loss.png")
        summary = ", ".join(f"{k} {v:.4f}" for k, v in run.eval_metrics.items())
        accelerator.print(f"done: {state.step} steps, {state.tokens:,} tokens, eval {summary} -> {model_dir}")
    # Not accelerator.end_training(): it also destroys the process group, and pretrain() is a library call
    # that a script may follow with more distributed work (another run, finetuning). The process ends it.
    for tracker in accelerator.trackers:
        tracker.finish()
    if cfg.push_to_hub and accelerator.is_main_process:
        from textssl.hub import push_to_hub

        push_to_hub(model_dir, cfg.push_to_hub)
    model = accelerator.unwrap_model(run.module).model
    return PretrainResult(run.out_dir, model_dir, state, run.eval_metrics, model)


# --------------------------------------------------------------------------- building blocks


def check_world_size(accelerator) -> None:
    """Refuse to run as a silent duplicate or a silent single process.

    * ``WORLD_SIZE`` (set by torchrun, i.e. ``accelerate launch --multi_gpu``) must equal Accelerate's count.
    * ``accelerate launch --cpu --num_processes N`` (N > 1) starts ONE process: its simple launcher sets
      ``MASTER_ADDR``/``MASTER_PORT`` (only when asked for more than one process) but no ``WORLD_SIZE``. That
      signature with a world of 1 means the user asked for N processes and got one.
    """
    fix = (
        "on CPU use 'ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes N ...' "
        "(or ACCELERATE_USE_CPU=1 with --config_file recipes/accelerate/cpu_ddp.yaml)"
    )
    env = os.environ
    world = int(env.get("WORLD_SIZE", "1"))
    if accelerator.num_processes != world:
        raise TrainingError(
            f"Accelerate runs {accelerator.num_processes} process(es) but WORLD_SIZE={world}: every process would "
            "train its own unsynchronised copy",
            hint=fix,
        )
    simple_launcher = "ACCELERATE_DYNAMO_BACKEND" in env and "WORLD_SIZE" not in env
    if simple_launcher and "MASTER_PORT" in env and accelerator.num_processes == 1:
        raise TrainingError(
            "accelerate launch was asked for several processes but started one (its --cpu launcher runs a single "
            "process whatever --num_processes says)",
            hint=fix,
        )


def make_accelerator(cfg: PretrainConfig):
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    from textssl.training.tracking import resolve_trackers

    # auto: tensorboard when installed (the `tracking` extra); a named tracker that is missing is a ConfigError.
    trackers = resolve_trackers(cfg.report_to)
    return Accelerator(
        mixed_precision=cfg.mixed_precision,
        gradient_accumulation_steps=cfg.grad_accum,
        log_with=trackers,
        project_config=ProjectConfiguration(project_dir=cfg.output_dir, logging_dir=f"{cfg.output_dir}/tb"),
    )


def build_optimizer(model: torch.nn.Module, cfg: PretrainConfig) -> torch.optim.Optimizer:
    """AdamW without weight decay on biases and normalisation weights (standard BERT practice)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps)


def objective_strategy(cfg: PretrainConfig, objective: Objective):
    """The configured corruption strategy (a spec, :mod:`textssl.corruption.spec`), or the objective's default."""
    if cfg.strategy is None:
        if cfg.strategy_args:
            raise ConfigError(
                f"option strategy_args={cfg.strategy_args} needs a strategy",
                hint="name one (strategy: whole_word_masking), or write the arguments into a strategy spec",
            )
        return objective.default_strategy()
    if not cfg.strategy_args:
        return strategy_from_spec(cfg.strategy)
    if not isinstance(cfg.strategy, str) or "+" in cfg.strategy:
        raise ConfigError(
            f"option strategy_args applies to one named strategy, not to {cfg.strategy!r}",
            hint="write each member's arguments into the spec: {compose: [{name: ..., rate: ...}, ...]}",
        )
    return strategy_from_spec({"name": cfg.strategy, **cfg.strategy_args})


def strategy_card_line(strategy) -> str:
    """The strategy as the one-line YAML spec a config would hold (``repr`` for an unregistered strategy)."""
    try:
        return f"`{spec_line(strategy)}`"
    except ConfigError:
        return repr(strategy)


@torch.no_grad()
def evaluate(accelerator, objective: Objective, module, loader, max_batches: int) -> dict[str, float]:
    """Mean loss and the objective's metrics over up to ``max_batches`` held-out batches."""
    from accelerate.utils import send_to_device

    module.eval()
    totals: dict[str, torch.Tensor] = {}
    loss_sum = torch.zeros((), device=accelerator.device)
    n = torch.zeros((), device=accelerator.device)
    for i, batch in enumerate(loader):
        if i >= max_batches:
            break
        batch = send_to_device(batch, accelerator.device)
        loss, metrics = module(batch)
        loss_sum += loss.detach().float()
        n += 1
        for k, v in metrics.items():
            totals[k] = totals.get(k, 0) + v.detach().float().to(accelerator.device)
    module.train()
    keys = sorted(totals)
    packed = accelerator.reduce(torch.stack([loss_sum, n, *[totals[k] for k in keys]]), reduction="sum")
    summed = dict(zip(keys, packed[2:].tolist()))
    out = {"loss": (packed[0] / packed[1].clamp(min=1)).item()}
    out.update(objective.summarize(summed))
    return out


# --------------------------------------------------------------------------- saving


def _write_model(run: Run, directory: Path, metrics: dict[str, float]) -> None:
    """Write the stock HF model directory (weights, config, tokenizer, model card) into ``directory``."""
    from textssl.hub import write_model_card

    cfg, objective, state = run.cfg, run.objective, run.state
    unwrapped = run.accelerator.unwrap_model(run.module).model
    objective.model_to_save(unwrapped).save_pretrained(str(directory), safe_serialization=True)
    saved_tokenizer = objective.tokenizer_to_save(run.tokenizer)
    save_tokenizer(saved_tokenizer, directory)
    objective.save_extra(unwrapped, str(directory), saved_tokenizer)
    details = {"architecture": f"{cfg.arch} ({cfg.size})", "corruption": strategy_card_line(run.strategy)}
    details.update({f"eval {k}": round(v, 4) for k, v in metrics.items()})
    write_model_card(
        directory,
        objective=cfg.objective,
        datasets=[d for d in (cfg.data, cfg.eval_data) if d],
        steps=state.step,
        tokens_seen=state.tokens,
        budget=f"{cfg.budget_minutes} minutes" if cfg.budget_minutes else f"{cfg.max_steps} steps",
        details=details,
        model_name=run.out_dir.name,
    )


def save_checkpoint(run: Run) -> None:
    """Write ``checkpoints/step_<N>`` crash-safely (temp dir, manifest last, rename) and prune old ones."""
    accelerator, state = run.accelerator, run.state
    root = run.out_dir / "checkpoints"
    target = root / f"step_{state.step}"
    tmp = root / f".{target.name}.tmp"
    if accelerator.is_main_process:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp / ACCELERATE_DIR))  # every process writes its RNG state
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        _write_model(run, tmp, {})
        state.save(tmp / STATE_FILE)
        (tmp / RUN_CONFIG_FILE).write_text(json.dumps(run.saved_config, indent=2, sort_keys=True) + "\n")
        _fault_point("checkpoint")
        write_manifest(tmp)  # last: a checkpoint without a matching manifest is never resumed from
        replace_dir(tmp, target)
        prune_checkpoints(run.out_dir, run.cfg.keep_checkpoints)
    accelerator.wait_for_everyone()


def save_model_dir(run: Run, directory: Path, metrics: dict[str, float]) -> None:
    """Atomically write the final model directory."""
    run.accelerator.wait_for_everyone()
    if run.accelerator.is_main_process:
        with atomic_dir(directory) as tmp:
            _write_model(run, tmp, metrics)
    run.accelerator.wait_for_everyone()
