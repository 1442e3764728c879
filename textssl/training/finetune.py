"""Finetuning on GLUE-style tasks with one global protocol, several seeds and an honest report.

The protocol follows Cramming (Geiping & Goldstein, 2023, "Cramming: Training a Language Model on a Single GPU
in One Day"): the *same* hyperparameters for every task, no per-task search, so that a comparison between two
checkpoints (pretrained vs random init, objective A vs B) measures the checkpoints and not the tuning effort.
Cramming's "GLUE_sane" setting is lr 4e-5, batch 16, 5 epochs, 10% warmup, sequence length 128, tuned for
BERT-base; our defaults (:class:`FinetuneConfig`) keep the shape and move the learning rate up to 3e-4 and the
batch to 32 for the tiny and mini models this package trains on CPUs. 3e-4 is the top of the grid Turc et al.
(2019, "Well-Read Students Learn Better") searched for small BERTs and ELECTRA-small's finetuning rate (Clark et
al., 2020). Measured on SST-2 (2,000 training examples, 5 epochs), a random-init BERT-tiny sits at the
majority floor (50.9) for three epochs with 1e-4 and ends at 60.9, but reaches 71.6 with 3e-4 (71.1 with 1e-3):
1e-4 would leave the random-init twin untrained and flatter every pretrained checkpoint (docs/finetune.md).

One run (:func:`finetune`) = load any checkpoint through ``AutoModelForSequenceClassification`` (the head is
added; ``problem_type="regression"`` for STS-B), tokenize once with ``datasets.map``, train with AdamW and a
linear warmup/decay schedule under Accelerate, evaluate on dev after every epoch and keep the best epoch.
A suite (:func:`run_glue_suite`) repeats that over tasks and seeds (optionally also from random init) and
reports the median over seeds with the min-max spread, next to a majority-class floor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textssl.atomic import atomic_dir, atomic_file, check_output_dir, write_atomic
from textssl.errors import ConfigError, InputFileError
from textssl.glue import (
    HUB_DATASET,
    TaskSpec,
    check_metric_fits,
    get_task,
    load_task,
    majority_baseline,
    parse_tasks,
    task_files,
    task_spec_of,
)

logger = logging.getLogger(__name__)

PRETRAINED, RANDOM_INIT = "pretrained", "random-init"
BASELINES = (RANDOM_INIT,)
RESULT_FILES = ("results.json", "results.md", "results.png")  # what run_glue_suite writes into its output_dir
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass
class FinetuneConfig:
    """The finetuning protocol: the same for every task unless a per-task override says otherwise.

    ``select="best"`` reports the dev epoch with the best main metric (model selection on dev, as GLUE papers
    do; slightly optimistic), ``"last"`` the final epoch; both are always recorded in the results.
    ``max_train_samples``/``max_eval_samples`` subsample (fixed subset, seed 0) for quick checks.
    """

    learning_rate: float = 3e-4
    batch_size: int = 32
    eval_batch_size: int = 128
    epochs: int = 5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_length: int = 128
    select: str = "best"
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    mixed_precision: str = "no"
    cpu: bool = False
    # Tracking, not protocol: Accelerate tracker(s) ("auto": tensorboard when installed) logging under logging_dir
    # (the CLI sets <output-dir>/tb; without a logging_dir, "auto" logs nowhere).
    report_to: str = "auto"
    logging_dir: str | None = None

    def __post_init__(self) -> None:
        # Coerce YAML/CLI values (PyYAML reads "1e-4" as a string and `no` as False) and check ranges.
        if self.mixed_precision is False or self.mixed_precision is None:
            self.mixed_precision = "no"
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            try:
                if kind.startswith("float"):
                    setattr(self, f.name, float(value))
                elif kind.startswith("int"):
                    if float(value) != int(float(value)):
                        raise ValueError
                    setattr(self, f.name, int(float(value)))
                elif kind.startswith("bool") and isinstance(value, str):
                    setattr(self, f.name, value.strip().lower() in ("1", "true", "yes", "on"))
            except (TypeError, ValueError):
                raise ConfigError(f"finetune option {f.name}={value!r} is not a valid {kind}") from None
        checks = {
            "learning_rate": self.learning_rate > 0,
            "batch_size": self.batch_size >= 1,
            "eval_batch_size": self.eval_batch_size >= 1,
            "epochs": self.epochs >= 1,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "max_length": self.max_length >= 8,
            "select": self.select in ("best", "last"),
            "mixed_precision": self.mixed_precision in ("no", "fp16", "bf16", "fp8"),
            "max_train_samples": self.max_train_samples is None or self.max_train_samples >= 1,
            "max_eval_samples": self.max_eval_samples is None or self.max_eval_samples >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"finetune option {name}={getattr(self, name)!r} is out of range")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FinetuneConfig:
        """Build from a mapping (a YAML file), rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown finetune option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**values)

    def replace(self, **changes: Any) -> FinetuneConfig:
        """A copy with ``changes`` applied (``None`` values are ignored, so CLI defaults can pass through)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return FinetuneConfig.from_dict({**dataclasses.asdict(self), **changes})


def load_protocol(
    path: str | os.PathLike,
) -> tuple[FinetuneConfig, dict[str, dict[str, Any]], dict[str, Any]]:
    """Read a protocol YAML (``recipes/configs/glue_*.yaml``) -> (config, per-task overrides, other keys).

    Top-level keys are :class:`FinetuneConfig` fields, ``task_overrides: {task: {field: value}}``, and for the
    suite ``tasks``/``seeds``/``baseline``, returned in the third element.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"--config {path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--config {path}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"--config {path}:{where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a mapping of options at the top level")
    overrides = data.pop("task_overrides", None) or {}
    extra = {k: data.pop(k) for k in ("tasks", "seeds", "baseline") if k in data}
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise ConfigError(
            f"--config {path}: task_overrides must map task names to options ({{sst2: {{epochs: 3}}}})"
        )
    if "tasks" in extra and not (
        isinstance(extra["tasks"], str)
        or (isinstance(extra["tasks"], list) and all(isinstance(t, str) for t in extra["tasks"]))
    ):
        raise ConfigError(f"--config {path}: tasks must be a list of task names or a comma-separated string")
    seeds = extra.get("seeds")
    if seeds is not None and not (
        (isinstance(seeds, int) and not isinstance(seeds, bool))
        or isinstance(seeds, str)
        or (isinstance(seeds, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds))
    ):
        raise ConfigError(f"--config {path}: seeds must be a count (3) or a list of integers ([0, 1, 2])")
    try:
        config = FinetuneConfig.from_dict(data)
        for task, values in overrides.items():
            get_task(task)
            config.replace(**values)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"--config {path}: {exc}") from None
    return config, {get_task(t).name: dict(v) for t, v in overrides.items()}, extra


