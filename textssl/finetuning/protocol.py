"""The finetuning protocol: one set of hyperparameters for every task, as plain data.

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

:class:`FinetuneConfig` sits on :class:`textssl.configbase.ConfigBase`: its fields are the YAML keys of a protocol
file (``recipes/configs/glue_*.yaml``) and the flags of ``textssl finetune`` / ``textssl glue``
(:data:`FIELD_HELP` is their help text), with one-line errors for unknown keys, wrong types and values out of range.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from textssl.configbase import ConfigBase, MixedPrecision, read_yaml
from textssl.errors import ConfigError
from textssl.finetuning.tasks import UnknownTaskError, get_task


@dataclass
class FinetuneConfig(ConfigBase):
    """The finetuning protocol: the same for every task unless a per-task override says otherwise.

    ``select="best"`` reports the dev epoch with the best main metric (model selection on dev, as GLUE papers
    do; slightly optimistic), ``"last"`` the final epoch; both are always recorded in the results.
    ``max_train_samples``/``max_eval_samples`` subsample (fixed subset, seed 0) for quick checks.
    """

    option_prefix: ClassVar[str] = "finetune option"

    learning_rate: float = 3e-4
    batch_size: int = 32
    eval_batch_size: int = 128
    epochs: int = 5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_length: int = 128
    select: Literal["best", "last"] = "best"
    pooling: Literal["auto", "cls", "mean"] = "auto"
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    mixed_precision: MixedPrecision = "no"
    cpu: bool = False
    # Tracking, not protocol: Accelerate tracker(s) ("auto": tensorboard when installed) logging under logging_dir
    # (the CLI sets <output-dir>/tb; without a logging_dir, "auto" logs nowhere).
    report_to: str = "auto"
    logging_dir: str | None = None

    def validate(self) -> None:
        """Ranges: each failing option is named with its value."""
        checks = {
            "learning_rate": self.learning_rate > 0,
            "batch_size": self.batch_size >= 1,
            "eval_batch_size": self.eval_batch_size >= 1,
            "epochs": self.epochs >= 1,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "weight_decay": self.weight_decay >= 0,
            "max_grad_norm": self.max_grad_norm >= 0,
            "max_length": self.max_length >= 8,
            "max_train_samples": self.max_train_samples is None or self.max_train_samples >= 1,
            "max_eval_samples": self.max_eval_samples is None or self.max_eval_samples >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"finetune option {name}={getattr(self, name)!r} is out of range")


# Help text of each protocol option, shown by ``textssl finetune --help`` / ``textssl glue --help`` next to the
# option's default. logging_dir has no flag: the commands set it to <output-dir>/tb.
FIELD_HELP: dict[str, str] = {
    "learning_rate": "peak learning rate (AdamW, linear warmup then linear decay)",
    "batch_size": "training batch size",
    "eval_batch_size": "evaluation batch size",
    "epochs": "training epochs; dev is evaluated after each",
    "warmup_ratio": "fraction of the steps for linear warmup",
    "weight_decay": "AdamW weight decay (not applied to biases and norms)",
    "max_grad_norm": "clip gradients to this global norm (0: no clipping)",
    "max_length": "truncate inputs to this many tokens",
    "select": "report the best dev epoch or the last",
    "pooling": "what the classifier reads: auto (the architecture's own head), cls (the first token) or mean "
    "(the average over non-pad tokens; ModernBERT only, through its classifier_pooling)",
    "max_train_samples": "train on a fixed random subset of this size",
    "max_eval_samples": "evaluate on a fixed random subset (quick checks only)",
    "mixed_precision": "Accelerate mixed precision",
    "cpu": "force the CPU even if a GPU is present",
    "report_to": "tracker for the training curves under --output-dir/tb: auto (tensorboard when installed), none, "
    "or a name such as tensorboard or wandb",
}
FLAG_ALIASES = {"learning_rate": ("--lr",)}
FLAG_METAVARS = {"report_to": "NAME"}
SUITE_KEYS = ("tasks", "seeds", "baseline")  # what a protocol file may also say, for `textssl glue`


def load_protocol(
    path: str | os.PathLike,
) -> tuple[FinetuneConfig, dict[str, dict[str, Any]], dict[str, Any]]:
    """Read a protocol YAML (``recipes/configs/glue_*.yaml``) -> (config, per-task overrides, suite keys).

    Top-level keys are :class:`FinetuneConfig` fields, ``task_overrides: {task: {field: value}}``, and for the
    suite ``tasks``/``seeds``/``baseline``, returned in the third element.
    """
    data, lines = read_yaml(path)
    overrides = data.pop("task_overrides", None) or {}
    extra = {k: data.pop(k) for k in SUITE_KEYS if k in data}
    _check_suite_keys(path, overrides, extra)
    config = FinetuneConfig.from_dict(data, source=path, lines=lines)
    checked = {}
    for task, values in overrides.items():
        try:
            name = get_task(task).name
            config.replace(**values)
        except (ConfigError, UnknownTaskError) as exc:
            raise ConfigError(
                f"--config {path}: task_overrides.{task}: {exc.message}", hint=exc.hint
            ) from None
        checked[name] = dict(values)
    return config, checked, extra


def _check_suite_keys(path: str | os.PathLike, overrides: Any, extra: dict[str, Any]) -> None:
    """The shapes of ``task_overrides``, ``tasks`` and ``seeds`` in a protocol file."""
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise ConfigError(
            f"--config {path}: task_overrides must map task names to options ({{sst2: {{epochs: 3}}}})"
        )
    tasks = extra.get("tasks")
    if tasks is not None and not (
        isinstance(tasks, str) or (isinstance(tasks, list) and all(isinstance(t, str) for t in tasks))
    ):
        raise ConfigError(f"--config {path}: tasks must be a list of task names or a comma-separated string")
    seeds = extra.get("seeds")
    if seeds is not None and not (
        (isinstance(seeds, int) and not isinstance(seeds, bool))
        or isinstance(seeds, str)
        or (isinstance(seeds, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds))
    ):
        raise ConfigError(f"--config {path}: seeds must be a count (3) or a list of integers ([0, 1, 2])")


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
