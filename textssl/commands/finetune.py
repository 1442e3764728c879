"""``textssl finetune``: finetune a checkpoint on one GLUE task (or your own CSV/TSV/JSONL task), one seed.

The protocol options here are shared with ``textssl glue`` (:func:`add_protocol_arguments`,
:func:`protocol_from_args`); ``recipes/finetune_glue.py`` runs this command under ``accelerate launch``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases
from textssl.errors import ConfigError
from textssl.finetuning.tasks import METRIC_SETS, TASKS, TaskSpec, get_task


def add_protocol_arguments(p: argparse.ArgumentParser) -> None:
    """``--config`` and one flag per protocol option (generated from :class:`FinetuneConfig`'s fields, with help
    and default); an unset flag keeps the --config file's (or the built-in) value."""
    from textssl.finetuning.protocol import FIELD_HELP, FLAG_ALIASES, FLAG_METAVARS, FinetuneConfig

    title = "protocol (defaults: recipes/configs/glue_default.yaml, docs/finetune.md)"
    g = p.add_argument_group(title)
    g.add_argument("--config", metavar="YAML", help="protocol YAML (e.g. recipes/configs/glue_default.yaml)")
    FinetuneConfig.add_arguments(
        g, FIELD_HELP, skip=("logging_dir",), aliases=FLAG_ALIASES, metavars=FLAG_METAVARS
    )
    g.add_argument("--tokenizer", help="tokenizer to use instead of the checkpoint's own")
    add_switch(
        g, "--progress", "progress bars (when stderr is not a terminal: one line per 10%%)", default=True
    )
    g.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors"
    )


def protocol_from_args(args: argparse.Namespace):
    """-> (FinetuneConfig, per-task overrides, extra YAML keys) from --config plus explicit flags."""
    from textssl.finetuning.protocol import FinetuneConfig, load_protocol

    config, overrides, extra = (FinetuneConfig(), {}, {})
    if args.config:
        config, overrides, extra = load_protocol(args.config)
    config = FinetuneConfig.from_args(args, base=config)
    output = getattr(args, "output", None)
    if output and getattr(args, "report_to", None) != "none":
        config = config.replace(logging_dir=str(Path(output) / "tb"))
    if config.logging_dir:  # a requested tracker that is missing fails here, before any work
        from textssl.training.tracking import resolve_trackers

        resolve_trackers(config.report_to, option="--report-to")
    elif (config.report_to or "auto") not in ("auto", "none"):
        raise ConfigError(
            f"--report-to {config.report_to} needs --output-dir: the tracker logs to <output-dir>/tb"
        )
    return config, overrides, extra


def add_task_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("task (a GLUE task, or your own files)")
    g.add_argument("--task", help="GLUE task (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli) or syn-*")
    g.add_argument("--data-dir", help="GLUE-layout data directory (default: the Hub, nyu-mll/glue)")
    g.add_argument("--train-file", help="own task: training file (.csv, .tsv or .jsonl)")
    g.add_argument("--validation-file", help="own task: dev file (.csv, .tsv or .jsonl)")
    g.add_argument(
        "--text-column",
        action="append",
        help="own task: text column (give twice, or a,b, for sentence pairs)",
    )
    g.add_argument("--label-column", default="label", help="own task: label column (label)")
    g.add_argument(
        "--labels", help="own task: comma-separated label set in id order (default: read from train)"
    )
    add_switch(g, "--regression", "own task: the label is a real-valued score")
    g.add_argument(
        "--metric",
        choices=tuple(METRIC_SETS),
        help="own task: metric set (accuracy; pearson_spearman for --regression)",
    )


