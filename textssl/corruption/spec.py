"""The strategy spec: a corruption strategy written as plain data (YAML / JSON), and the one parser for it.

Forms (``docs/corruption.md`` has the full description)::

    whole_word_masking                                   # a registered name: its defaults
    sentence_permutation+text_infilling                  # names joined by '+': a Compose of them
    {name: whole_word_masking, rate: 0.3}                # a name and its arguments, side by side
    {name: token_masking, rate: {linear: [0.3, 0.15, 10000]}}   # a Linear(start, end, steps) rate
    {compose: [sentence_permutation, {name: text_infilling, rate: 0.3}], probs: [1.0, 0.5]}

A rate schedule is a number, ``{linear: [start, end, steps]}`` or the string ``"linear(start, end, steps)"``.
:func:`strategy_from_spec` builds the strategy; :func:`spec_of` gives the plain data back (every argument
spelled out), and ``strategy_from_spec(spec_of(s))`` corrupts exactly like ``s`` for the same seed. Every
mistake is a one-line :class:`~textssl.errors.ConfigError` that starts with its path inside the spec, e.g.
``strategy.compose[1].rate: ...``. ``textssl corrupt`` and :func:`build_strategy` go through this parser.

A new strategy plugs in by one line in :data:`STRATEGIES`; its constructor's parameters are its spec
arguments, and it stores each one under the same attribute name (which :func:`spec_of` reads back).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

from textssl.corruption.base import Constant, Linear, Schedule, Strategy
from textssl.corruption.causal import CausalLM
from textssl.corruption.compose import Compose
from textssl.corruption.denoising import DocumentRotation, TextInfilling, TokenDeletion, TokenInsertion
from textssl.corruption.masking import SpanMasking, TokenMasking, WholeWordMasking
from textssl.corruption.replacement import WordReplacement
from textssl.corruption.sentences import NextSentence, SentenceOrder, SentencePermutation
from textssl.corruption.t5 import T5SpanCorruption
from textssl.errors import ConfigError

STRATEGIES: dict[str, type[Strategy]] = {
    "token_masking": TokenMasking,
    "whole_word_masking": WholeWordMasking,
    "span_masking": SpanMasking,
    "t5_span_corruption": T5SpanCorruption,
    "text_infilling": TextInfilling,
    "token_deletion": TokenDeletion,
    "token_insertion": TokenInsertion,
    "word_replacement": WordReplacement,
    "sentence_permutation": SentencePermutation,
    "document_rotation": DocumentRotation,
    "sentence_order": SentenceOrder,
    "next_sentence": NextSentence,
    "causal_lm": CausalLM,
}

SpecValue = str | dict[str, Any]
_LINEAR = re.compile(r"^linear\(\s*([^,]+),\s*([^,]+),\s*([^,)]+)\)$", re.IGNORECASE)
_SCHEDULE_FORMS = "a number, {linear: [START, END, STEPS]} or 'linear(START, END, STEPS)'"
_SPEC_FORMS = (
    "a strategy name ('whole_word_masking', 'a+b' for a Compose), {name: NAME, ARG: VALUE, ...} "
    "or {compose: [SPEC, ...], probs: [P, ...]}"
)


def _choices() -> str:
    return ", ".join(STRATEGIES)


# --------------------------------------------------------------------------- schedules


def schedule_from_spec(value: Any, where: str = "rate") -> Any:
    """A rate value from its spec: ``{linear: [start, end, steps]}`` or ``"linear(start, end, steps)"`` become a
    :class:`Linear`; numbers and :class:`Schedule` objects come back unchanged; anything else is an error."""
    if isinstance(value, Schedule) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        m = _LINEAR.match(value.strip())
        if not m:
            raise ConfigError(f"{where}: expected {_SCHEDULE_FORMS}, got {value!r}")
        start, end, steps = (g.strip() for g in m.groups())
        try:
            return _linear([float(start), float(end), _whole(steps)], where)
        except ValueError:
            raise ConfigError(
                f"{where}: linear(START, END, STEPS) needs numbers and a whole number of steps, got {value!r}"
            ) from None
    if isinstance(value, Mapping) and list(value) == ["linear"]:
        args = value["linear"]
        if isinstance(args, Mapping):
            unknown = sorted(set(args) - {"start", "end", "steps"})
            if unknown or len(args) != 3:
                raise ConfigError(
                    f"{where}.linear: expected [START, END, STEPS] or {{start, end, steps}}, got {dict(args)!r}"
                )
            args = [args["start"], args["end"], args["steps"]]
        return _linear(args, f"{where}.linear")
    raise ConfigError(f"{where}: expected {_SCHEDULE_FORMS}, got {value!r}")


def _whole(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def _linear(args: Any, where: str) -> Linear:
    ok = (
        isinstance(args, (list, tuple))
        and len(args) == 3
        and all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    )
    if not ok:
        raise ConfigError(f"{where}: expected [START, END, STEPS] (three numbers), got {args!r}")
    start, end, steps = args
    if not float(steps).is_integer() or steps <= 0:
        raise ConfigError(f"{where}: STEPS must be a whole number > 0, got {steps!r}")
    return Linear(float(start), float(end), int(steps))


def schedule_spec(schedule: Any) -> Any:
    """The plain-data form of a rate: a float for :class:`Constant`, ``{"linear": [start, end, steps]}``."""
    if isinstance(schedule, Constant):
        return schedule.value
    if isinstance(schedule, Linear):
        return {"linear": [schedule.start, schedule.end, schedule.steps]}
    if isinstance(schedule, Schedule):
        raise ConfigError(
            f"{schedule!r} has no spec form: only Constant and Linear schedules can be written as plain data"
        )
    return schedule


# --------------------------------------------------------------------------- parsing


def _kind(annotation: Any) -> str:
    """What a constructor parameter takes, from its annotation: rate, bool, int, float or str."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if "RateLike" in text or "Schedule" in text:
        return "rate"
    for kind in ("bool", "int", "float", "str"):
        if text == kind:
            return kind
    return "any"


