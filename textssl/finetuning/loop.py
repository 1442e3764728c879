"""One finetuning run: a checkpoint, one task, one seed -> dev metrics per epoch (and, optionally, the model).

:func:`finetune` loads any checkpoint through ``AutoModelForSequenceClassification`` (:mod:`.loading`), tokenizes
the task once with ``datasets.map``, trains with AdamW and a linear warmup/decay schedule under Accelerate
(:func:`train_and_evaluate`), evaluates on dev after every epoch and keeps the selected epoch (the best one, or
the last: :class:`~textssl.finetuning.protocol.FinetuneConfig`). Every check (task, checkpoint, output
directory, data, tokenizer) runs before the first step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textssl.atomic import atomic_dir, check_output_dir
from textssl.errors import ConfigError
from textssl.finetuning.loaders import load_task, task_spec_of
from textssl.finetuning.loading import (
    check_checkpoint,
    check_vocab,
    load_classifier,
    load_config,
    load_tokenizer_for,
    usable_max_length,
)
from textssl.finetuning.protocol import FinetuneConfig
from textssl.finetuning.tasks import TaskSpec, check_metric_fits, get_task

logger = logging.getLogger(__name__)

PRETRAINED, RANDOM_INIT = "pretrained", "random-init"


# --------------------------------------------------------------------------------------------------------------
# Data


def tokenize_task(dataset, spec: TaskSpec, tokenizer, max_length: int, keep_token_type_ids: bool):
    """Tokenize every split once (``datasets.map``, batched; no padding: batches are padded dynamically)."""

    def encode(batch):
        texts = [batch[c] for c in spec.input_columns]
        enc = tokenizer(*texts, truncation=True, max_length=max_length)
        if not keep_token_type_ids:
            enc.pop("token_type_ids", None)
        return enc

    columns = next(iter(dataset.values())).column_names
    removed = [c for c in columns if c != "label"]
    out = dataset.map(encode, batched=True, remove_columns=removed, desc=f"tokenize {spec.name}")
    return out.rename_column("label", "labels")


def subsample(ds, n: int | None):
    """A fixed random subset (seed 0) of at most ``n`` rows; the whole dataset when ``n`` is ``None``."""
    if n is None or n >= len(ds):
        return ds
    return ds.shuffle(seed=0).select(range(n))


@dataclass
class PreparedTask:
    """A task ready to train on: its spec (label set known), the raw data, the tokenizer and the tokenized data.

    Shared by every seed and by the random-init baseline of a suite, so the data is read and tokenized once.
    """

    spec: TaskSpec
    dataset: Any
    tokenizer: Any
    tokenized: Any


def prepare_task(
    model_name_or_path: str,
    task: str | TaskSpec,
    config: FinetuneConfig,
    *,
    data_dir: str | os.PathLike | None = None,
    data_files: Mapping[str, str] | None = None,
    dataset=None,
    tokenizer=None,
    show_progress: bool = True,
) -> PreparedTask:
    """Load (or take) the task data and the tokenizer, check them against the model, and tokenize once."""
    spec = get_task(task)
    # The model and tokenizer first (cheap, and a wrong --model should not wait for the data), then the data;
    # every check runs before any training.
    check_checkpoint(model_name_or_path, need_weights=False)
    model_config = load_config(model_name_or_path)
    tok = (
        tokenizer
        if tokenizer is not None and not isinstance(tokenizer, str)
        else load_tokenizer_for(model_name_or_path, tokenizer)
    )
    check_vocab(model_config, tok, str(model_name_or_path))
    if dataset is None:
        dataset = load_task(spec, data_dir=data_dir, data_files=data_files)
    spec = check_metric_fits(task_spec_of(dataset, spec))
    for split in ("train", *spec.eval_splits):
        if split not in dataset:
            raise ConfigError(
                f"task {spec.name!r}: the data has no {split!r} split (it has {', '.join(dataset)})"
            )
    max_length = usable_max_length(model_config, config.max_length)
    keep_types = (getattr(model_config, "type_vocab_size", 0) or 0) > 1
    from textssl.training.progress import is_terminal

    with _quiet_datasets(not show_progress or not is_terminal()):  # datasets bars flood a log file
        tokenized = tokenize_task(dataset, spec, tok, max_length, keep_types)
    return PreparedTask(spec, dataset, tok, tokenized)


@contextlib.contextmanager
def _quiet_datasets(quiet: bool):
    """Hide ``datasets`` progress bars for the duration (restoring the previous setting)."""
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    if quiet:
        disable_progress_bars()
    try:
        yield
    finally:
        if quiet and not was_disabled:
            enable_progress_bars()


# --------------------------------------------------------------------------------------------------------------
# Training loop


def _accelerator(config: FinetuneConfig, run_name: str):
    """The Accelerator, with the configured tracker(s) started when there is a logging directory."""
    from accelerate import Accelerator

    from textssl.training.tracking import resolve_trackers

    trackers = None
    if config.logging_dir:  # report_to "auto" needs somewhere to log; the CLI sets <output-dir>/tb
        trackers = resolve_trackers(config.report_to)
    elif (config.report_to or "auto") not in ("auto", "none"):
        raise ConfigError(
            f"finetune option report_to={config.report_to!r} needs a directory to log to: pass --output-dir "
            "(or set FinetuneConfig.logging_dir)"
        )
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        cpu=config.cpu,
        log_with=trackers,
        project_dir=config.logging_dir,
    )
    if trackers:
        values = {k: v for k, v in config.to_dict().items() if isinstance(v, int | float | str)}
        accelerator.init_trackers(run_name, config=values)
    return accelerator, bool(trackers)


def _optimizer(model, config: FinetuneConfig):
    """AdamW with weight decay on every weight but biases and norms."""
    import torch

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not n.endswith(no_decay)], "weight_decay": config.weight_decay},
        {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate)


def _evaluate(model, accelerator, spec: TaskSpec, loaders: Mapping[str, Any]) -> dict[str, float]:
    """Main-process metrics over every dev split; the first split's keys are bare (``accuracy``), the others
    carry the split (``accuracy_mismatched``)."""
    import torch

    from textssl.finetuning.metrics import compute_metrics

    model.eval()
    metrics: dict[str, float] = {}
    for i, (split, loader) in enumerate(loaders.items()):
        preds, refs = [], []
        for batch in loader:
            with torch.no_grad():
                logits = model(**batch).logits
            out = logits.squeeze(-1) if spec.is_regression else logits.argmax(-1)
            out, labels = accelerator.gather_for_metrics((out, batch["labels"]))
            preds += out.float().tolist() if spec.is_regression else out.tolist()
            refs += labels.tolist()
        for name, value in compute_metrics(spec, preds, refs).items():
            metrics[name if i == 0 else f"{name}_{split.removeprefix('validation_')}"] = value
    model.train()
    return metrics


@dataclass
class _Run:
    """What one training run holds while it trains (prepared by :func:`_setup`)."""

    accelerator: Any
    tracking: bool
    model: Any
    optimizer: Any
    scheduler: Any
    train_loader: Any
    eval_loaders: dict[str, Any]
    num_train: int
    num_eval: dict[str, int]
    total_steps: int
    step: int = 0


def _setup(
    model, tokenizer, tokenized, spec: TaskSpec, config: FinetuneConfig, seed: int, run_name: str
) -> _Run:
    """Seed, subsample, build the loaders, optimizer and schedule, and hand them to Accelerate."""
    import torch
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup

    accelerator, tracking = _accelerator(config, run_name)
    set_seed(seed)
    collate = DataCollatorWithPadding(tokenizer)
    train = subsample(tokenized["train"], config.max_train_samples)
    evals = {s: subsample(tokenized[s], config.max_eval_samples) for s in spec.eval_splits}
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        train, batch_size=config.batch_size, shuffle=True, collate_fn=collate, generator=generator
    )
    eval_loaders = [
        DataLoader(ds, batch_size=config.eval_batch_size, collate_fn=collate) for ds in evals.values()
    ]
    optimizer = _optimizer(model, config)
    total_steps = config.epochs * math.ceil(len(train) / (config.batch_size * accelerator.num_processes))
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    model, optimizer, train_loader, scheduler, *eval_loaders = accelerator.prepare(
        model, optimizer, train_loader, scheduler, *eval_loaders
    )
    return _Run(
        accelerator, tracking, model, optimizer, scheduler, train_loader, dict(zip(evals, eval_loaders)),
        len(train), {s: len(ds) for s, ds in evals.items()}, total_steps,
    )  # fmt: skip


def _train_epoch(run: _Run, config: FinetuneConfig, bar, epoch: int) -> list[float]:
    """One pass over the training data; returns the per-step losses."""
    losses = []
    for batch in run.train_loader:
        loss = run.model(**batch).loss
        run.accelerator.backward(loss)
        if config.max_grad_norm:
            run.accelerator.clip_grad_norm_(run.model.parameters(), config.max_grad_norm)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad()
        losses.append(loss.item())
        run.step += 1
        if run.tracking:
            run.accelerator.log(
                {"train/loss": losses[-1], "train/lr": run.scheduler.get_last_lr()[0]}, step=run.step
            )
        bar.update(1)
        bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.3f}")
    return losses


def train_and_evaluate(
    model,
    tokenizer,
    tokenized,
    spec: TaskSpec,
    config: FinetuneConfig,
    seed: int = 0,
    show_progress: bool = True,
    keep_best_state: bool = False,
    run_name: str | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``tokenized["train"]``; evaluate every epoch on the task's dev split(s).

    Returns per-epoch history, the selected epoch's metrics (``metrics``, ``score`` = main metric on the
    first dev split) and the last epoch's; with ``keep_best_state`` also ``state_dict`` of the selected epoch.
    With ``config.logging_dir`` the curves also go to the ``config.report_to`` tracker(s), as run ``run_name``.
    """
    from textssl.training.progress import progress_bar

    run = _setup(model, tokenizer, tokenized, spec, config, seed, run_name or f"{spec.name}-seed{seed}")
    show = show_progress and run.accelerator.is_local_main_process
    bar = progress_bar(total=run.total_steps, desc=f"{spec.name} seed {seed}", disable=not show)
    history: list[dict[str, Any]] = []
    best, best_state = None, None
    start = time.perf_counter()
    run.model.train()
    for epoch in range(1, config.epochs + 1):
        losses = _train_epoch(run, config, bar, epoch)
        metrics = _evaluate(run.model, run.accelerator, spec, run.eval_loaders)
        entry = {
            "epoch": epoch,
            "train_loss": statistics.fmean(losses) if losses else math.nan,
            "metrics": metrics,
        }
        history.append(entry)
        if run.tracking:
            scores = {f"eval/{k}": v for k, v in metrics.items()}
            run.accelerator.log({"train/epoch_loss": entry["train_loss"], **scores}, step=run.step)
        line = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        line = f"{spec.name} seed {seed} epoch {epoch}: loss {entry['train_loss']:.4f} {line}"
        if show:
            bar.write(line)
        else:
            logger.info(line)
        if (
            config.select == "last"
            or best is None
            or metrics[spec.main_metric] > best["metrics"][spec.main_metric]
        ):
            best = entry
            if keep_best_state:
                state = run.accelerator.unwrap_model(run.model).state_dict()
                best_state = {k: v.detach().cpu().clone() for k, v in state.items()}
    bar.close()
    if run.tracking:
        run.accelerator.end_training()
    result = {
        "score": best["metrics"][spec.main_metric],
        "metrics": best["metrics"],
        "best_epoch": best["epoch"],
        "last_metrics": history[-1]["metrics"],
        "history": history,
        "num_train": run.num_train,
        "num_eval": run.num_eval,
        "train_seconds": round(time.perf_counter() - start, 2),
    }
    if keep_best_state:
        result["state_dict"] = best_state
        result["model"] = run.accelerator.unwrap_model(run.model)
    if run.accelerator.device.type != "cpu":  # on CPU the gc.collect() inside costs ~0.4 s and frees nothing
        run.accelerator.free_memory()
    return result


