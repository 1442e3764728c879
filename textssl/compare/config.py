"""The compare configuration: arms, the common pretraining settings, the budget and the evaluation.

Plain data, read from YAML (``recipes/configs/compare_*.yaml``) and overridden by command-line flags::

    common:            # PretrainConfig options shared by every arm (data, tokenizer, size, batch, lr, ...)
      arch: modernbert
      size: tiny
      data: synthetic:20000
    train_tokenizer: {kind: wordpiece, vocab_size: 1000}   # optional: a vocabulary trained on common.data
    arms: [mlm, electra]                                   # shorthands or mappings (textssl.compare.arms)
    budget: steps:900                                      # flops:N | tokens:N | steps:N, the same for every arm
    eval_at: [0.25, 0.5, 1.0]                              # fractions of the budget to evaluate at
    tasks: [syn-cola, syn-sst]                             # GLUE-style tasks (syn-* are generated)
    seeds: 3
    data_dir: null                                         # a local GLUE folder for real tasks (else the Hub)
    finetune: {learning_rate: 5.0e-4, epochs: 5, batch_size: 16}   # the protocol (FinetuneConfig)
    finetune_lrs: [5.0e-4]                                 # learning-rate grid, searched per twin and task
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textssl.compare.arms import Arm, check_common, parse_arms
from textssl.errors import ConfigError, InputFileError

BUDGET_KINDS = ("flops", "tokens", "steps")
DEFAULT_EVAL_AT = (0.25, 0.5, 1.0)
DEFAULT_TASKS = ("syn-cola", "syn-sst", "syn-mrpc", "syn-sts")


@dataclass(frozen=True)
class Budget:
    """The budget every arm gets: ``kind`` is flops, tokens or steps."""

    kind: str
    value: float

    def __str__(self) -> str:
        from textssl.compare.flops import human

        return f"{self.kind}:{human(self.value)}"


def parse_budget(text: str | Budget, where: str = "--budget") -> Budget:
    """``flops:1e13`` / ``tokens:2e6`` / ``steps:900`` -> :class:`Budget`."""
    if isinstance(text, Budget):
        return text
    kind, sep, raw = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in BUDGET_KINDS:
        raise ConfigError(
            f"{where} {text!r}: write KIND:AMOUNT with KIND one of {', '.join(BUDGET_KINDS)}, e.g. flops:1e13"
        )
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{where} {text!r}: {raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0 or (kind == "steps" and not value.is_integer()):
        raise ConfigError(f"{where} {text!r}: the amount must be a positive number (whole for steps)")
    return Budget(kind, value)


def _floats(value: str | Iterable[Any], where: str) -> list[float]:
    items = [v for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
    try:
        return [float(v) for v in items]
    except (TypeError, ValueError):
        raise ConfigError(f"{where} {value!r}: give comma-separated numbers") from None


def parse_eval_at(value: str | Iterable[Any], where: str = "--eval-at") -> list[float]:
    """Budget fractions in (0, 1], sorted; 1 (the full budget) is always included."""
    fractions = _floats(value, where)
    bad = [f for f in fractions if not 0 < f <= 1]
    if bad:
        raise ConfigError(f"{where}: fractions of the budget must be in (0, 1], got {bad[0]:g}")
    return sorted(set(fractions) | {1.0})


def parse_lrs(value: str | Iterable[Any], where: str = "--finetune-lrs") -> list[float]:
    lrs = _floats(value, where)
    if not lrs or any(not (lr > 0 and math.isfinite(lr)) for lr in lrs):
        raise ConfigError(f"{where} {value!r}: give one or more positive learning rates, e.g. 3e-4,1e-3")
    return list(dict.fromkeys(lrs))


def parse_task_names(value: str | Iterable[str], where: str = "--tasks") -> list[str]:
    from textssl.finetuning.tasks import parse_tasks

    try:
        return list(dict.fromkeys(spec.name for spec in parse_tasks(value)))
    except KeyError as exc:  # UnknownTaskError
        raise ConfigError(f"{where}: {getattr(exc, 'message', exc)}") from None


@dataclass
class CompareConfig:
    """Everything a comparison needs; see the module docstring for the YAML layout."""

    arms: list[Arm]
    common: dict[str, Any] = field(default_factory=dict)
    budget: Budget = field(default_factory=lambda: Budget("steps", 900))
    eval_at: list[float] = field(default_factory=lambda: list(DEFAULT_EVAL_AT))
    tasks: list[str] = field(default_factory=lambda: list(DEFAULT_TASKS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    data_dir: str | None = None
    finetune: dict[str, Any] = field(default_factory=dict)
    finetune_lrs: list[float] | None = None  # None: the protocol's learning_rate only
    train_tokenizer: dict[str, Any] | None = None
    baseline: bool = True  # the shared random-init twin per architecture

    def protocol(self):
        """The finetuning protocol (:class:`~textssl.finetuning.protocol.FinetuneConfig`)."""
        from textssl.finetuning.protocol import FinetuneConfig

        return FinetuneConfig.from_dict(self.finetune)

    def lrs(self) -> list[float]:
        return list(self.finetune_lrs) if self.finetune_lrs else [self.protocol().learning_rate]


KEYS = tuple(f.name for f in dataclasses.fields(CompareConfig))


def build_config(values: Mapping[str, Any], where: str = "compare config") -> CompareConfig:
    """Check and convert a mapping (a YAML file plus flag overrides) into a :class:`CompareConfig`."""
    from textssl.finetuning.protocol import parse_seeds

    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(KEYS)}")
    if "arms" not in values or not values["arms"]:
        raise ConfigError(f"{where}: no arms; give --arms mlm,electra or an 'arms:' list")
    common = dict(values.get("common") or {})
    if not isinstance(values.get("common") or {}, Mapping):
        raise ConfigError(f"{where}: 'common' must be a mapping of pretraining options")
    check_common(common)
    finetune = dict(values.get("finetune") or {})
    tok = values.get("train_tokenizer")
    if tok is not None:
        if not isinstance(tok, Mapping) or "kind" not in tok or "vocab_size" not in tok:
            raise ConfigError(
                f"{where}: train_tokenizer needs kind and vocab_size, e.g. {{kind: wordpiece, vocab_size: 1000}}"
            )
        extra = sorted(set(tok) - {"kind", "vocab_size", "max_documents"})
        if extra:
            raise ConfigError(f"{where}: train_tokenizer: unknown key(s) {', '.join(extra)}")
        if "tokenizer" in common:
            raise ConfigError(f"{where}: give either common.tokenizer or train_tokenizer, not both")
        tok = dict(tok)
    cfg = CompareConfig(
        arms=parse_arms(values["arms"], "--arms" if isinstance(values["arms"], str) else "arms"),
        common=common,
        budget=parse_budget(values.get("budget", "steps:900")),
        eval_at=parse_eval_at(values.get("eval_at", DEFAULT_EVAL_AT)),
        tasks=parse_task_names(values.get("tasks", DEFAULT_TASKS)),
        seeds=parse_seeds(values.get("seeds", 3)),
        data_dir=str(values["data_dir"]) if values.get("data_dir") else None,
        finetune=finetune,
        finetune_lrs=parse_lrs(values["finetune_lrs"]) if values.get("finetune_lrs") else None,
        train_tokenizer=tok,
        baseline=bool(values.get("baseline", True)),
    )
    cfg.protocol()  # check the finetuning options now, not after the first arm
    if cfg.data_dir is not None and not Path(cfg.data_dir).is_dir():
        raise InputFileError(f"--data-dir {cfg.data_dir}: no such directory (a local GLUE folder)")
    return cfg


def load_compare_config(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> CompareConfig:
    """Read a compare YAML (or nothing) and apply ``overrides`` (``None`` values are ignored)."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"--config {path}: no such file")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"--config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"--config {path}: expected a mapping of compare options at the top level")
        values.update(loaded)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return build_config(values, f"--config {path}" if path is not None else "compare options")
