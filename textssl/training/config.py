"""Pretraining configuration: plain data, read from YAML and overridden from the command line."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textssl.configbase import MIXED_PRECISION, ConfigBase, MixedPrecision, add_arguments
from textssl.errors import ConfigError

SCHEDULES = ("linear", "cosine", "wsd", "constant")


@dataclass
class PretrainConfig(ConfigBase):
    """Everything a pretraining run needs. Field names are also the YAML keys and (with dashes) CLI flags."""

    # what to train
    objective: str = "mlm"
    arch: str = "bert"
    size: str = "tiny"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    objective_args: dict[str, Any] = field(default_factory=dict)
    # A strategy spec (textssl.corruption.spec): a name, "a+b", {name: ..., rate: ...}, {compose: [...], probs: [...]}
    strategy: Any = None  # None: the objective's default (see textssl.objectives)
    strategy_args: dict[str, Any] = field(default_factory=dict)
    tokenizer: str = "wordpiece"
    # data
    data: str = "synthetic"
    data_args: dict[str, Any] = field(default_factory=dict)
    eval_data: str | None = None
    eval_fraction: float = 0.02
    max_length: int = 128
    pack_mode: str = "concat"
    num_workers: int = 0
    # optimisation
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.98
    adam_eps: float = 1e-6
    max_grad_norm: float = 1.0
    schedule: str = "linear"
    warmup: float = 0.06  # fraction of the run
    decay: float = 0.2  # wsd: fraction of the run spent decaying
    max_steps: int = 1000
    budget_minutes: float | None = None  # stop (and tie the schedule) to wall-clock time
    mixed_precision: MixedPrecision = "no"
    seed: int = 0
    # bookkeeping
    output_dir: str = "runs/pretrain"
    log_every: int = 10
    eval_every: int = 200
    eval_batches: int = 20
    save_every: int = 500
    keep_checkpoints: int = 2
    resume: str | None = None  # "latest" or a checkpoint directory
    overwrite: bool = (
        False  # start afresh in a non-empty output_dir: delete what an earlier textssl run wrote
    )
    stop_at_step: int | None = None  # exit cleanly after this step (e.g. to fit a job slot); resume later
    max_nan_skips: int = 5
    report_to: str = "auto"  # "auto" (tensorboard when installed), "none", or a tracker name
    progress: bool = True
    push_to_hub: str | None = None  # repo id to push the final model to

    def validate(self) -> None:
        """Check option values that need no other object; errors name the option and the allowed values."""
        from textssl.models import ARCHITECTURES, SIZES
        from textssl.objectives import OBJECTIVES

        choices = {
            "objective": OBJECTIVES,
            "arch": ARCHITECTURES,
            "size": SIZES,
            "schedule": SCHEDULES,
            "mixed_precision": MIXED_PRECISION,
            "pack_mode": ("concat", "document"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"option {name}={getattr(self, name)!r} is not valid; choose one of: {', '.join(allowed)}"
                )
        positive = ("batch_size", "grad_accum", "max_steps", "max_length", "log_every", "eval_every")
        positive += ("save_every", "keep_checkpoints", "max_nan_skips")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"option {name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"option lr must be positive, got {self.lr}")
        if not 0 <= self.warmup < 1 or not 0 <= self.decay <= 1:
            raise ConfigError("options warmup and decay are fractions of the run: use values in [0, 1)")
        if not 0 < self.eval_fraction < 0.5:
            raise ConfigError(f"option eval_fraction must be in (0, 0.5), got {self.eval_fraction}")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            raise ConfigError(f"option budget_minutes must be positive, got {self.budget_minutes}")
        if self.num_workers < 0:
            raise ConfigError(f"option num_workers must be >= 0, got {self.num_workers}")
        if self.strategy is not None and not self.strategy_args:
            from textssl.corruption import strategy_from_spec

            strategy_from_spec(self.strategy)  # a bad spec fails here, before anything is written


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> PretrainConfig:
    """Read a YAML config and apply ``overrides`` (``None`` values are skipped): one-line errors name the file,
    the line and the option for malformed YAML, unknown keys, wrong types and out-of-range values."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if path is None:
        return PretrainConfig.from_dict(overrides)
    return PretrainConfig.from_yaml(path, overrides)


