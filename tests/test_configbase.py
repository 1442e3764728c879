"""The config base (textssl/configbase.py): YAML errors, unknown keys, types, generated flags; FinetuneConfig on it."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from textssl.cli import main
from textssl.configbase import MIXED_PRECISION, ConfigBase, add_arguments, check_values, read_yaml
from textssl.errors import ConfigError, InputFileError
from textssl.finetuning.protocol import FIELD_HELP, FinetuneConfig, load_protocol


@dataclass
class Toy(ConfigBase):
    option_prefix: ClassVar[str] = "toy option"

    steps: int = 10
    rate: float = 0.5
    limit: int | None = None
    mode: Literal["fast", "slow"] = "fast"
    verbose: bool = False
    name: str = "toy"
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.steps < 1:
            raise ConfigError(f"toy option steps={self.steps} is out of range")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ YAML and types


def test_yaml_values_are_checked_and_converted(tmp_path):
    cfg = Toy.from_yaml(
        write(tmp_path / "ok.yaml", "steps: 3\nrate: 1e-3\nlimit: null\nmode: slow\nname: no\n")
    )
    assert (cfg.steps, cfg.rate, cfg.limit, cfg.mode, cfg.name) == (3, 1e-3, None, "slow", "no")
    assert isinstance(
        cfg.rate, float
    )  # PyYAML reads 1e-3 (no dot) as a string; the base reads it as a number
    assert Toy.from_yaml(write(tmp_path / "rate.yaml", "rate: 2\n")).rate == 2.0  # an integer is a number
    assert Toy.from_yaml(tmp_path / "ok.yaml", overrides={"steps": 7, "rate": None}).steps == 7
    assert Toy.from_yaml(write(tmp_path / "empty.yaml", "")) == Toy()


@pytest.mark.parametrize(
    "text, message",
    [
        ("rate: 0.1\nsteps: '8'\n", "toy option steps must be an integer, got '8' (in {path}, line 2)"),
        ("steps: true\n", "toy option steps must be an integer, got True (in {path}, line 1)"),
        ("steps: 2.5\n", "toy option steps must be an integer, got 2.5"),
        ("rate: fast\n", "toy option rate must be a number, got 'fast' (in {path}, line 1)"),
        ("limit: x\n", "toy option limit must be an integer or null, got 'x'"),
        ("steps: null\n", "toy option steps must be an integer, got None"),
        ("mode: medium\n", "toy option mode must be one of fast, slow, got 'medium' (in {path}, line 1)"),
        ("verbose: 'yes'\n", "toy option verbose must be true or false, got 'yes'"),
        ("extra: [1]\n", "toy option extra must be a mapping, got [1]"),
        ("steps: 0\n", "toy option steps=0 is out of range (in {path})"),
        (
            "stepz: 3\nspeed: 1\n",
            "unknown toy option(s) speed, stepz (in {path}); known: extra, limit, mode, name",
        ),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_option_and_file(tmp_path, text, message):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        Toy.from_yaml(path)
    assert message.format(path=path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("steps: [1\n  x: :\n", "line 2, column 4: not valid YAML"),
        ("- steps\n", "expected a mapping of options at the top level"),
    ],
)
def test_malformed_yaml_names_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError, match="--config .*bad.yaml") as info:
        Toy.from_yaml(path)
    assert message in str(info.value)
    with pytest.raises(InputFileError, match="no such file"):
        read_yaml(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        read_yaml(tmp_path / "latin1.yaml")


def test_construction_and_replace_are_checked_too():
    with pytest.raises(ConfigError, match="toy option steps must be an integer, got '8'$"):
        Toy(steps="8")
    with pytest.raises(ConfigError, match="steps=0 is out of range"):
        Toy().replace(steps=0)
    assert Toy().replace(steps=None, rate=0.25) == Toy(rate=0.25)  # None: an unset flag, ignored
    assert check_values(Toy, {"rate": "3e-4"}) == {"rate": 3e-4}


# ------------------------------------------------------------------------------------------------ flags


def test_flags_are_generated_with_help_and_defaults():
    parser = argparse.ArgumentParser()
    actions = add_arguments(
        Toy,
        parser,
        {"steps": "training steps", "mode": "how fast"},
        aliases={"steps": ["-n"]},
        skip=("name",),
    )
    assert set(actions) == {"steps", "rate", "limit", "mode", "verbose", "extra"}
    text = parser.format_help()
    assert "--steps N, -n N" in text and "training steps (default: 10)" in text
    assert "--mode {fast,slow}" in text and "--verbose, --no-verbose" in text and "(default: off)" in text
    assert "--limit N" in text and "(default: none)" in text and "--name" not in text
    assert all(a.default is None for a in actions.values())  # a flag left out keeps the file's value
    args = parser.parse_args(["-n", "4", "--no-verbose", "--extra", "a=1,b=x", "--mode", "slow"])
    cfg = Toy.from_args(args, base=Toy(rate=0.1))
    assert cfg == Toy(steps=4, rate=0.1, mode="slow", verbose=False, extra={"a": 1, "b": "x"})
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "medium"])


def test_finetune_flags_come_from_the_config_fields():
    from textssl.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    fields = [f.name for f in dataclasses.fields(FinetuneConfig) if f.name != "logging_dir"]
    assert set(fields) <= set(FIELD_HELP), "every FinetuneConfig field needs a FIELD_HELP entry"
    for command in ("finetune", "glue"):
        by_dest = {a.dest: a for a in sub.choices[command]._actions}
        for name in fields:
            assert by_dest[name].option_strings[0] == "--" + name.replace("_", "-"), (command, name)
            assert "(default: " in by_dest[name].help and by_dest[name].default is None, (command, name)
        assert "logging_dir" not in by_dest  # set from --output-dir
        assert by_dest["learning_rate"].option_strings == ["--learning-rate", "--lr"]


# ------------------------------------------------------------------------------------------------ FinetuneConfig


def test_finetune_config_and_pretrain_config_agree_on_mixed_precision():
    from textssl.training import config as pretrain_config

    hints = typing.get_type_hints(FinetuneConfig)
    assert typing.get_args(hints["mixed_precision"]) == MIXED_PRECISION == ("no", "fp16", "bf16")
    assert pretrain_config.MIXED_PRECISION == MIXED_PRECISION
    with pytest.raises(ConfigError, match="mixed_precision must be one of no, fp16, bf16, got 'fp8'"):
        FinetuneConfig(mixed_precision="fp8")
    assert FinetuneConfig(mixed_precision=False).mixed_precision == "no"  # YAML 1.1: `mixed_precision: no`


PROTOCOL_ERRORS = [
    ("batch_size: '8'\n", "finetune option batch_size must be an integer, got '8' (in {path}, line 1)"),
    ("learning_rate: 1e-3\nepoch: 3\n", "unknown finetune option(s) epoch (in {path}); known: batch_size"),
    ("mixed_precision: fp8\n", "finetune option mixed_precision must be one of no, fp16, bf16, got 'fp8'"),
    ("epochs: 0\n", "finetune option epochs=0 is out of range (in {path})"),
    ("task_overrides: {sst3: {epochs: 2}}\n", "--config {path}: task_overrides.sst3: unknown task 'sst3'"),
    (
        "task_overrides: {rte: {epochs: x}}\n",
        "task_overrides.rte: finetune option epochs must be an integer, got 'x'",
    ),
]


@pytest.mark.parametrize("command", ["finetune", "glue"])
@pytest.mark.parametrize(
    "text, message", PROTOCOL_ERRORS, ids=[m.split(" (")[0][:40] for _, m in PROTOCOL_ERRORS]
)
def test_protocol_file_errors_are_one_line(tmp_path, capsys, command, text, message):
    path = write(tmp_path / "protocol.yaml", text)
    out = tmp_path / "out"
    task = ["--task", "sst2"] if command == "finetune" else ["--tasks", "sst2"]
    code = main(
        [
            command,
            "--model",
            str(tmp_path / "no-model"),
            *task,
            "--config",
            str(path),
            "--output-dir",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"textssl {command}: error: ") and message.format(path=path) in lines[0], (
        lines[0]
    )
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["protocol.yaml"]
    with pytest.raises(ConfigError):
        load_protocol(path)