# --------------------------------------------------------------------------------------------------------------
# Model and data


def check_checkpoint(model_name_or_path: str | os.PathLike, need_weights: bool = True) -> None:
    """Fail early, with a fix, when a local checkpoint directory lacks its config or weights."""
    path = Path(model_name_or_path)
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise InputFileError(
                f"--model {path}: the checkpoint directory has no config.json; pass a directory written by "
                "save_pretrained (e.g. a textssl pretrain checkpoint) or a Hub model id"
            )
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(
                f"--model {path}: {config} is not readable JSON ({exc})",
                hint="the checkpoint is damaged; save it again or use another checkpoint",
            ) from None
        if not isinstance(data, dict) or "model_type" not in data:
            raise InputFileError(
                f"--model {path}: {config} has no 'model_type'; it is not a transformers model config",
                hint="pass a directory written by save_pretrained (e.g. a textssl pretrain checkpoint's model/)",
            )
        if need_weights and not any((path / f).is_file() for f in WEIGHT_FILES):
            raise InputFileError(
                f"--model {path}: the checkpoint directory has config.json but no weights "
                f"({' or '.join(WEIGHT_FILES[:2])}); use --baseline random-init / random_init=True to "
                "finetune the architecture from scratch"
            )
        if need_weights and (path / "model.safetensors").is_file():
            _check_safetensors(path / "model.safetensors", path)
    elif path.exists():
        raise InputFileError(
            f"--model {path}: is a file; pass a checkpoint directory (config.json and weights) or a Hub model id"
        )
    elif (
        path.is_absolute()
        or str(model_name_or_path).startswith((".", "~"))
        or str(model_name_or_path).count("/") > 1
    ):
        raise InputFileError(f"--model {model_name_or_path}: no such checkpoint directory")


