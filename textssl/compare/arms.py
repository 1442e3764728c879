"""Arms of a comparison: each arm is one pretraining config, the common settings plus its own overrides.

Two ways to write arms:

* the shorthand ``objective[:strategy][@arch]``, comma-separated: ``mlm,electra,mlm:whole_word_masking,sop``
  or ``clm@llama``. The strategy takes its default arguments; the arm's name is the shorthand itself.
* a YAML list whose items are shorthands or mappings of :class:`~textssl.training.config.PretrainConfig`
  options plus an optional ``name``::

      arms:
        - mlm
        - {name: mlm-span30, objective: mlm, strategy: span_masking, strategy_args: {rate: 0.3}}
        - {objective: electra, objective_args: {generator_fraction: 0.5}, lr: 1.0e-3}

Architecture: an arm that names none takes the common ``arch`` when its objective supports it, otherwise the
objective's default (:data:`DEFAULT_ARCH`), so ``--arms mlm,electra`` on a ModernBERT common config compares
ModernBERT-MLM with ELECTRA. Everything an arm does not set comes from the common settings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from textssl.errors import ConfigError

# Per-arm settings: they differ between objectives, so the common settings may not hold them.
ARM_ONLY = ("objective", "objective_args", "strategy", "strategy_args")
# Settings compare itself decides (the budget, the segments and where each arm writes).
MANAGED = ("output_dir", "resume", "stop_at_step", "max_steps", "budget_minutes", "push_to_hub")
# The architecture an objective uses when the common one does not support it.
DEFAULT_ARCH = {
    "mlm": "modernbert",
    "clm": "gpt2",
    "electra": "electra",
    "sop": "bert",
    "nsp": "bert",
    "seq2seq": "bart",
}
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Arm:
    """One arm: a display ``name`` and the PretrainConfig options it sets on top of the common ones."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The arm's directory name (``mlm:span_masking`` -> ``mlm-span_masking``)."""
        return _SLUG.sub("-", self.name).strip("-") or "arm"


def _objectives() -> tuple[str, ...]:
    from textssl.objectives import OBJECTIVES

    return tuple(OBJECTIVES)


def parse_shorthand(text: str, where: str = "--arms") -> Arm:
    """``objective[:strategy][@arch]`` -> :class:`Arm`; unknown names are a one-line ConfigError."""
    from textssl.corruption import STRATEGIES
    from textssl.models import ARCHITECTURES

    spec = text.strip()
    if not spec:
        raise ConfigError(f"{where}: empty arm; write objective[:strategy][@arch], e.g. mlm:span_masking")
    body, _, arch = spec.partition("@")
    objective, _, strategy = body.partition(":")
    objective, strategy, arch = objective.strip().lower(), strategy.strip(), arch.strip().lower()
    if objective not in _objectives():
        raise ConfigError(
            f"{where}: unknown objective {objective!r} in arm {spec!r}; choose one of: {', '.join(_objectives())}"
        )
    overrides: dict[str, Any] = {"objective": objective}
    if strategy:
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"{where}: unknown strategy {strategy!r} in arm {spec!r}; choose one of: {', '.join(STRATEGIES)}"
            )
        overrides["strategy"] = strategy
    if "@" in spec:
        if arch not in ARCHITECTURES:
            raise ConfigError(
                f"{where}: unknown architecture {arch!r} in arm {spec!r}; choose one of: {', '.join(ARCHITECTURES)}"
            )
        overrides["arch"] = arch
    return Arm(spec, overrides)


