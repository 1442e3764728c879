"""The pretraining loop on Hugging Face Accelerate. Read it top to bottom: ``pretrain(cfg)``.

Accelerate is the only distributed engine: one CPU, one GPU, DDP, FSDP and DeepSpeed all come from
``accelerate launch`` configs (see ``recipes/accelerate/``). Exact resume at any kill point: the loop owns its
data position. The EpochSampler serves each process its share of a seeded permutation per epoch, starting at
``(epoch, batch_in_epoch)`` from the checkpoint; corruption is seeded by (seed, step, rows); the RNG, model and
optimizer states are restored by ``accelerator.load_state``. The training DataLoader is deliberately not
passed to ``accelerator.prepare``: its wrapper keeps its own epoch counter, which restarts at 0 after a resume.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Sized
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from textssl.atomic import atomic_dir, replace_dir
from textssl.collator import Collator
from textssl.corruption import build_strategy
from textssl.errors import CheckpointError, ConfigError, DataError, OutputExistsError, TrainingError
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
from textssl.training.reporting import RunLog, plot_curves
from textssl.training.schedules import lr_factor

BLOCK_COLUMNS = ("input_ids", "document_ids", "sentence_ids")


# --------------------------------------------------------------------------- data plumbing


class EpochSampler(Sampler):
    """This process's micro-batches of a seeded permutation per epoch, as lists of ``(row, step)`` pairs.

    An epoch is a whole number of optimizer steps: the permutation is cut to ``steps_per_epoch`` steps of
    ``batch_size x grad_accum x num_processes`` rows, and micro-batch ``b`` of the epoch goes to process
    ``b % num_processes``. ``set_position(epoch, start_batch)`` makes the next iteration yield only the
    batches from ``start_batch`` on, so a resumed run continues exactly where the checkpoint was written.
    ``step`` is the optimizer step the row's batch belongs to; the Collator uses it for rate schedules and,
    with the row ids, for the batch's seed, so corruption does not depend on workers or on resuming.
    """

    def __init__(
        self,
        num_rows: int,
        seed: int,
        batch_size: int,
        grad_accum: int = 1,
        num_processes: int = 1,
        rank: int = 0,
    ) -> None:
        self.num_rows, self.seed, self.batch_size = num_rows, seed, batch_size
        self.grad_accum, self.num_processes, self.rank = grad_accum, num_processes, rank
        self.rows_per_step = batch_size * grad_accum * num_processes
        self.steps_per_epoch = num_rows // self.rows_per_step
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"{num_rows} training blocks are fewer than one optimizer step "
                f"(batch_size {batch_size} x grad_accum {grad_accum} x {num_processes} processes); "
                "use more data or a smaller batch_size/grad_accum"
            )
        self.batches_per_epoch = self.steps_per_epoch * grad_accum  # per process
        self.epoch, self.start_batch = 0, 0

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        """Where the next iteration starts: ``start_batch`` micro-batches into ``epoch`` (per process)."""
        if not 0 <= start_batch <= self.batches_per_epoch:
            raise CheckpointError(
                f"checkpoint position batch {start_batch} of epoch {epoch} is outside the epoch's "
                f"{self.batches_per_epoch} batches; was the checkpoint written with other data?"
            )
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def set_epoch(self, epoch: int) -> None:
        self.set_position(epoch, 0)

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.num_rows, generator=g)[: self.steps_per_epoch * self.rows_per_step]
        mine = order.view(-1, self.num_processes, self.batch_size)[:, self.rank]  # (batches_per_epoch, batch)
        base = self.epoch * self.steps_per_epoch
        for b in range(self.start_batch, self.batches_per_epoch):
            step = base + b // self.grad_accum
            yield [(row, step) for row in mine[b].tolist()]


def eval_batches(num_rows: int, batch_size: int, max_batches: int, num_processes: int, rank: int) -> list:
    """This process's evaluation batches: every process gets the same number, so DDP never waits on one."""
    batches = [list(range(i, min(i + batch_size, num_rows))) for i in range(0, num_rows, batch_size)]
    if not batches:
        return []
    per_rank = min(max_batches, max(1, len(batches) // num_processes))
    return [batches[(rank + j * num_processes) % len(batches)] for j in range(per_rank)]


class Blocks(Dataset):
    """Packed blocks (a ``datasets.Dataset``) served as features with ``_index`` and ``_step`` keys."""

    def __init__(self, ds, columns: tuple[str, ...]) -> None:
        self.ds = ds.with_format("numpy", columns=list(columns))
        self.columns = columns

    def __len__(self) -> int:
        return len(self.ds)

    def __getitems__(self, keys: list) -> list[dict[str, Any]]:
        keys = [k if isinstance(k, tuple) else (k, 0) for k in keys]
        rows = [k[0] for k in keys]
        cols = self.ds[rows]
        return [
            {**{c: cols[c][i] for c in self.columns}, "_index": r, "_step": s}
            for i, (r, s) in enumerate(keys)
        ]

    def __getitem__(self, key) -> dict[str, Any]:
        return self.__getitems__([key])[0]


def load_blocks(cfg: PretrainConfig, tokenizer, accelerator, positions: int | None):
    """Train and eval blocks, tokenized once (cached; the main process goes first, the others hit the cache)."""
    from textssl.data import get_blocks

    # In concat mode the corpus's last, partial block is dropped (as group_texts does): a near-empty padded
    # block is useless for training and too short for span corruption. data_args can override it.
    options = {"drop_last": cfg.pack_mode == "concat", **cfg.data_args}

    def blocks(source: str):
        ds, summary = get_blocks(
            source,
            tokenizer,
            cfg.max_length,
            mode=cfg.pack_mode,
            max_positions=positions,
            accelerator=accelerator,
            **options,
        )
        if summary is not None:
            accelerator.print(summary)
        return ds

    import datasets

    train = blocks(cfg.data)
    if isinstance(train, datasets.IterableDataset):
        # Streaming: hold out the first blocks of this process's stream for evaluation.
        if cfg.eval_data:
            evals = blocks(cfg.eval_data)
            if isinstance(evals, datasets.IterableDataset):
                evals = datasets.Dataset.from_list(list(evals.take(cfg.eval_batches * cfg.batch_size)))
        else:
            held = cfg.eval_batches * cfg.batch_size
            evals = datasets.Dataset.from_list(list(train.take(held)))
            train = train.skip(held)
        return train, evals
    if cfg.eval_data:
        evals = blocks(cfg.eval_data)
    else:
        split = train.train_test_split(test_size=cfg.eval_fraction, seed=cfg.seed, shuffle=True)
        train, evals = split["train"], split["test"]
    rows_per_step = cfg.batch_size * cfg.grad_accum * accelerator.num_processes
    if len(train) < rows_per_step:
        raise ConfigError(
            f"data {cfg.data!r} gave {len(train)} training blocks, fewer than one optimizer step "
            f"(batch_size {cfg.batch_size} x grad_accum {cfg.grad_accum} x {accelerator.num_processes} "
            "processes); use more data or a smaller batch_size/grad_accum"
        )
    return train, evals


# --------------------------------------------------------------------------- setup


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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


# What a textssl run writes into its output_dir: the only things --overwrite deletes.
RUN_OUTPUTS = ("log.jsonl", "checkpoints", "model", "loss.png", "tb")
_RUN_TEMPS = re.compile(r"^\.(model|log|loss)\..*(tmp|old).*$|^\.textssl-overwritten.*$")


def check_output_dir(cfg: PretrainConfig) -> list[Path]:
    """A run directory belongs to its run: refuse a non-empty ``output_dir`` unless resuming or overwriting.

    Returns what ``--overwrite`` will delete (only the files and folders a textssl run writes; anything else in
    the directory is left alone). Checked before anything is written, on every process.
    """
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--output-dir {out} is a file, not a directory", hint="choose another path")
    if cfg.resume or not out.is_dir():
        return []
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return []
    if not cfg.overwrite:
        shown = ", ".join(entries[:4]) + (", ..." if len(entries) > 4 else "")
        raise OutputExistsError(
            f"--output-dir {out} is not empty ({shown}); a new run would mix with what is there",
            hint="continue that run with --resume latest, or start afresh with --overwrite "
            "(deletes only what a textssl run wrote there)",
        )
    return [out / n for n in entries if n in RUN_OUTPUTS or _RUN_TEMPS.match(n)]


def delete_run_outputs(paths: list[Path]) -> None:
    """Delete an earlier run's outputs: each is first renamed aside, so a kill here never leaves half of one."""
    for path in paths:
        trash = path.parent / f".textssl-overwritten-{path.name}"
        if path.name.startswith(".textssl-overwritten"):
            trash = path
        elif trash.exists():
            _rm(trash)
        if trash != path:
            os.replace(path, trash)
        _rm(trash)


def _rm(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def run_config(cfg: PretrainConfig, num_processes: int) -> dict[str, Any]:
    """The run's options as saved in every checkpoint (``run_config.json``), JSON-normalised."""
    return json.loads(json.dumps({**asdict(cfg), "world_size": num_processes}, default=str))


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
    """The configured corruption strategy, or the objective's default."""
    return build_strategy(cfg.strategy, **cfg.strategy_args) if cfg.strategy else objective.default_strategy()


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


@dataclass
class PretrainResult:
    """Where the run wrote its model, how far it got, its final eval metrics, and the trained model."""

    output_dir: Path
    model_dir: Path
    state: TrainState
    eval_metrics: dict[str, float]
    model: torch.nn.Module


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(accelerator, objective: Objective, module, loader, max_batches: int) -> dict[str, float]:
    """Mean loss and the objective's metrics over up to ``max_batches`` held-out batches."""
    module.eval()
    totals: dict[str, torch.Tensor] = {}
    loss_sum = torch.zeros((), device=accelerator.device)
    n = torch.zeros((), device=accelerator.device)
    from accelerate.utils import send_to_device

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


# --------------------------------------------------------------------------- the loop


def pretrain(cfg: PretrainConfig) -> PretrainResult:
    """Pretrain a model as ``cfg`` says; returns where the final model was written and its eval metrics."""
    import transformers
    from accelerate.utils import send_to_device, set_seed

    from textssl.training.progress import progress_bar

    cfg.validate()
    if cfg.resume and cfg.overwrite:
        raise ConfigError("options resume and overwrite contradict each other: continue a run, or replace it")
    stale = check_output_dir(cfg)  # before anything is written
    transformers.utils.logging.set_verbosity_error()  # no per-save shard bars or tied-weight notices
    transformers.utils.logging.disable_progress_bar()
    # Accelerate notes at every save that tied weights (e.g. the MLM decoder) are stored once; that is expected.
    logging.getLogger("accelerate.utils.other").setLevel(logging.ERROR)
    accelerator = make_accelerator(cfg)
    check_world_size(accelerator)
    out_dir = Path(cfg.output_dir)
    # A checkpoint to resume from is checked (manifest, RNG state of every process, options) before any data is
    # read or model built, so a damaged one is reported at once.
    saved_config = run_config(cfg, accelerator.num_processes)
    ckpt = resolve_resume(cfg.resume, out_dir, warn=accelerator.print) if cfg.resume else None
    if ckpt is not None:
        check_run_config(ckpt, saved_config)
    accelerator.wait_for_everyone()  # every process has checked output_dir before the main one changes it
    if stale and accelerator.is_main_process:
        delete_run_outputs(stale)
        accelerator.print(f"--overwrite: deleted {', '.join(p.name for p in stale)} from {out_dir}")
    set_seed(cfg.seed)

    # What to train: tokenizer -> objective + strategy -> stock transformers model.
    tokenizer = load_tokenizer(cfg.tokenizer)
    info = TokenizerInfo.from_tokenizer(tokenizer)
    objective = build_objective(cfg.objective, cfg.arch, **cfg.objective_args)
    strategy = objective_strategy(cfg, objective)
    objective.check_strategy(strategy)
    strategy.validate(info)
    model_config = build_config(cfg.arch, cfg.size, info, cfg.max_length, cfg.model_overrides)
    model = objective.build_model(model_config)

    # Data: blocks -> seeded sampler -> Collator (corruption runs in DataLoader workers).
    train_blocks, eval_blocks = load_blocks(cfg, tokenizer, accelerator, max_positions(model_config))
    streaming = not isinstance(train_blocks, Sized)
    if "unigram" in str(cfg.strategy_args.get("source", "")):
        if streaming:
            raise ConfigError(
                "strategy_args source='unigram' needs a map-style corpus; drop streaming or use 'uniform'"
            )
        from textssl.data import unigram_counts

        info.set_unigram_counts(unigram_counts(train_blocks, info.vocab_size))
    columns = tuple(c for c in BLOCK_COLUMNS if c in eval_blocks.column_names)
    collator = Collator(info, strategy, max_length=cfg.max_length, seed=cfg.seed)
    # Evaluation has its own Collator, so its batches never advance the training Collator's step counter.
    eval_collator = Collator(info, strategy, max_length=cfg.max_length, seed=cfg.seed)
    # Own generators: creating a DataLoader iterator must not draw from the global RNG, which is checkpointed.
    # Neither loader goes through accelerator.prepare: the loop owns the data position (see the EpochSampler)
    # and moves batches to the device itself.
    world, rank = accelerator.num_processes, accelerator.process_index
    eval_loader = DataLoader(
        Blocks(eval_blocks, columns),
        batch_sampler=eval_batches(len(eval_blocks), cfg.batch_size, cfg.eval_batches, world, rank),
        collate_fn=eval_collator,
        num_workers=cfg.num_workers,
        generator=_generator(cfg.seed + 1),
    )
    if streaming:
        # The stream is already split per process (split_dataset_by_node); its batches are seeded by
        # (seed, epoch, worker, batch number), and a resumed epoch skips the batches already trained on.
        sampler = None
        train_loader = DataLoader(
            train_blocks,
            batch_size=cfg.batch_size,
            collate_fn=collator,
            num_workers=cfg.num_workers,
            generator=_generator(cfg.seed),
        )
    else:
        sampler = EpochSampler(len(train_blocks), cfg.seed, cfg.batch_size, cfg.grad_accum, world, rank)
        train_loader = DataLoader(
            Blocks(train_blocks, columns),
            batch_sampler=sampler,
            collate_fn=collator,
            num_workers=cfg.num_workers,
            generator=_generator(cfg.seed),
        )

    optimizer = build_optimizer(model, cfg)
    module, optimizer = accelerator.prepare(ObjectiveModule(objective, model), optimizer)

    state = TrainState()
    log = RunLog(out_dir / "log.jsonl", enabled=accelerator.is_main_process)
    if ckpt is not None:
        state = TrainState.load(ckpt / STATE_FILE)
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
                for moved in set_aside_newer(out_dir, state.step):
                    accelerator.print(f"kept the abandoned later checkpoint as {moved}")
            clean_leftovers(out_dir)
            log.truncate_after(state.step)
        accelerator.print(f"resumed from {ckpt} at step {state.step} (epoch {state.epoch})")
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        log.write(
            {
                "event": "config",
                **asdict(cfg),
                "parameters": count_parameters(model),
                "world_size": accelerator.num_processes,
            }
        )
    tracker_config = {k: v for k, v in asdict(cfg).items() if isinstance(v, int | float | str | bool)}
    accelerator.init_trackers("pretrain", config=tracker_config)

    budget_s = cfg.budget_minutes * 60 if cfg.budget_minutes else None
    total = cfg.max_steps
    # The bar counts steps, or seconds in time-budget mode (so its ETA is the budget's end).
    bar = progress_bar(  # a line per 10% when stderr is not a terminal
        total=int(budget_s) if budget_s else total,
        initial=int(state.elapsed) if budget_s else state.step,
        disable=not (cfg.progress and accelerator.is_local_main_process),
        desc=f"{cfg.objective}/{cfg.arch}-{cfg.size}",
        unit="s" if budget_s else "step",
    )
    start = time.perf_counter() - state.elapsed
    window = {"loss": 0.0, "n": 0, "tokens": 0, "t0": time.perf_counter()}
    consecutive_nan = 0
    eval_metrics: dict[str, float] = {}

    def progress() -> float:
        by_steps = state.step / total
        if budget_s:
            return max(by_steps, (time.perf_counter() - start) / budget_s)
        return by_steps

    def finished() -> bool:
        return progress() >= 1.0 or (cfg.stop_at_step is not None and state.step >= cfg.stop_at_step)

    module.train()
    while not finished():
        collator.set_epoch(state.epoch)
        train_loader.generator.manual_seed(cfg.seed + state.epoch)  # worker seeds: a function of the epoch
        if sampler is not None:
            sampler.set_position(state.epoch, state.batch_in_epoch)
            batches = iter(train_loader)
        else:
            train_blocks.set_epoch(state.epoch)
            # Streamed rows carry no step: tell the Collator the step of the epoch's first batch (the skipped
            # batches of a resumed epoch are collated too), so rate schedules follow the optimizer step.
            collator.set_step(
                state.step - state.batch_in_epoch // cfg.grad_accum, batches_per_step=cfg.grad_accum
            )
            batches = itertools.islice(iter(train_loader), state.batch_in_epoch, None)
        seen = 0
        for batch in batches:
            batch = send_to_device(batch, accelerator.device)
            seen += 1
            state.batch_in_epoch += 1
            with accelerator.accumulate(module):
                loss, _ = module(batch)
                finite = torch.isfinite(loss.detach()).float()
                if accelerator.num_processes > 1:  # every rank skips together, or DDP would hang
                    finite = accelerator.reduce(finite, reduction="sum") / accelerator.num_processes
                if finite.item() < 1.0:
                    consecutive_nan += 1
                    state.nan_skips += 1
                    optimizer.zero_grad(set_to_none=True)
                    log.write({"event": "nan_skip", "step": state.step, "consecutive": consecutive_nan})
                    accelerator.print(
                        f"step {state.step}: loss is NaN/Inf, batch skipped ({consecutive_nan} in a row)"
                    )
                    if consecutive_nan >= cfg.max_nan_skips:
                        raise TrainingError(
                            f"the loss was NaN/Inf for {consecutive_nan} batches in a row at step {state.step}; "
                            f"lower lr (now {cfg.lr}), raise warmup, or use mixed_precision='no' "
                            f"(option max_nan_skips={cfg.max_nan_skips})"
                        )
                    continue
                consecutive_nan = 0
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(module.parameters(), cfg.max_grad_norm)
                lr = cfg.lr * lr_factor(cfg.schedule, progress(), cfg.warmup, cfg.decay)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            batch_tokens = int(batch["attention_mask"].sum()) * accelerator.num_processes
            state.tokens += batch_tokens
            window["loss"] += loss.detach().float().item()
            window["n"] += 1
            window["tokens"] += batch_tokens
            if not accelerator.sync_gradients:
                continue

            state.step += 1
            if budget_s:
                bar.n = min(int(time.perf_counter() - start), bar.total)
            bar.update(0 if budget_s else 1)
            if state.step % cfg.log_every == 0 or state.step == 1:
                dt = time.perf_counter() - window["t0"]
                record = {
                    "step": state.step,
                    "loss": window["loss"] / max(window["n"], 1),
                    "lr": lr,
                    "tokens": state.tokens,
                    "tokens_per_s": window["tokens"] / max(dt, 1e-9),
                    "elapsed": time.perf_counter() - start,
                }
                log.write(record)
                _fault_point("step", state.step)
                accelerator.log({"train/loss": record["loss"], "train/lr": lr}, step=state.step)
                bar.set_postfix(
                    step=state.step, loss=f"{record['loss']:.3f}", tok_s=f"{record['tokens_per_s']:.0f}"
                )
                window.update(loss=0.0, n=0, tokens=0, t0=time.perf_counter())
            if state.step % cfg.eval_every == 0:
                eval_metrics = evaluate(accelerator, objective, module, eval_loader, cfg.eval_batches)
                log.write({"step": state.step, **{f"eval_{k}": v for k, v in eval_metrics.items()}})
                accelerator.log({f"eval/{k}": v for k, v in eval_metrics.items()}, step=state.step)
            done = finished()
            if state.step % cfg.save_every == 0 or done:
                state.elapsed = time.perf_counter() - start
                save_checkpoint(accelerator, cfg, objective, module, tokenizer, state, saved_config)
            if done:
                break
        else:
            if not seen and not state.batch_in_epoch:
                raise DataError(f"data {cfg.data!r} gave no training batch in epoch {state.epoch}")
            state.epoch += 1
            state.batch_in_epoch = 0
    bar.close()

    if not eval_metrics or state.step % cfg.eval_every:
        eval_metrics = evaluate(accelerator, objective, module, eval_loader, cfg.eval_batches)
        log.write({"step": state.step, **{f"eval_{k}": v for k, v in eval_metrics.items()}})
    model_dir = out_dir / "model"
    state.elapsed = time.perf_counter() - start
    save_model_dir(accelerator, cfg, objective, module, tokenizer, state, model_dir, eval_metrics)
    if accelerator.is_main_process:
        plot_curves(out_dir / "log.jsonl", out_dir / "loss.png")
        summary = ", ".join(f"{k} {v:.4f}" for k, v in eval_metrics.items())
        accelerator.print(f"done: {state.step} steps, {state.tokens:,} tokens, eval {summary} -> {model_dir}")
    # Not accelerator.end_training(): it also destroys the process group, and pretrain() is a library call
    # that a script may follow with more distributed work (another run, finetuning). The process ends it.
    for tracker in accelerator.trackers:
        tracker.finish()
    if cfg.push_to_hub and accelerator.is_main_process:
        from textssl.hub import push_to_hub

        push_to_hub(model_dir, cfg.push_to_hub)
    return PretrainResult(out_dir, model_dir, state, eval_metrics, accelerator.unwrap_model(module).model)


# --------------------------------------------------------------------------- saving


def _write_model(accelerator, cfg, objective, module, tokenizer, state, directory: Path, metrics) -> None:
    """Write the stock HF model directory (weights, config, tokenizer, model card) into ``directory``."""
    from textssl.hub import write_model_card

    unwrapped = accelerator.unwrap_model(module).model
    objective.model_to_save(unwrapped).save_pretrained(str(directory), safe_serialization=True)
    saved_tokenizer = objective.tokenizer_to_save(tokenizer)
    save_tokenizer(saved_tokenizer, directory)
    objective.save_extra(unwrapped, str(directory), saved_tokenizer)
    details = {
        "architecture": f"{cfg.arch} ({cfg.size})",
        "corruption": repr(objective_strategy(cfg, objective)),
    }
    details.update({f"eval {k}": round(v, 4) for k, v in metrics.items()})
    write_model_card(
        directory,
        objective=cfg.objective,
        datasets=[d for d in (cfg.data, cfg.eval_data) if d],
        steps=state.step,
        tokens_seen=state.tokens,
        budget=f"{cfg.budget_minutes} minutes" if cfg.budget_minutes else f"{cfg.max_steps} steps",
        details=details,
        model_name=Path(cfg.output_dir).name,
    )


def save_checkpoint(accelerator, cfg, objective, module, tokenizer, state: TrainState, config: dict) -> None:
    """Write ``checkpoints/step_<N>`` crash-safely (temp dir, manifest last, rename) and prune old ones."""
    root = Path(cfg.output_dir) / "checkpoints"
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
        _write_model(accelerator, cfg, objective, module, tokenizer, state, tmp, {})
        state.save(tmp / STATE_FILE)
        (tmp / RUN_CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        _fault_point("checkpoint")
        write_manifest(tmp)  # last: a checkpoint without a matching manifest is never resumed from
        replace_dir(tmp, target)
        prune_checkpoints(Path(cfg.output_dir), cfg.keep_checkpoints)
    accelerator.wait_for_everyone()


def save_model_dir(accelerator, cfg, objective, module, tokenizer, state, directory: Path, metrics) -> None:
    """Atomically write the final model directory."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with atomic_dir(directory) as tmp:
            _write_model(accelerator, cfg, objective, module, tokenizer, state, tmp, metrics)
    accelerator.wait_for_everyone()