# --------------------------------------------------------------------------------------------------------------
# One run


def finetune(
    model_name_or_path: str | os.PathLike,
    task: str | TaskSpec,
    *,
    seed: int = 0,
    output_dir: str | os.PathLike | None = None,
    random_init: bool = False,
    data_dir: str | os.PathLike | None = None,
    data_files: Mapping[str, str] | None = None,
    dataset=None,
    config: FinetuneConfig | None = None,
    tokenizer=None,
    show_progress: bool = True,
    overwrite: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Finetune a checkpoint (directory or Hub id) on one task with one seed; return its dev metrics.

    ``overrides`` change protocol fields (``learning_rate=3e-4, epochs=3``). The data comes from
    ``dataset`` (a loaded ``DatasetDict``), ``data_files`` (own task), ``data_dir`` (GLUE layout) or the Hub.
    With ``output_dir`` the selected epoch's model, tokenizer, ``finetune_results.json`` and a model card
    (``README.md``: finetuned from which base model, its dev result as ``model-index``) are saved there.
    ``output_dir`` must be absent or empty unless ``overwrite=True``, which replaces the whole directory
    (atomically, once training is done); it may never be, contain or lie inside the input model directory, nor
    be or contain the data (checked before any work: :func:`textssl.atomic.check_output_dir`).
    Returns a dict with ``task``, ``seed``, ``init``, ``main_metric``, ``score``, ``metrics`` (selected epoch),
    ``last_metrics``, ``best_epoch``, ``history`` and timings.
    """
    config = (config or FinetuneConfig()).replace(**overrides)
    get_task(task)  # an unknown task name first, then the checkpoint: all before any work
    check_checkpoint(model_name_or_path, need_weights=not random_init)
    if output_dir is not None:
        check_output_dir(
            output_dir,
            overwrite=overwrite,
            models=[("--model", model_name_or_path)],
            inputs=[("--data-dir", data_dir), *((f"--{k}-file", v) for k, v in (data_files or {}).items())]
            + ([("--tokenizer", tokenizer)] if isinstance(tokenizer, (str, os.PathLike)) else []),
        )
    prepared = prepare_task(
        str(model_name_or_path),
        task,
        config,
        data_dir=data_dir,
        data_files=data_files,
        dataset=dataset,
        tokenizer=tokenizer,
        show_progress=show_progress,
    )
    return run_one(
        str(model_name_or_path),
        prepared,
        config,
        seed=seed,
        random_init=random_init,
        output_dir=output_dir,
        show_progress=show_progress,
    )


def run_one(
    model_path: str,
    prepared: PreparedTask,
    config: FinetuneConfig,
    *,
    seed: int,
    random_init: bool = False,
    output_dir: str | os.PathLike | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Load the classifier (from ``seed``), train and evaluate it; with ``output_dir`` save the selected epoch."""
    from accelerate.utils import set_seed

    spec, tok = prepared.spec, prepared.tokenizer
    init = RANDOM_INIT if random_init else PRETRAINED
    set_seed(seed)  # the head (and, for random init, every weight) is drawn from this seed
    model = load_classifier(model_path, spec, tok, random_init=random_init, pooling=config.pooling)
    result = train_and_evaluate(
        model,
        tok,
        prepared.tokenized,
        spec,
        config,
        seed=seed,
        show_progress=show_progress,
        keep_best_state=output_dir is not None,
        run_name=f"{spec.name}-{init}-seed{seed}",
    )
    state, trained = result.pop("state_dict", None), result.pop("model", None)
    result = {
        "task": spec.name,
        "seed": seed,
        "model": model_path,
        "init": init,
        "main_metric": spec.main_metric,
        **result,
        "config": config.to_dict(),
    }
    if output_dir is not None:
        from accelerate import PartialState

        if PartialState().is_main_process:
            trained.load_state_dict(state)
            _save_finetuned(trained, tok, result, Path(output_dir))
        PartialState().wait_for_everyone()
    return result


def _save_finetuned(model, tokenizer, result: dict, output_dir: Path) -> None:
    """Model, tokenizer, ``finetune_results.json`` and the model card, written as one atomic directory."""
    from textssl.hub.cards import write_model_card
    from textssl.hub.names import run_name
    from textssl.tokenization import save_tokenizer

    with atomic_dir(output_dir) as tmp:
        model.save_pretrained(tmp)
        save_tokenizer(tokenizer, tmp)  # the portable tokenizer class, as pretraining checkpoints save it
        (tmp / "finetune_results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        # a finetuned card: text-classification, its own model-index entry, the base model's Hub id if known
        write_model_card(tmp, finetuned=result, model_name=run_name(output_dir))
