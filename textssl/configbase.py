"""One config base for textssl's option dataclasses: YAML in, checked values out, command-line flags generated.

A config is plain data: a ``@dataclass`` whose fields are the YAML keys and (with dashes) the flags. Inheriting
:class:`ConfigBase` gives it, from the field list alone:

* :meth:`ConfigBase.from_yaml` -- read a YAML file: malformed YAML is one line naming the file, line and column;
  an unknown key is an error listing the known ones; a value of the wrong type is one line naming the option,
  the file and the key's line (``finetune option batch_size must be an integer, got '8' (in glue.yaml, line 3)``);
* :meth:`ConfigBase.from_dict` -- the same checks for a mapping from anywhere else;
* :meth:`ConfigBase.check_types` and :meth:`ConfigBase.validate` -- run on construction (``__post_init__``), so
  ``FinetuneConfig(batch_size=0)`` fails at once with the option's name; ``validate`` is the subclass's hook for
  ranges and rules between fields;
* :meth:`ConfigBase.replace` -- a checked copy with some fields changed;
* :meth:`ConfigBase.add_arguments` / :meth:`ConfigBase.from_args` -- one ``--flag`` per field with its help text
  and default, and back from the parsed arguments.

The type rules, written once: ``int`` fields take integers (not ``True``, not ``"8"``); ``float`` fields take
integers and floats, and a string PyYAML leaves unparsed from YAML 1.1 (``1e-4``, which needs a dot there); ``str``
fields take strings, and ``false`` as ``"no"`` (YAML 1.1 reads an unquoted ``no`` as false: ``mixed_precision:
no``); ``Literal[...]`` fields take one of their values (the flag gets them as ``choices``); ``bool`` fields take
``true``/``false`` (the flag is ``--x``/``--no-x``); ``dict`` fields take a mapping (the flag ``k=v,...`` or JSON);
``None`` only where the type says ``| None``.

:func:`add_arguments` and :func:`check_values` also work on a dataclass that does not inherit the base.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from textssl.errors import ConfigError, InputFileError

MixedPrecision = Literal["no", "fp16", "bf16"]
# Accelerate's mixed-precision modes that textssl trains with (pretraining and finetuning alike). fp8 is left out:
# it needs extra packages and hardware, and no textssl run has been measured with it.
MIXED_PRECISION: tuple[str, ...] = typing.get_args(MixedPrecision)

_YAML11_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_TYPE_WORDS = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    dict: "a mapping",
}
_METAVARS = {int: "N", float: "X"}


# ---------------------------------------------------------------------------------------------------- YAML


def read_yaml(path: str | os.PathLike, option: str = "--config") -> tuple[dict[str, Any], dict[str, int]]:
    """``(mapping, {key: line})`` of a YAML file holding a mapping of options; one-line errors otherwise.

    ``option`` names the flag that gave the path in the messages (``--config FILE: line 2, column 4: not valid
    YAML (...)``). Lines are 1-based, for the top-level keys.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{option} {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{option} {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{option} {path}:{where} not valid YAML ({problem})") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{option} {path}: expected a mapping of options at the top level")
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return data, lines


# ---------------------------------------------------------------------------------------------------- types


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``(base type, optional)`` of a field's type hint: ``int | None`` -> ``(int, True)``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is not Literal and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else hint), True
    return hint, False


def _check_one(name: str, value: Any, hint: Any, prefix: str, where: str) -> Any:
    """``value`` as the field ``name`` takes it (see the module docstring), or a one-line :class:`ConfigError`."""
    base, optional = _unwrap(hint)
    if base is Any:  # free-form (e.g. a strategy spec): the config's own validate() checks it
        return value
    origin = typing.get_origin(base) or base
    if value is None:
        if optional:
            return None
        ok = False
    elif origin is Literal:
        allowed = typing.get_args(base)
        if value is False and "no" in allowed:
            value = "no"
        if value not in allowed:
            raise ConfigError(
                f"{prefix} {name} must be one of {', '.join(map(str, allowed))}, got {value!r}{where}"
            )
        return value
    elif origin is bool:
        ok = isinstance(value, bool)
    elif origin is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif origin is float:
        if isinstance(value, str) and _YAML11_FLOAT.match(value.strip()):
            value = float(value)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif origin is str:
        value = "no" if value is False else value
        ok = isinstance(value, str)
    elif origin is dict:
        ok = isinstance(value, dict)
    else:
        return value  # a type the base does not know: the config's own validate() checks it
    if not ok:
        raise ConfigError(
            f"{prefix} {name} must be {_TYPE_WORDS[origin]}{' or null' if optional else ''}, got {value!r}{where}"
        )
    return value


def check_values(
    config_class: type,
    values: Mapping[str, Any],
    source: str | os.PathLike | None = None,
    lines: Mapping[str, int] | None = None,
    prefix: str = "option",
) -> dict[str, Any]:
    """Check ``values`` against the fields of the dataclass ``config_class``; return them converted.

    Unknown keys are an error that lists the known ones; each value must fit its field's type (module docstring).
    ``source`` (a file) and ``lines`` (``{key: line}``) make the messages say where the value was written.
    """
    hints = typing.get_type_hints(config_class)
    known = [f.name for f in dataclasses.fields(config_class)]
    in_file = f" (in {source})" if source is not None else ""
    unknown = sorted(set(values) - set(known), key=str)
    if unknown:
        raise ConfigError(
            f"unknown {prefix}(s) {', '.join(map(str, unknown))}{in_file}; known: {', '.join(sorted(known))}"
        )
    out = {}
    for name, value in values.items():
        line = (lines or {}).get(name)
        where = f" (in {source}, line {line})" if source is not None and line else in_file
        out[name] = _check_one(name, value, hints[name], prefix, where)
    return out


# ---------------------------------------------------------------------------------------------------- flags


def parse_mapping(text: str) -> dict[str, Any]:
    """Parse ``'{"a": 1}'`` (JSON) or ``a=1,b=x`` into a dict (values parsed as YAML scalars): a dict flag's type."""
    import yaml

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


def default_text(f: dataclasses.Field) -> str:
    """A field's default as help text shows it (``none``, ``on``/``off``, or the value)."""
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return "required"
    if value is None or value == {}:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _flag_kwargs(f: dataclasses.Field, hint: Any, metavars: Mapping[str, str]) -> dict[str, Any]:
    """argparse keyword arguments for one field (its default stays ``None``: a flag left out changes nothing)."""
    from textssl.commands.flags import Switch

    base, _ = _unwrap(hint)
    origin = typing.get_origin(base) or base
    if origin is bool:
        return {"action": Switch}
    if origin is dict:
        return {"type": parse_mapping, "metavar": metavars.get(f.name, "K=V,...")}
    if origin is Literal:
        return {"choices": typing.get_args(base)}
    kind = origin if origin in (int, float) else str
    metavar = metavars.get(f.name) or _METAVARS.get(kind) or f.name.split("_")[-1].upper()
    return {"type": kind, "metavar": metavar}


def add_arguments(
    config_class: type,
    parser: argparse.ArgumentParser,
    help: Mapping[str, str],
    *,
    title: str | None = None,
    config_help: str | None = None,
    skip: Sequence[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    metavars: Mapping[str, str] | None = None,
    format_args: Mapping[str, str] | None = None,
) -> dict[str, argparse.Action]:
    """Add one ``--flag`` per field of the dataclass ``config_class`` (except ``skip``); return ``{field: action}``.

    The flag is the field name with dashes, plus any ``aliases`` (``{"learning_rate": ["--lr"]}``). Its help is
    ``help[field]`` (``str.format``-ed with ``format_args``) followed by the field's default; its argparse default
    is ``None``, so a flag left out keeps the config file's value. ``config_help`` adds ``--config YAML`` first;
    ``title`` puts the flags in an argument group.
    """
    hints = typing.get_type_hints(config_class)
    if config_help is not None:
        parser.add_argument("--config", metavar="YAML", help=config_help)
    group = parser.add_argument_group(title) if title else parser
    actions = {}
    for f in dataclasses.fields(config_class):
        if f.name in skip:
            continue
        text = help.get(f.name, f.name.replace("_", " ")).format(**(format_args or {}))
        help_text = f"{text} (default: {default_text(f)})".replace("%", "%%")  # argparse %-formats help
        flags = ["--" + f.name.replace("_", "-"), *(aliases or {}).get(f.name, ())]
        kwargs = _flag_kwargs(f, hints[f.name], metavars or {})
        actions[f.name] = group.add_argument(*flags, dest=f.name, default=None, help=help_text, **kwargs)
    return actions


def values_from_args(config_class: type, args: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``config_class`` that the parsed ``args`` set (flags left out are ``None`` and skipped)."""
    names = [f.name for f in dataclasses.fields(config_class)]
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


# ---------------------------------------------------------------------------------------------------- the base


class ConfigBase:
    """Mixin for a ``@dataclass`` config: checked YAML and mappings, checked construction, generated flags.

    Subclasses set ``option_prefix`` (how messages name an option: ``"finetune option"``) and may override
    :meth:`validate` (ranges, rules between fields; raise :class:`~textssl.errors.ConfigError` naming the option).
    """

    option_prefix: ClassVar[str] = "option"

    def __post_init__(self) -> None:
        self.check_types()
        self.validate()

    def check_types(self) -> None:
        """Check (and convert, e.g. ``1e-4`` from YAML 1.1) every field's value against its type."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        for name, value in check_values(type(self), values, prefix=self.option_prefix).items():
            object.__setattr__(self, name, value)

    def validate(self) -> None:
        """Check ranges and rules between fields (a subclass's hook; the base checks nothing more)."""

    @classmethod
    def from_dict(
        cls,
        values: Mapping[str, Any],
        source: str | os.PathLike | None = None,
        lines: Mapping[str, int] | None = None,
    ):
        """Build from a mapping, rejecting unknown keys and wrong types by name (and, with ``source``, by file)."""
        checked = check_values(cls, values, source, lines, cls.option_prefix)
        if source is None:
            return cls(**checked)
        try:
            return cls(**checked)
        except ConfigError as exc:  # a range check in validate(): say which file set the value
            raise ConfigError(f"{exc.message} (in {source})", hint=exc.hint) from None

    @classmethod
    def from_yaml(
        cls,
        path: str | os.PathLike,
        overrides: Mapping[str, Any] | None = None,
        option: str = "--config",
    ):
        """Read ``path`` (see :func:`read_yaml`), then apply ``overrides`` (``None`` values are skipped)."""
        values, lines = read_yaml(path, option)
        config = cls.from_dict(values, source=path, lines=lines)
        return config.replace(**(overrides or {}))

    def replace(self, **changes: Any):
        """A checked copy with ``changes`` applied (``None`` values are ignored, so unset flags pass through)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return type(self).from_dict({**values, **changes})

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what results files and trackers record)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, help: Mapping[str, str], **kwargs: Any):
        """:func:`add_arguments` for this config (same keyword arguments)."""
        return add_arguments(cls, parser, help, **kwargs)

    @classmethod
    def from_args(cls, args: argparse.Namespace, base: Any = None):
        """``base`` (default: the defaults) with the fields that the parsed ``args`` set."""
        return (base if base is not None else cls()).replace(**values_from_args(cls, args))
