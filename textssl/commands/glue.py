"""``textssl glue``: finetune a checkpoint on several tasks x seeds (optionally vs random init) and report.

Writes ``results.json``, ``results.md`` (median over seeds, min-max spread, pretrained vs random-init columns)
and ``results.png`` into ``--output-dir``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from textssl.commands.finetune import add_protocol_arguments, protocol_from_args
from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases


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
    add_output_dir(p, "directory for results.json, results.md, results.png (and tb/)", required=True)
    add_switch(p, "--overwrite", "write into a non-empty --output-dir (replaces only results.json/.md/.png)")
    add_protocol_arguments(p)
    add_underscore_aliases(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textssl.finetuning.suite import run_glue_suite

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
        show_progress=args.progress,
        overwrite=args.overwrite,
    )
    out = Path(args.output)
    print((out / "results.md").read_text(encoding="utf-8"))
    print(
        f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'results.png'} ({results['seconds']:.0f} s)"
    )
    return 0