def task_from_args(args: argparse.Namespace) -> tuple[TaskSpec, dict[str, str] | None]:
    """The task spec and (own tasks) the data files named by the arguments."""
    own = args.train_file or args.validation_file or args.text_column
    if own:
        if args.task and args.task.lower() in TASKS:
            raise ConfigError(
                f"--task {args.task} is a GLUE task; --train-file/--text-column are for own tasks"
            )
        missing = [f for f, v in (("--train-file", args.train_file), ("--validation-file", args.validation_file),
                                  ("--text-column", args.text_column)) if not v]  # fmt: skip
        if missing:
            raise ConfigError(f"an own task needs {', '.join(missing)} as well")
        columns = [c.strip() for part in args.text_column for c in part.split(",") if c.strip()]
        spec = TaskSpec.custom(
            args.task or "own-task",
            columns,
            label_column=args.label_column,
            labels=[x.strip() for x in args.labels.split(",")] if args.labels else None,
            regression=args.regression,
            metric_set=args.metric,
        )
        return spec, {"train": args.train_file, "validation": args.validation_file}
    if not args.task:
        raise ConfigError(
            "pass --task (a GLUE task) or --train-file/--validation-file/--text-column (own task)"
        )
    return get_task(args.task), None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="finetune a checkpoint on one task (one seed)",
        description="Finetune a checkpoint directory or Hub id on one GLUE task or your own task; print dev metrics.",
    )
    p.add_argument("--model", required=True, help="checkpoint directory or Hub model id")
    add_task_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    add_switch(p, "--random-init", "same architecture, random weights (a baseline)")
    add_output_dir(p, "save the finetuned model (selected epoch) and finetune_results.json here")
    p.add_argument(
        "--push-to-hub", metavar="REPO_ID", help="push --output-dir to this Hub repo (token: HF_TOKEN)"
    )
    add_switch(
        p,
        "--overwrite",
        "replace a non-empty --output-dir directory (never allowed for the --model directory)",
    )
    add_protocol_arguments(p)
    add_underscore_aliases(p)
    p.set_defaults(func=run)


def finetune_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`textssl.finetuning.finetune` as the arguments say."""
    from textssl.finetuning.loop import finetune

    if args.push_to_hub and not args.output:
        raise ConfigError("--push-to-hub needs --output-dir (the directory to push)")
    if args.push_to_hub:  # offline: say so before training, not after
        from textssl.hub.network import require_online

        require_online(
            f"push {args.output} to {args.push_to_hub}", "unset HF_HUB_OFFLINE, or drop --push-to-hub"
        )
    spec, data_files = task_from_args(args)
    config, overrides, _ = protocol_from_args(args)
    config = config.replace(**overrides.get(spec.name, {}))
    return finetune(
        args.model,
        spec,
        seed=args.seed,
        output_dir=args.output,
        random_init=args.random_init,
        data_dir=args.data_dir,
        data_files=data_files,
        config=config,
        tokenizer=args.tokenizer,
        show_progress=args.progress,
        overwrite=getattr(args, "overwrite", False),
    )


def push_finetuned(args: argparse.Namespace, result: dict[str, Any]) -> str:
    """Push ``--output-dir`` to ``--push-to-hub``, first writing a model card if the folder has none."""
    from textssl.hub.cards import write_model_card
    from textssl.hub.push import push_to_hub

    if not (Path(args.output) / "README.md").is_file():
        details = {f"dev {k}": f"{v:.4f}" for k, v in result["metrics"].items()}
        write_model_card(
            args.output,
            objective=f"finetuned on {result['task']}",
            base_model=None if args.random_init else str(args.model),
            details={"seed": result["seed"], "best epoch": result["best_epoch"], **details},
        )
    return push_to_hub(args.output, args.push_to_hub)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    result = finetune_from_args(args)
    if not PartialState().is_main_process:  # under accelerate launch: one process reports and pushes
        return 0
    print(
        json.dumps(
            {k: result[k] for k in ("task", "seed", "init", "main_metric", "score", "best_epoch", "metrics")}
        )
    )
    if args.push_to_hub:
        print(push_finetuned(args, result))
    return 0