def _check_safetensors(weights: Path, model: Path) -> None:
    """Read the safetensors header (not the tensors): a truncated or damaged file fails here, before any work."""
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as fh:
            fh.keys()
    except Exception as exc:
        if not _is_load_error(exc):
            raise
        raise InputFileError(
            f"--model {model}: cannot read the weights file {weights} ({_first_line(exc)})",
            hint="the file is damaged or incomplete; save the checkpoint again or use another one",
        ) from None


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's text, cut to ``limit`` characters (one-line errors stay one line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _hub_model_error(model_name_or_path: str | os.PathLike, exc: BaseException):
    """A HubError for a ``--model`` that is not on disk and could not be fetched, else ``None``."""
    from textssl.hub import hub_error, hub_unreachable

    if Path(model_name_or_path).exists() or not hub_unreachable(exc):
        return None
    return hub_error(
        f"download the model {str(model_name_or_path)!r} (no local directory of that name exists)",
        exc,
        "pass a local checkpoint directory as --model, e.g. runs/NAME/model",
    )


def load_config(model_name_or_path: str | os.PathLike, **kwargs: Any):
    """``AutoConfig.from_pretrained`` with an error that names the ``--model`` at fault."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(model_name_or_path), **kwargs)
    except (OSError, ValueError) as exc:
        hub = _hub_model_error(model_name_or_path, exc)
        if hub is not None:
            raise hub from None
        raise InputFileError(
            f"--model {model_name_or_path}: could not load its config ({_first_line(exc)})"
        ) from None


def load_tokenizer_for(model_name_or_path: str, tokenizer: str | None = None):
    """The checkpoint's tokenizer (or ``tokenizer``: a shipped name, directory or Hub id), with a pad token."""
    from textssl.tokenization import load_tokenizer

    try:
        tok = load_tokenizer(tokenizer or str(model_name_or_path))
    except (InputFileError, ConfigError) as exc:
        if tokenizer:
            raise
        raise type(exc)(
            f"--model {model_name_or_path}: the checkpoint has no usable tokenizer ({exc.message})",
            hint="pass --tokenizer (the tokenizer used for pretraining)",
        ) from None
    if tok.pad_token is None:  # GPT-2 / Llama tokenizers: pad with EOS (attention mask hides it)
        if tok.eos_token is None:
            raise ConfigError(
                f"tokenizer of {model_name_or_path} has neither a pad nor an EOS token; pass --tokenizer"
            )
        tok.pad_token = tok.eos_token
    return tok


