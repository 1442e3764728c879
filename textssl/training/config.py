"""Pretraining configuration: plain data, read from YAML and overridden from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from textssl.errors import ConfigError, InputFileError

SCHEDULES = ("linear", "cosine", "wsd", "constant")
MIXED_PRECISION = ("no", "fp16", "bf16")


@dataclass
class PretrainConfig:
    """Everything a pretraining run needs. Field names are also the YAML keys and (with dashes) CLI flags."""

    # what to train
    objective: str = "mlm"
    arch: str = "bert"
    size: str = "tiny"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    objective_args: dict[str, Any] = field(default_factory=dict)
    strategy: str | None = None  # None: the objective's default (see textssl.objectives)
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
    mixed_precision: str = "no"
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


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> PretrainConfig:
    """Read a YAML config (unknown keys and wrong types are errors) and apply ``overrides``."""
    values: dict[str, Any] = {}
    where = ""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"config file {path} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"config file {path}{at} is not valid YAML: {problem}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of option: value")
        values.update(loaded)
        where = f" (in {path})"
    known = {f.name for f in dataclasses.fields(PretrainConfig)}
    unknown = sorted(set(values) - known, key=str)
    if unknown:
        raise ConfigError(
            f"unknown config option(s) {', '.join(map(str, unknown))}{where}; "
            f"known options: {', '.join(sorted(known))}"
        )
    check_types(values, where)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"unknown config option(s) {', '.join(unknown)}; known options: {', '.join(sorted(known))}"
        )
    check_types(overrides, "")
    values.update(overrides)
    cfg = PretrainConfig(**values)
    cfg.validate()
    return cfg


_YAML11_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_TYPE_WORDS = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    dict: "a mapping",
}


def check_types(values: dict[str, Any], where: str = "") -> None:
    """Check each value against its PretrainConfig field type; ``where`` (e.g. " (in FILE)") ends the message.

    YAML gives ``batch_size: "8"`` as a string and ``lr: fast`` as a string; without this check they fail much
    later with a TypeError deep in the loop. An integer is accepted for a float option; ``null`` only where the
    option may be unset.
    """
    hints = get_type_hints(PretrainConfig)
    for name, value in list(values.items()):
        hint = hints.get(name)
        if hint is None:
            continue
        args = typing.get_args(hint)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if args and optional else hint
        base = typing.get_origin(base) or base
        if value is None:
            if optional:
                continue
            ok = False
        elif base is bool:
            ok = isinstance(value, bool)
        elif base is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif base is float:
            if isinstance(value, str) and _YAML11_FLOAT.match(value.strip()):
                value = values[name] = float(value)  # PyYAML reads 1e-3 (no dot) as a string
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif base in (str, dict):
            ok = isinstance(value, base)
        else:
            continue
        if not ok:
            raise ConfigError(
                f"option {name} must be {_TYPE_WORDS[base]}{' or null' if optional else ''}, "
                f"got {value!r}{where}"
            )


def _parse_mapping(text: str) -> dict[str, Any]:
    """Parse ``'{"a": 1}'`` (JSON) or ``a=1,b=x`` into a dict (values parsed as YAML scalars)."""
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    out: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one ``--flag`` per PretrainConfig field (default: keep the YAML's value)."""
    parser.add_argument("--config", help="YAML config file (see recipes/configs/)")
    hints = get_type_hints(PretrainConfig)
    for f in dataclasses.fields(PretrainConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        if hint is bool:
            parser.add_argument(
                flag, dest=f.name, type=lambda s: s.lower() in ("1", "true", "yes"), default=None
            )
        elif "dict" in str(hint):
            parser.add_argument(flag, dest=f.name, type=_parse_mapping, default=None, metavar="K=V,...")
        else:
            kind = int if hint in (int, int | None) else float if hint in (float, float | None) else str
            parser.add_argument(flag, dest=f.name, type=kind, default=None)
    _bare_bool_flags(parser)


def _bare_bool_flags(parser: argparse.ArgumentParser) -> None:
    """Let a boolean option be given bare (``--overwrite``) as well as with a value (``--overwrite true``)."""
    for action in parser._actions:
        if action.dest in _BOOL_FIELDS and action.option_strings:
            action.nargs, action.const = "?", True


_BOOL_FIELDS = {f.name for f in dataclasses.fields(PretrainConfig) if f.type in ("bool", bool)}


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return load_config(args.config, overrides)