# Help text of each option, shown by ``textssl pretrain --help`` next to the option's default (the field's default
# above). A field without an entry here still gets a flag; tests/test_cli.py asserts that every field has one.
FIELD_HELP: dict[str, str] = {
    "objective": "pretraining objective: {objectives}",
    "arch": "model architecture: {archs}",
    "size": "model size: {sizes} (tiny = L2/H128 ... base = L12/H768)",
    "model_overrides": "transformers config fields to override, e.g. num_hidden_layers=3,hidden_dropout_prob=0",
    "objective_args": "objective options, e.g. generator_fraction=0.25,disc_weight=50 for electra",
    "strategy": "corruption strategy spec: a name, a+b (Compose) or YAML such as "
    "'{{name: whole_word_masking, rate: {{linear: [0.3, 0.15, 10000]}}}}'; none = the objective's own",
    "strategy_args": "options of a single named strategy, e.g. rate=0.2",
    "tokenizer": "shipped tokenizer (wordpiece, bpe, unigram), a tokenizer directory or a Hub id",
    "data": "training corpus: a file, directory, .jsonl/.csv/.parquet, Hub dataset id, prepared directory, "
    "or synthetic[:DOCS[:SEED]]",
    "data_args": "reading/packing options for textssl.data.get_blocks, e.g. streaming=true,text_column=body",
    "eval_data": "held-out corpus; none = hold out eval_fraction of the training blocks",
    "eval_fraction": "fraction of the training blocks held out when no eval_data is given",
    "max_length": "tokens per block",
    "pack_mode": "concat (pack documents into full blocks) or document (one document per block, padded)",
    "num_workers": "DataLoader worker processes that run the corruption",
    "batch_size": "blocks per batch, per process",
    "grad_accum": "gradient accumulation steps per optimizer step",
    "lr": "peak learning rate",
    "weight_decay": "AdamW weight decay (not applied to biases and norms)",
    "adam_beta1": "AdamW beta1",
    "adam_beta2": "AdamW beta2",
    "adam_eps": "AdamW epsilon",
    "max_grad_norm": "clip gradients to this global norm (0: no clipping)",
    "schedule": "learning-rate schedule: {schedules}",
    "warmup": "warmup, as a fraction of the run",
    "decay": "wsd schedule: fraction of the run spent decaying",
    "max_steps": "optimizer steps to train",
    "budget_minutes": "also stop after this wall-clock time; the schedule then follows the time",
    "mixed_precision": "Accelerate mixed precision: {precisions}",
    "seed": "random seed (model init, data order, corruption)",
    "output_dir": "run directory: model/, checkpoints/, log.jsonl, loss.png, tb/",
    "log_every": "log the training loss every N steps",
    "eval_every": "evaluate on held-out data every N steps",
    "eval_batches": "held-out batches per evaluation",
    "save_every": "save a checkpoint every N steps",
    "keep_checkpoints": "keep the newest N checkpoints",
    "resume": "continue a run: latest, or a checkpoint directory",
    "stop_at_step": "exit cleanly after this step (resume later with --resume latest)",
    "max_nan_skips": "stop with an error after this many NaN/Inf losses in a row",
    "report_to": "tracker: auto (tensorboard when installed), none, or a name such as tensorboard or wandb "
    "(log.jsonl is always written)",
    "progress": "show a progress bar (when stderr is not a terminal: one line per 10%)",
    "push_to_hub": "Hub repo id to push the final model to",
    "overwrite": "replace an existing run in output_dir",
}


_METAVARS = {"report_to": "NAME", "push_to_hub": "REPO_ID", "resume": "CHECKPOINT", "eval_data": "DATA"}


def _help_choices() -> dict[str, str]:
    from textssl.models import ARCHITECTURES, SIZES
    from textssl.objectives import OBJECTIVES

    return {
        "objectives": ", ".join(OBJECTIVES),
        "archs": ", ".join(ARCHITECTURES),
        "sizes": ", ".join(SIZES),
        "schedules": ", ".join(SCHEDULES),
        "precisions": ", ".join(MIXED_PRECISION),
    }


def _parse_spec(text: str) -> Any:
    """A strategy spec from the command line: inline YAML when it starts with ``{`` or ``[``, else the text."""
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"not valid YAML: {str(exc).splitlines()[0]}") from None


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one ``--flag`` per PretrainConfig field, with help text and the field's default.

    The flags come from :func:`textssl.configbase.add_arguments` (argparse default ``None``: a flag left out
    keeps the YAML's value; booleans ``--flag/--no-flag``; dict fields ``k=v,...`` or JSON). ``--output`` is a
    hidden alias of ``--output-dir`` (the name the other commands used).
    """
    from textssl.commands.flags import OUTPUT_DIR_ALIASES, add_hidden_aliases

    actions = add_arguments(
        PretrainConfig,
        parser,
        FIELD_HELP,
        title="options (each is also a key of the --config YAML)",
        config_help="YAML config file (see recipes/configs/); flags override it",
        metavars=_METAVARS,
        format_args=_help_choices(),
    )
    actions["strategy"].type, actions["strategy"].metavar = _parse_spec, "SPEC"
    add_hidden_aliases(parser, actions["output_dir"], OUTPUT_DIR_ALIASES)


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return load_config(args.config, overrides)
