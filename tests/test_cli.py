"""Command-line conventions: help and defaults for every pretraining flag, --output-dir everywhere (with the
old --output as a hidden alias), underscore aliases, one boolean style, trackers, short progress in log files."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from textssl.cli import build_parser, main
from textssl.training.config import FIELD_HELP, PretrainConfig

ROOT = Path(__file__).resolve().parent.parent
# Commands that write a directory, as argv prefixes, with their other required flags.
WRITERS = {
    ("pretrain",): [],
    ("finetune",): ["--model", "m"],
    ("glue",): ["--model", "m"],
    ("quickstart",): [],
    ("tokenizer", "train"): ["--input", "x", "--kind", "bpe"],
    ("data", "prepare"): ["--input", "x", "--tokenizer", "t", "--max-length", "8"],
    ("data", "synthetic"): [],
}


def subparser(*path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def all_parsers(parser=None, path=()):
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, (*path, name))


def help_text(*path: str) -> str:
    return subparser(*path).format_help()


# ------------------------------------------------------------------------------------------------ pretrain --help


def test_every_pretraining_flag_has_help_and_its_default():
    parser = subparser("pretrain")
    fields = {f.name: f for f in dataclasses.fields(PretrainConfig)}
    assert set(fields) <= set(FIELD_HELP), "every PretrainConfig field needs a FIELD_HELP entry"
    by_dest = {a.dest: a for a in parser._actions}
    for name in fields:
        action = by_dest[name]
        assert action.option_strings[0] == "--" + name.replace("_", "-")
        assert action.help and "(default: " in action.help, name
        assert action.default is None, name  # a flag left out keeps the --config file's value
    text = parser.format_help()
    assert "--max-steps N" in text and "optimizer steps to train (default: 1000)" in text
    assert "--lr X" in text and "(default: 0.001)" in text
    assert "(default: mlm)" in text and "mlm, clm, electra" in text
    assert "--progress, --no-progress" in text
    assert "_" not in "".join(a.option_strings[0] for a in parser._actions if a.option_strings)


def test_pretrain_help_from_the_command_line():
    proc = subprocess.run(
        [sys.executable, "-m", "textssl.cli", "pretrain", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0
    assert "--warmup X" in proc.stdout and "warmup, as a fraction of the run (default: 0.06)" in proc.stdout
    assert "--output-dir DIR" in proc.stdout and "(default: runs/pretrain)" in proc.stdout


# ------------------------------------------------------------------------------------------------ flag names


@pytest.mark.parametrize("command", list(WRITERS), ids=" ".join)
def test_every_writing_command_takes_output_dir_and_the_old_alias(command):
    rest = WRITERS[command]
    text = help_text(*command)
    assert "--output-dir" in text
    assert (
        "--output " not in text and "--output," not in text and "--output_dir" not in text
    )  # aliases hidden
    parser = subparser(*command)
    action = parser._option_string_actions["--output-dir"]
    for alias in ("--output", "--output_dir"):
        assert parser._option_string_actions[alias] is action, alias
    parse = build_parser().parse_args
    new = parse([*command, *rest, "--output-dir", "somewhere"])
    old = parse([*command, *rest, "--output", "somewhere"])
    under = parse([*command, *rest, "--output_dir", "somewhere"])
    assert (
        getattr(new, action.dest) == getattr(old, action.dest) == getattr(under, action.dest) == "somewhere"
    )


def test_every_dashed_flag_has_an_underscore_alias():
    checked = 0
    for path, parser in all_parsers():
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and "-" in flag[2:]:
                    alias = "--" + flag[2:].replace("-", "_")
                    assert parser._option_string_actions.get(alias) is action, (path, alias)
                    checked += 1
    assert checked > 60
    args = build_parser().parse_args(
        ["pretrain", "--max_steps", "7", "--learning-rate" if False else "--lr", "0.01", "--no_progress",
         "--model_overrides", "num_hidden_layers=1", "--report_to", "none"]
    )  # fmt: skip
    assert (args.max_steps, args.lr, args.progress, args.model_overrides, args.report_to) == (
        7, 0.01, False, {"num_hidden_layers": 1}, "none",
    )  # fmt: skip
    ft = build_parser().parse_args(
        ["finetune", "--model", "m", "--task", "cola", "--learning_rate", "1e-4", "--max_train_samples", "8"]
    )
    assert (ft.learning_rate, ft.max_train_samples) == (1e-4, 8)
    assert "--max_steps N" not in help_text("pretrain")  # listed once, dashed


def test_one_boolean_flag_style():
    for path, parser in all_parsers():
        for action in parser._actions:
            if action.dest in ("help", "debug"):
                continue
            assert not isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction), (
                path,
                action.option_strings,
            )
            if action.nargs == 0 and action.option_strings:
                assert isinstance(action, argparse.BooleanOptionalAction), (path, action.option_strings)
    parse = build_parser().parse_args
    assert parse(["pretrain"]).progress is None  # keeps the config file's value
    assert parse(["pretrain", "--progress"]).progress is True
    assert parse(["pretrain", "--no-progress"]).progress is False
    ft = ["finetune", "--model", "m", "--task", "cola"]
    assert parse(ft).progress is True and parse([*ft, "--no-progress"]).progress is False


def test_the_old_valued_boolean_form_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--progress", "false"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: false" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ trackers


@pytest.fixture
def no_tensorboard(monkeypatch):
    """Make tensorboard (and tensorboardX) unimportable, whether or not they are installed."""
    for name in ("tensorboard", "tensorboardX"):
        monkeypatch.setitem(sys.modules, name, None)


def test_auto_tracker_is_tensorboard_only_when_installed(monkeypatch, no_tensorboard):
    from textssl.training import tracking

    assert tracking.resolve_trackers("auto") is None and tracking.resolve_trackers("none") is None
    monkeypatch.setattr(tracking, "tracker_installed", lambda name: name == "tensorboard")
    assert tracking.resolve_trackers("auto") == ["tensorboard"]
    assert tracking.resolve_trackers("tensorboard") == ["tensorboard"]


def test_missing_tracker_is_a_one_line_error_naming_the_extra(tmp_path, capsys, no_tensorboard):
    run = tmp_path / "run"
    code = main(["pretrain", "--report-to", "tensorboard", "--output-dir", str(run), "--max-steps", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(
        "textssl pretrain: error: option report_to='tensorboard': the tensorboard tracker is not"
    )
    assert 'pip install -e ".[tracking]"' in err
    assert not run.exists()  # nothing half-written
    for command in (["finetune", "--task", "cola"], ["glue", "--tasks", "cola"]):
        out = tmp_path / command[0]
        code = main(
            [*command, "--model", str(tmp_path / "m"), "--output-dir", str(out), "--report-to", "tensorboard"]
        )
        err = capsys.readouterr().err
        assert code == 2 and f"textssl {command[0]}: error: option --report-to='tensorboard'" in err
        assert "[tracking]" in err and not out.exists()
    code = main(["pretrain", "--report-to", "tensorbord", "--output-dir", str(run)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown tracker 'tensorbord'" in err and "tensorboard" in err and not run.exists()
    code = main(["finetune", "--model", "m", "--task", "cola", "--report-to", "wandb"])
    assert code == 2 and "--report-to wandb needs --output-dir" in capsys.readouterr().err


def test_finetune_logs_its_curves_to_the_tracker(tmp_path, monkeypatch):
    from accelerate.tracking import GeneralTracker
    from test_finetuning import save_tiny

    from textssl.data.synthetic import write_tasks
    from textssl.finetuning import FinetuneConfig, finetune
    from textssl.training import tracking

    class Recorder(GeneralTracker):
        name, requires_logging_directory = "recorder", False
        logged: list = []
        runs: list = []

        def __init__(self, run_name="", **_):
            super().__init__()
            Recorder.runs.append(run_name)

        @property
        def tracker(self):
            return self

        def store_init_configuration(self, values):
            self.config = values

        def log(self, values, step=None, **_):
            Recorder.logged.append((step, dict(values)))

    asked = []
    monkeypatch.setattr(tracking, "resolve_trackers", lambda r, option="": asked.append(r) or [Recorder()])
    write_tasks(tmp_path / "tasks", seed=0, train_size=32, dev_size=16)
    model = save_tiny(tmp_path / "bert")
    config = FinetuneConfig(epochs=2, batch_size=16, report_to="auto", logging_dir=str(tmp_path / "tb"))
    finetune(model, "syn-sst", data_dir=tmp_path / "tasks", config=config, show_progress=False)
    assert asked == ["auto"]
    steps = [s for s, v in Recorder.logged if "train/loss" in v]
    assert steps == [1, 2, 3, 4]
    evals = [(s, v) for s, v in Recorder.logged if "eval/accuracy" in v]
    assert [s for s, _ in evals] == [2, 4]


# ------------------------------------------------------------------------------------------------ progress


def test_line_progress_prints_a_line_per_tenth():
    import io

    from textssl.training.progress import LineProgress, progress_bar

    out = io.StringIO()
    bar = LineProgress(total=100, desc="run", unit="step", file=out)
    for i in range(100):
        bar.update(1)
        bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("run: 10/100 step (10%)") and "100%" in lines[-1]
    assert isinstance(progress_bar(total=3, file=io.StringIO()), LineProgress)  # not a terminal


def test_pretrain_progress_stays_short_in_a_log_file(tmp_path):
    """Redirected stderr gets a line per 10%, not a tqdm update per step (7.7 KB for 50 steps before)."""
    log = tmp_path / "stderr.txt"
    # A fresh datasets cache, so the corpus is tokenized here (a cached map shows no datasets progress bar).
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "HF_DATASETS_CACHE": str(tmp_path / "hf"),
    }
    env.pop("HF_DATASETS_DISABLE_PROGRESS_BARS", None)
    with open(log, "w") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "textssl.cli", "pretrain", "--data", "synthetic:2000", "--max-length", "32",
             "--batch-size", "4", "--max-steps", "50", "--log-every", "1", "--eval-every", "25",
             "--eval-batches", "1", "--save-every", "50", "--model-overrides", "num_hidden_layers=1",
             "--report-to", "none", "--output-dir", str(tmp_path / "run")],
            stdout=subprocess.DEVNULL, stderr=fh, cwd=tmp_path, env=env,
        )  # fmt: skip
    text = log.read_text()
    assert proc.returncode == 0, text
    assert len(text.encode()) < 5_000, len(text)
    assert "\r" not in text and "Tokenizing" not in text  # no datasets progress bar either
    progress = [line for line in text.splitlines() if line.startswith("mlm/bert-tiny: ")]
    assert len(progress) == 10 and "50/50 step (100%)" in progress[-1] and "loss=" in progress[-1]
