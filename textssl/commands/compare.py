"""``textssl compare``: pretrain several arms (objectives, corruptions) at equal compute and compare them
downstream, against a random-init twin. A rerun in the same --output-dir continues where it stopped."""

from __future__ import annotations

import argparse
from pathlib import Path

from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    """The compare options (shared by ``textssl compare`` and ``recipes/compare.py``)."""
    p.add_argument("--config", help="compare YAML (e.g. recipes/configs/compare_quick.yaml)")
    add_output_dir(
        p,
        "directory for everything the comparison writes; rerun with the same one to resume (runs/compare)",
        default="runs/compare",
    )
    p.add_argument(
        "--arms",
        help="comma-separated arms objective[:strategy][@arch], e.g. mlm,electra,mlm:whole_word_masking,sop "
        "(replaces the config's arms)",
    )
    p.add_argument("--budget", help="the same budget for every arm: flops:N, tokens:N or steps:N (steps:900)")
    p.add_argument(
        "--eval-at", help="fractions of the budget to evaluate at, e.g. 0.25,0.5,1 (1 is always added)"
    )
    p.add_argument(
        "--tasks", help="comma-separated tasks; syn-* are generated, others read --data-dir or the Hub"
    )
    p.add_argument(
        "--seeds", help="finetuning seeds: a count (3 -> 0,1,2) or a list (0,1,2); median reported"
    )
    p.add_argument("--data-dir", help="local GLUE-layout folder for real tasks (default: the Hub)")
    p.add_argument(
        "--finetune-lrs",
        help="finetuning learning-rate grid, searched per model and task on dev, e.g. 3e-4,1e-3 "
        "(default: the protocol's single learning rate)",
    )
    add_switch(
        p,
        "--overwrite",
        "replace the contents of --output-dir (otherwise a compare's own directory is resumed and any "
        "other non-empty directory is refused)",
    )
    add_switch(p, "--progress", "per-step progress while pretraining", default=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare pretraining objectives/corruptions at equal compute, finetuned vs random init",
        description=__doc__,
    )
    add_compare_arguments(p)
    add_underscore_aliases(p)
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    from textssl.compare.config import load_compare_config

    overrides = {
        "arms": args.arms,
        "budget": args.budget,
        "eval_at": args.eval_at,
        "tasks": args.tasks,
        "seeds": args.seeds,
        "data_dir": args.data_dir,
        "finetune_lrs": args.finetune_lrs,
    }
    return load_compare_config(args.config, overrides)


def run(args: argparse.Namespace) -> int:
    from textssl.compare.runner import run_compare

    config = config_from_args(args)
    run_compare(config, args.output, overwrite=args.overwrite, progress=args.progress)
    out = Path(args.output)
    md = out / "results.md"
    if md.is_file():
        print()
        print(md.read_text(encoding="utf-8"))
    return 0