def parse_arms(arms: str | Iterable[str | Mapping[str, Any]], where: str = "--arms") -> list[Arm]:
    """A comma-separated shorthand string, or a list of shorthands and mappings -> arms with unique names."""
    items: list[str | Mapping[str, Any]] = (
        [a for a in arms.split(",") if a.strip()] if isinstance(arms, str) else list(arms or [])
    )
    if not items:
        raise ConfigError(f"{where}: no arms given; e.g. --arms mlm,electra")
    out: list[Arm] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(parse_shorthand(item, where))
        elif isinstance(item, Mapping):
            values = dict(item)
            name = values.pop("name", None)
            if "objective" not in values:
                raise ConfigError(f"{where}: arm {i + 1} ({name or dict(item)}) has no 'objective'")
            if name is None:
                name = values["objective"] + (f":{values['strategy']}" if values.get("strategy") else "")
                name += f"@{values['arch']}" if values.get("arch") else ""
            out.append(Arm(str(name), values))
        else:
            raise ConfigError(f"{where}: arm {i + 1} must be a shorthand string or a mapping, got {item!r}")
    seen: dict[str, str] = {}
    for arm in out:
        if arm.slug in seen:
            raise ConfigError(
                f"{where}: arms {seen[arm.slug]!r} and {arm.name!r} have the same name; give them distinct 'name's"
            )
        seen[arm.slug] = arm.name
    return out


def check_common(common: Mapping[str, Any], where: str = "common") -> None:
    """The common settings may not hold per-arm or compare-managed options."""
    bad = [k for k in common if k in ARM_ONLY or k in MANAGED]
    if bad:
        raise ConfigError(
            f"{where}: option(s) {', '.join(bad)} cannot be common settings; "
            f"{', '.join(ARM_ONLY)} belong to each arm, and compare sets {', '.join(MANAGED)} itself"
        )


def arm_options(arm: Arm, common: Mapping[str, Any]) -> dict[str, Any]:
    """The arm's full option set (common + overrides, architecture defaulted), checked option by option.

    Builds the objective and the strategy (no model, no data) so that a bad combination fails before any
    arm trains. Returns the options as plain data (the plan records them).
    """
    from textssl.corruption import build_strategy
    from textssl.objectives import build_objective
    from textssl.training.config import PretrainConfig

    managed = [k for k in arm.overrides if k in MANAGED]
    if managed:
        raise ConfigError(f"arm {arm.name!r}: option(s) {', '.join(managed)} are set by compare; remove them")
    known = {f.name for f in dataclasses.fields(PretrainConfig)}
    unknown = sorted(set(arm.overrides) - known)
    if unknown:
        raise ConfigError(f"arm {arm.name!r}: unknown option(s) {', '.join(unknown)}")
    values = {**common, **arm.overrides}
    objective_name = values.get("objective", "mlm")
    if "arch" not in arm.overrides:
        from textssl.objectives import OBJECTIVES

        cls = OBJECTIVES.get(objective_name)
        if cls is not None and values.get("arch") not in cls.architectures:
            values["arch"] = DEFAULT_ARCH.get(objective_name, cls.architectures[0])
    try:
        objective = build_objective(
            objective_name, values.get("arch", "bert"), **values.get("objective_args", {})
        )
        strategy = (
            build_strategy(values["strategy"], **values.get("strategy_args", {}))
            if values.get("strategy")
            else objective.default_strategy()
        )
        objective.check_strategy(strategy)
    except TypeError as exc:  # objective_args that the objective does not take
        raise ConfigError(f"arm {arm.name!r}: bad objective_args ({exc})") from None
    except ConfigError as exc:
        hint = exc.hint
        if objective_name in ("sop", "nsp") and values.get("strategy"):
            hint = f"{objective_name} arms take their default strategy; write the arm without ':strategy'"
        raise ConfigError(f"arm {arm.name!r}: {exc.message}", hint=hint) from None
    return values


def strategy_of(options: Mapping[str, Any]):
    """The arm's corruption strategy object (configured or the objective's default)."""
    from textssl.corruption import build_strategy
    from textssl.objectives import build_objective

    objective = build_objective(
        options.get("objective", "mlm"), options["arch"], **options.get("objective_args", {})
    )
    if options.get("strategy"):
        return build_strategy(options["strategy"], **options.get("strategy_args", {}))
    return objective.default_strategy()