def load_classifier(
    model_name_or_path: str | os.PathLike,
    spec: TaskSpec,
    tokenizer,
    random_init: bool = False,
    trust_remote_code: bool = False,
):
    """An ``AutoModelForSequenceClassification`` for ``spec`` from a checkpoint (or its config, if random_init).

    Works for MLM, ELECTRA-discriminator and causal LM checkpoints alike: the classification head is new
    (``num_labels``, ``problem_type``); CLMs get ``pad_token_id`` set so they can find each row's last token.
    """
    from transformers import AutoModelForSequenceClassification

    path = str(model_name_or_path)
    check_checkpoint(path, need_weights=not random_init)
    labels = spec.labels or ()
    kwargs: dict[str, Any] = {
        "num_labels": spec.num_labels,
        "problem_type": "regression" if spec.is_regression else "single_label_classification",
    }
    if labels:
        kwargs["id2label"] = dict(enumerate(labels))
        kwargs["label2id"] = {name: i for i, name in enumerate(labels)}
    config = load_config(path, trust_remote_code=trust_remote_code, **kwargs)
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = tokenizer.pad_token_id
    check_vocab(config, tokenizer, path)
    with _quiet_transformers():
        if random_init:
            return AutoModelForSequenceClassification.from_config(config, trust_remote_code=trust_remote_code)
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path,
                config=config,
                trust_remote_code=trust_remote_code,
                ignore_mismatched_sizes=True,
                output_loading_info=True,
            )
        except Exception as exc:  # a damaged or truncated weights file: name it; anything else is a bug
            weights = next((Path(path) / f for f in WEIGHT_FILES if (Path(path) / f).is_file()), None)
            hub = _hub_model_error(path, exc)
            if hub is not None:
                raise hub from None
            if weights is None or not _is_load_error(exc):
                raise
            raise InputFileError(
                f"--model {path}: cannot read the weights file {weights} ({_first_line(exc)})",
                hint="the file is damaged or incomplete; save the checkpoint again or use another one",
            ) from None
    new = sorted(
        set(info.get("missing_keys", ()))
        | {k[0] if isinstance(k, tuple) else k for k in info.get("mismatched_keys", ())}
    )
    logger.info(
        "loaded %s as %s; new weights: %s; unused checkpoint weights: %d",
        path,
        type(model).__name__,
        ", ".join(new) or "none",
        len(info.get("unexpected_keys", ())),
    )
    return model


