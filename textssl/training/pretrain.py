"""The pretraining loop on Hugging Face Accelerate. Read it top to bottom: ``pretrain(cfg)``.

Accelerate is the only distributed engine: one CPU, one GPU, DDP, FSDP and DeepSpeed all come from
``accelerate launch`` configs (see ``recipes/accelerate/``). Exact resume: the data order is a seeded
permutation per epoch, corruption is seeded by (seed, step, rows), and the RNG, model and optimizer states are
restored by ``accelerator.load_state``; ``skip_first_batches`` continues mid-epoch.
"""

from __future__ import annotations

import logging
import os
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
from textssl.errors import ConfigError, TrainingError
from textssl.models import build_config, count_parameters, max_positions
from textssl.objectives import Objective, build_objective
from textssl.objectives.base import ObjectiveModule
from textssl.tokenization import TokenizerInfo, load_tokenizer, save_tokenizer
from textssl.training.checkpoint import (
    ACCELERATE_DIR,
    STATE_FILE,
    TrainState,
    prune_checkpoints,
    resolve_resume,
)
from textssl.training.config import PretrainConfig
from textssl.training.reporting import RunLog, plot_curves
from textssl.training.schedules import lr_factor

BLOCK_COLUMNS = ("input_ids", "document_ids", "sentence_ids")


# --------------------------------------------------------------------------- data plumbing


class EpochSampler(Sampler):
    """A seeded permutation of the blocks per epoch, yielding ``(row, step)`` pairs.

    ``step`` is the optimizer step the row's batch belongs to; the Collator uses it for rate schedules and,
    with the row ids, for the batch's seed, so corruption does not depend on workers or on resuming.
    """

    def __init__(self, num_rows: int, seed: int, rows_per_step: int, steps_per_epoch: int) -> None:
        self.num_rows, self.seed = num_rows, seed
        self.rows_per_step, self.steps_per_epoch = rows_per_step, steps_per_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_rows

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.num_rows, generator=g).tolist()
        base = self.epoch * self.steps_per_epoch
        for pos, row in enumerate(order):
            yield row, base + pos // self.rows_per_step


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
    if len(train) < cfg.batch_size * accelerator.num_processes:
        raise ConfigError(
            f"data {cfg.data!r} gave {len(train)} training blocks, fewer than one batch "
            f"({cfg.batch_size} x {accelerator.num_processes} processes); use more data or a smaller batch_size"
        )
    return train, evals


# --------------------------------------------------------------------------- setup


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def check_world_size(accelerator) -> None:
    """Refuse to run as a silent duplicate: Accelerate's process count must match the launcher's."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if accelerator.num_processes != world:
        raise TrainingError(
            f"Accelerate runs {accelerator.num_processes} process(es) but WORLD_SIZE={world}: every process would "
            "train its own unsynchronised copy. On CPU use "
            "'ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes N ...' "
            "(or ACCELERATE_USE_CPU=1 with --config_file recipes/accelerate/cpu_ddp.yaml)."
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
    for i, batch in enumerate(loader):
        if i >= max_batches:
            break
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
    from accelerate import skip_first_batches
    from accelerate.utils import set_seed

    from textssl.training.progress import progress_bar

    cfg.validate()
    transformers.utils.logging.set_verbosity_error()  # no per-save shard bars or tied-weight notices
    transformers.utils.logging.disable_progress_bar()
    # Accelerate notes at every save that tied weights (e.g. the MLM decoder) are stored once; that is expected.
    logging.getLogger("accelerate.utils.other").setLevel(logging.ERROR)
    accelerator = make_accelerator(cfg)
    check_world_size(accelerator)
    out_dir = Path(cfg.output_dir)
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
    # Own generators: creating a DataLoader iterator must not draw from the global RNG, which is checkpointed.
    loader_args = dict(batch_size=cfg.batch_size, collate_fn=collator, num_workers=cfg.num_workers)
    eval_loader = DataLoader(Blocks(eval_blocks, columns), generator=_generator(cfg.seed + 1), **loader_args)
    if streaming:
        # The stream is already split per process (split_dataset_by_node), so this loader is not prepared
        # (Accelerate would shard it again); its batches are seeded by (seed, epoch, worker, batch number).
        sampler = train_blocks
        train_loader = DataLoader(train_blocks, generator=_generator(cfg.seed), **loader_args)
    else:
        rows_per_step = cfg.batch_size * cfg.grad_accum * accelerator.num_processes
        steps_per_epoch = max(1, len(train_blocks) // rows_per_step)
        sampler = EpochSampler(len(train_blocks), cfg.seed, rows_per_step, steps_per_epoch)
        train_loader = DataLoader(
            Blocks(train_blocks, columns),
            sampler=sampler,
            drop_last=True,
            generator=_generator(cfg.seed),
            **loader_args,
        )

    optimizer = build_optimizer(model, cfg)
    module, optimizer, eval_loader = accelerator.prepare(
        ObjectiveModule(objective, model), optimizer, eval_loader
    )
    if not streaming:
        train_loader = accelerator.prepare(train_loader)

    state = TrainState()
    log = RunLog(out_dir / "log.jsonl", enabled=accelerator.is_main_process)
    if cfg.resume:
        ckpt = resolve_resume(cfg.resume, out_dir)
        accelerator.load_state(str(ckpt / ACCELERATE_DIR))
        state = TrainState.load(ckpt / STATE_FILE)
        log.truncate_after(state.step)
        accelerator.print(f"resumed from {ckpt} at step {state.step} (epoch {state.epoch})")
    else:
        log.reset()
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
        sampler.set_epoch(state.epoch)
        collator.set_epoch(state.epoch)
        loader = (
            skip_first_batches(train_loader, state.batch_in_epoch) if state.batch_in_epoch else train_loader
        )
        for batch in loader:
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
                save_checkpoint(accelerator, cfg, objective, module, tokenizer, state)
            if done:
                break
        else:
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
    accelerator.end_training()
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


def save_checkpoint(accelerator, cfg, objective, module, tokenizer, state: TrainState) -> None:
    """Atomically write ``checkpoints/step_<N>`` (model directory + Accelerate state) and prune old ones."""
    target = Path(cfg.output_dir) / "checkpoints" / f"step_{state.step}"
    tmp = target.parent / f".{target.name}.tmp"
    if accelerator.is_main_process:
        target.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp / ACCELERATE_DIR))  # every process writes its RNG state
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        _write_model(accelerator, cfg, objective, module, tokenizer, state, tmp, {})
        state.save(tmp / STATE_FILE)
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