def _arguments(cls: type[Strategy]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls.__init__).parameters
    return {n: p for n, p in params.items() if n != "self" and p.kind is p.POSITIONAL_OR_KEYWORD}


def _check_arg(value: Any, kind: str, where: str) -> Any:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "rate":
        return schedule_from_spec(value, where)
    if kind == "bool" and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind == "float" and not is_number:
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if kind == "int" and not (is_number and float(value).is_integer()):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if kind == "str" and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _build_named(name: Any, args: Mapping[str, Any], where: str) -> Strategy:
    if not isinstance(name, str) or name not in STRATEGIES:
        raise ConfigError(f"{where}: unknown strategy {name!r}; choose one of: {_choices()}")
    cls = STRATEGIES[name]
    params = _arguments(cls)
    kwargs = {}
    for key, value in args.items():
        if key not in params:
            raise ConfigError(
                f"{where}.{key}: bad arguments for {name}: unknown argument {key!r}; "
                f"it takes: {', '.join(params) or 'no arguments'}"
            )
        kwargs[key] = _check_arg(value, _kind(params[key].annotation), f"{where}.{key}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        # A constructor names the argument first ("rate must be in [0, 1], got 2.0"): point the path at it.
        named = re.match(r"(?:[A-Z]\w* )?(\w+) must ", exc.message)
        at = f"{where}.{named.group(1)}" if named and named.group(1) in kwargs else where
        raise ConfigError(f"{at}: {exc.message}", hint=exc.hint) from None


def _build_compose(members: Any, probs: Any, where: str) -> Compose:
    if isinstance(members, (str, Mapping)) or not isinstance(members, (list, tuple)) or not members:
        raise ConfigError(f"{where}.compose: expected a non-empty list of strategy specs, got {members!r}")
    built = [strategy_from_spec(m, f"{where}.compose[{i}]") for i, m in enumerate(members)]
    if probs is not None:
        if not isinstance(probs, (list, tuple)) or len(probs) != len(built):
            raise ConfigError(
                f"{where}.probs: expected a list of {len(built)} probabilities (one per compose member), "
                f"got {probs!r}"
            )
        for i, p in enumerate(probs):
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ConfigError(f"{where}.probs[{i}]: expected a number in [0, 1], got {p!r}")
    return Compose(built, probs)


def strategy_from_spec(spec: Any, where: str = "strategy") -> Strategy:
    """Build a strategy from its spec (see the module docstring); ``where`` names the spec in errors.

    A :class:`Strategy` object is returned as it is, so callers may take either.
    """
    if isinstance(spec, Strategy):
        return spec
    if isinstance(spec, str):
        names = [n.strip() for n in spec.split("+")]
        if not all(names):
            raise ConfigError(f"{where}: empty strategy name in {spec!r}; give a name such as token_masking")
        if len(names) == 1:
            return _build_named(names[0], {}, where)
        for n in names:
            if n not in STRATEGIES:
                raise ConfigError(f"{where}: unknown strategy {n!r} in {spec!r}; choose one of: {_choices()}")
        return Compose([_build_named(n, {}, where) for n in names])
    if isinstance(spec, Mapping):
        if "compose" in spec:
            extra = sorted(set(spec) - {"compose", "probs"})
            if extra:
                raise ConfigError(
                    f"{where}: a compose spec takes only 'compose' and 'probs', got {', '.join(map(str, extra))}"
                    " (give each member its own arguments)"
                )
            return _build_compose(spec["compose"], spec.get("probs"), where)
        if "name" in spec:
            return _build_named(spec["name"], {k: v for k, v in spec.items() if k != "name"}, where)
        raise ConfigError(
            f"{where}: a strategy mapping needs 'name' or 'compose', got keys {sorted(map(str, spec))}; "
            f"write {_SPEC_FORMS}"
        )
    raise ConfigError(f"{where}: expected {_SPEC_FORMS}; got {spec!r}")


def build_strategy(name: str, **kwargs: Any) -> Strategy:
    """Build a strategy from its registry name (e.g. ``"whole_word_masking"``) and keyword arguments.

    The same as ``strategy_from_spec({"name": name, **kwargs})``: argument values may be spec values too
    (``rate={"linear": [0.3, 0.15, 10000]}``).
    """
    return _build_named(name, kwargs, "strategy")


# --------------------------------------------------------------------------- back to plain data


def spec_of(strategy: Strategy, full: bool = True) -> SpecValue:
    """The plain-data spec of ``strategy`` (YAML / JSON ready), for saved run configs and model cards.

    ``full=True`` spells out every argument (so the record stays exact even if a default changes later);
    ``full=False`` keeps only the arguments that differ from the defaults, and gives a bare name when none
    do. Raises ConfigError for a strategy outside :data:`STRATEGIES` or a custom :class:`Schedule`.
    """
    if isinstance(strategy, Compose):
        out: dict[str, Any] = {"compose": [spec_of(s, full) for s in strategy.strategies]}
        if full or any(p != 1 for p in strategy.probs):
            out["probs"] = list(strategy.probs)
        return out
    name = next((n for n, cls in STRATEGIES.items() if type(strategy) is cls), None)
    if name is None:
        raise ConfigError(
            f"{type(strategy).__name__} has no spec form: it is not registered in "
            "textssl.corruption.STRATEGIES (add it there to save it in configs)"
        )
    args: dict[str, Any] = {}
    for arg, param in _arguments(type(strategy)).items():
        if not hasattr(strategy, arg):
            raise ConfigError(
                f"{type(strategy).__name__} does not store its argument {arg!r} as an attribute of the same "
                "name, so its spec cannot be written"
            )
        value = schedule_spec(getattr(strategy, arg))
        default = param.default
        if full or default is inspect.Parameter.empty or value != schedule_spec(default):
            args[arg] = value
    return {"name": name, **args} if args or full else name


def spec_line(strategy: Strategy) -> str:
    """``spec_of(strategy, full=False)`` as one line of YAML: what to write under ``strategy:`` in a config
    (shown by ``textssl corrupt`` and in model cards)."""
    import yaml

    spec = spec_of(strategy, full=False)
    return yaml.safe_dump(spec, default_flow_style=True, sort_keys=False, width=10**6).strip()