def _is_load_error(exc: BaseException) -> bool:
    """Errors a damaged weights file causes: safetensors' header errors, torch.load's zip/pickle errors."""
    import pickle

    if any(t.__name__ == "SafetensorError" for t in type(exc).__mro__):
        return True
    if isinstance(exc, (OSError, EOFError, pickle.UnpicklingError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("pytorchstreamreader", "zip archive", "checkpoint file")
    )


def check_vocab(config, tokenizer, path: str) -> None:
    """The tokenizer must not produce ids beyond the model's embedding table."""
    vocab = getattr(config, "vocab_size", None)
    if vocab is not None and len(tokenizer) > vocab:
        raise ConfigError(
            f"--model {path}: the tokenizer has {len(tokenizer)} tokens but the model's vocabulary has {vocab}; "
            "the tokenizer does not belong to this checkpoint (pass the pretraining tokenizer with --tokenizer)"
        )


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' per-load report and progress bar (we log one line of our own instead)."""
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def usable_max_length(config, max_length: int) -> int:
    """``max_length`` clipped to the model's position embeddings (RoBERTa reserves pad_token_id + 1 of them)."""
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if positions is None:
        return max_length
    if "roberta" in getattr(config, "model_type", ""):
        positions -= (config.pad_token_id or 0) + 1
    return min(max_length, positions)


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


def _subsample(ds, n: int | None):
    if n is None or n >= len(ds):
        return ds
    return ds.shuffle(seed=0).select(range(n))


def _metric_key(metric: str, split: str, first: bool) -> str:
    return metric if first else f"{metric}_{split.removeprefix('validation_')}"


# --------------------------------------------------------------------------------------------------------------
# Training loop


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
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup

    from textssl.glue import compute_metrics
    from textssl.training.progress import progress_bar
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
        tracker_config = {
            k: v for k, v in dataclasses.asdict(config).items() if isinstance(v, int | float | str)
        }
        accelerator.init_trackers(run_name or f"{spec.name}-seed{seed}", config=tracker_config)
    set_seed(seed)
    collate = DataCollatorWithPadding(tokenizer)
    train = _subsample(tokenized["train"], config.max_train_samples)
    evals = {s: _subsample(tokenized[s], config.max_eval_samples) for s in spec.eval_splits}
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        train, batch_size=config.batch_size, shuffle=True, collate_fn=collate, generator=generator
    )
    eval_loaders = [
        DataLoader(ds, batch_size=config.eval_batch_size, collate_fn=collate) for ds in evals.values()
    ]

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
    total_steps = config.epochs * math.ceil(len(train) / (config.batch_size * accelerator.num_processes))
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    model, optimizer, train_loader, scheduler, *eval_loaders = accelerator.prepare(
        model, optimizer, train_loader, scheduler, *eval_loaders
    )

    def evaluate() -> dict[str, float]:
        model.eval()
        metrics: dict[str, float] = {}
        for i, (split, loader) in enumerate(zip(evals, eval_loaders)):
            preds, refs = [], []
            for batch in loader:
                with torch.no_grad():
                    logits = model(**batch).logits
                out = logits.squeeze(-1) if spec.is_regression else logits.argmax(-1)
                out, labels = accelerator.gather_for_metrics((out, batch["labels"]))
                preds += out.float().tolist() if spec.is_regression else out.tolist()
                refs += labels.tolist()
            for name, value in compute_metrics(spec, preds, refs).items():
                metrics[_metric_key(name, split, i == 0)] = value
        model.train()
        return metrics

    history: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    best_state = None
    bar = progress_bar(  # a line per 10% when stderr is not a terminal
        total=total_steps,
        desc=f"{spec.name} seed {seed}",
        disable=not (show_progress and accelerator.is_local_main_process),
    )
    start = time.perf_counter()
    global_step = 0
    model.train()
    for epoch in range(1, config.epochs + 1):
        losses = []
        for batch in train_loader:
            loss = model(**batch).loss
            accelerator.backward(loss)
            if config.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            global_step += 1
            if trackers:
                accelerator.log(
                    {"train/loss": losses[-1], "train/lr": scheduler.get_last_lr()[0]}, step=global_step
                )
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.3f}")
        metrics = evaluate()
        entry = {
            "epoch": epoch,
            "train_loss": statistics.fmean(losses) if losses else math.nan,
            "metrics": metrics,
        }
        history.append(entry)
        if trackers:
            accelerator.log(
                {"train/epoch_loss": entry["train_loss"], **{f"eval/{k}": v for k, v in metrics.items()}},
                step=global_step,
            )
        scores = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        line = f"{spec.name} seed {seed} epoch {epoch}: loss {entry['train_loss']:.4f} {scores}"
        if show_progress and accelerator.is_local_main_process:
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
                best_state = {
                    k: v.detach().cpu().clone()
                    for k, v in accelerator.unwrap_model(model).state_dict().items()
                }
    bar.close()
    if trackers:
        accelerator.end_training()
    seconds = time.perf_counter() - start
    result = {
        "score": best["metrics"][spec.main_metric],
        "metrics": best["metrics"],
        "best_epoch": best["epoch"],
        "last_metrics": history[-1]["metrics"],
        "history": history,
        "num_train": len(train),
        "num_eval": {s: len(ds) for s, ds in evals.items()},
        "train_seconds": round(seconds, 2),
    }
    if keep_best_state:
        result["state_dict"] = best_state
        result["model"] = accelerator.unwrap_model(model)
    if accelerator.device.type != "cpu":  # on CPU the gc.collect() inside costs ~0.4 s and frees nothing
        accelerator.free_memory()
    return result


