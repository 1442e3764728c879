"""``textssl glue``: finetune a checkpoint on several tasks x seeds (optionally vs random init) and report.

Writes ``results.json``, ``results.md`` (median over seeds, min-max spread, pretrained vs random-init columns)
and ``results.png`` into ``--output``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from textssl.commands.finetune import add_protocol_arguments, protocol_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "glue",
        help="finetune on GLUE tasks with several seeds; write results.json, a table and a chart",
        description="Finetune --model on each task with each seed under one protocol (optionally also from "
        "random init) and report the median over seeds with the min-max spread.",
    )
    p.add_argument("--model", required=True, help="checkpoint directory or Hub model id")
    p.add_argument(
        "--tasks", help="comma-separated tasks; 'glue' = all nine, 'syn' = the synthetic ones (glue)"
    )
    p.add_argument("--seeds", help="number of seeds (3 -> 0,1,2) or a comma-separated list (3)")
    p.add_argument("--data-dir", help="GLUE-layout data directory (default: the Hub, nyu-mll/glue)")
    p.add_argument(
        "--baseline", choices=("random-init",), help="also finetune the same architecture from random init"
    )
    p.add_argument("--output", required=True, help="directory for results.json, results.md and results.png")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty --output (replaces only results.json/.md/.png)",
    )
    add_protocol_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textssl.training.finetune import run_glue_suite

    config, overrides, extra = protocol_from_args(args)
    tasks = args.tasks or extra.get("tasks") or "glue"
    if isinstance(tasks, list):
        tasks = ",".join(tasks)
    results = run_glue_suite(
        args.model,
        tasks,
        seeds=args.seeds or extra.get("seeds") or 3,
        baseline=args.baseline or extra.get("baseline"),
        output_dir=args.output,
        data_dir=args.data_dir,
        config=config,
        task_overrides=overrides,
        tokenizer=args.tokenizer,
        show_progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    out = Path(args.output)
    print((out / "results.md").read_text(encoding="utf-8"))
    print(
        f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'results.png'} ({results['seconds']:.0f} s)"
    )
    return 0