def _prepare(
    model_name_or_path: str,
    task: str | TaskSpec,
    config: FinetuneConfig,
    data_dir: str | os.PathLike | None,
    data_files: Mapping[str, str] | None,
    dataset,
    tokenizer,
    show_progress: bool = True,
):
    """Load (or take) the task data and the tokenizer, and tokenize once: shared by all seeds and baselines."""
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
    return spec, dataset, tok, tokenized


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
    spec, _, tok, tokenized = _prepare(
        str(model_name_or_path), task, config, data_dir, data_files, dataset, tokenizer, show_progress
    )
    return _run_one(
        str(model_name_or_path), spec, tok, tokenized, config, seed, random_init, output_dir, show_progress
    )


def _run_one(model_path, spec, tok, tokenized, config, seed, random_init, output_dir, show_progress) -> dict:
    from accelerate.utils import set_seed

    set_seed(seed)  # the head (and, for random init, every weight) is drawn from this seed
    model = load_classifier(model_path, spec, tok, random_init=random_init)
    result = train_and_evaluate(
        model,
        tok,
        tokenized,
        spec,
        config,
        seed=seed,
        show_progress=show_progress,
        keep_best_state=output_dir is not None,
        run_name=f"{spec.name}-{RANDOM_INIT if random_init else PRETRAINED}-seed{seed}",
    )
    state, trained = result.pop("state_dict", None), result.pop("model", None)
    result = {
        "task": spec.name,
        "seed": seed,
        "model": model_path,
        "init": RANDOM_INIT if random_init else PRETRAINED,
        "main_metric": spec.main_metric,
        **result,
        "config": dataclasses.asdict(config),
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
    from textssl.hub import run_name, write_model_card

    with atomic_dir(output_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "finetune_results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        # a finetuned card: text-classification, its own model-index entry, the base model's Hub id if known
        write_model_card(tmp, finetuned=result, model_name=run_name(output_dir))


# --------------------------------------------------------------------------------------------------------------
# Suite: tasks x seeds (x baseline), median and spread


def parse_seeds(seeds: int | str | Sequence[int]) -> list[int]:
    """``3`` -> ``[0, 1, 2]``; ``"1,5,7"`` -> ``[1, 5, 7]``; a list passes through."""
    if isinstance(seeds, str):
        seeds = seeds.strip()
        if "," not in seeds:
            seeds = int(seeds) if seeds.isdigit() else seeds
        else:
            try:
                return [int(s) for s in seeds.split(",") if s.strip()]
            except ValueError:
                raise ConfigError(
                    f"--seeds {seeds!r}: give a count (3) or a comma-separated list (0,1,2)"
                ) from None
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"--seeds {seeds}: need at least one seed")
        return list(range(seeds))
    if isinstance(seeds, str):
        raise ConfigError(f"--seeds {seeds!r}: give a count (3) or a comma-separated list (0,1,2)")
    out = [int(s) for s in seeds]
    if not out:
        raise ConfigError("--seeds: need at least one seed")
    return out


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
    check_checkpoint(model, need_weights=True)
    for spec in specs:  # every task's files before the first task trains
        task_files(spec, data_dir)
    if output_dir is not None:
        check_output_dir(
            output_dir,
            overwrite=overwrite,
            models=[("--model", model)],
            inputs=[("--data-dir", data_dir)]
            + ([("--tokenizer", tokenizer)] if isinstance(tokenizer, (str, os.PathLike)) else []),
        )
        for name in RESULT_FILES:  # with overwrite: an earlier run's report must not mix into this one
            (Path(output_dir) / name).unlink(missing_ok=True)
    inits = [PRETRAINED] + ([baseline] if baseline else [])
    results: dict[str, Any] = {
        "model": model,
        "baseline": baseline,
        "seeds": seeds,
        "data": str(data_dir) if data_dir else f"hub:{HUB_DATASET}",
        "protocol": dataclasses.asdict(config),
        "task_overrides": task_overrides,
        "selection": f"{config.select} dev epoch",
        "tasks": {},
    }
    out = Path(output_dir) if output_dir is not None else None
    start = time.perf_counter()
    for spec in specs:
        task_config = config.replace(**task_overrides.get(spec.name, {}))
        spec, dataset, tok, tokenized = _prepare(
            model, spec, task_config, data_dir, None, None, tokenizer, show_progress
        )
        train_labels = _subsample(dataset["train"], task_config.max_train_samples)["label"]
        eval_labels = _subsample(dataset[spec.eval_splits[0]], task_config.max_eval_samples)["label"]
        entry: dict[str, Any] = {
            "task": spec.name,
            "main_metric": spec.main_metric,
            "metric_set": spec.metric_set,
            "protocol": dataclasses.asdict(task_config),
            "majority": majority_baseline(spec, train_labels, eval_labels),
            "runs": {},
            "summary": {},
        }
        for init in inits:
            runs = []
            for seed in seeds:
                run = _run_one(
                    model, spec, tok, tokenized, task_config, seed, init == RANDOM_INIT, None, show_progress
                )
                run.pop("config", None)
                runs.append(run)
                logger.info("%s %s seed %d: %s %.4f", spec.name, init, seed, spec.main_metric, run["score"])
            entry["runs"][init] = runs
            entry["summary"][init] = summarize(runs)
        results["tasks"][spec.name] = entry
        results["average"] = {init: _average(results, init, seeds) for init in inits}
        results["seconds"] = round(time.perf_counter() - start, 1)
        if out is not None:
            write_results(results, out)
    if out is not None:
        plot_results(results, out / "results.png")
    return results


# --------------------------------------------------------------------------------------------------------------
# Reporting

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

    from textssl.hub import display_name

    inits = [PRETRAINED] + ([results["baseline"]] if results.get("baseline") else [])
    n_seeds = len(results["seeds"])
    panels: dict[str, list[tuple[str, Mapping[str, Any], float | None]]] = {}
    for name, t in results["tasks"].items():
        floor = t.get("majority", {}).get(t["main_metric"])
        panels.setdefault(_METRIC_LABEL.get(t["main_metric"], _short(t["main_metric"])), []).append(
            (name, t["summary"], floor)
        )
    if (results.get("average") or {}).get(PRETRAINED):
        panels["mean of the task scores"] = [("average", results["average"], None)]
    widths = [max(1, len(rows)) for rows in panels.values()]
    fig = Figure(figsize=(max(4.5, 1.3 * sum(widths) + 1.2 * len(panels)), 3.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    width = 0.8 / len(inits)
    colors = {init: f"C{k}" for k, init in enumerate(inits)}
    for ax, (kind, rows) in zip(axes, panels.items()):
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
            bars = ax.bar(
                xs,
                ys,
                width,
                yerr=[lo, hi] if n_seeds > 1 else None,
                capsize=3,
                color=colors[init],
                edgecolor="black",
                linewidth=0.6,
                label=init,
            )
            ax.bar_label(bars, labels=[f"{y:.1f}" for y in ys], padding=2, fontsize=7)
            # a tick at each bar's top, in its colour: a zero-height bar is still a visible mark
            ax.plot(
                xs,
                ys,
                linestyle="none",
                marker="_",
                markersize=14,
                markeredgewidth=2.5,
                color=colors[init],
                zorder=3,
            )
        for x, (_, _, floor) in enumerate(rows):
            if floor is not None:
                ax.hlines(
                    100 * floor, x - 0.45, x + 0.45, colors="black", linestyles="dashed", label="majority"
                )
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([name for name, _, _ in rows], rotation=20)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_ylabel(f"{kind} x100 (dev)")
        ax.axhline(0, color="black", linewidth=0.5)
        low, high = ax.get_ylim()
        pad = 0.06 * (high - low)
        ax.set_ylim(min(low, 0) - pad, max(high, 0) + pad)  # room for the labels and a zero bar's tick
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
