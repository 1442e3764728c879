"""``textssl quickstart``: the whole product in a few minutes on a laptop CPU, offline.

Pretrain a tiny ModernBERT with MLM on the embedded synthetic corpus, then finetune it and a random-init twin on
the synthetic GLUE-style tasks, and print the comparison table. Everything it writes goes to ``--output-dir``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases
from textssl.errors import ConfigError
from textssl.finetuning.tasks import SYNTHETIC_TASKS

# The quickstart recipe: plain data, as every textssl config. Tuned so that pretraining pays off on the
# synthetic tasks in about 2 minutes of pretraining on 2 CPU cores (README, "What the main job prints").
# A fixed step count rather than a time budget, so that a run's result does not depend on how fast or how busy
# the machine is (with the cores shared, a 2-minute budget got half the steps and lost most of the gain):
# * ModernBERT-tiny rather than BERT-tiny. BERT's post-LayerNorm blocks sit on the unigram plateau for the
#   whole of a few-minute run (held-out MLM accuracy 32% after 3 minutes, predicting mostly "the" and ".");
#   ModernBERT's pre-norm blocks take a 3x higher learning rate and reach 57% in the same 3 minutes.
# * A WordPiece vocabulary trained on the synthetic corpus itself (about 800 tokens, one per word) instead of
#   the shipped 16k English one: each step is cheaper and the output layer 20x smaller.
# * No dropout for such a short run (ModernBERT's default; as in Cramming).
# * Mean pooling for the classifier (``classifier_pooling="mean"``, a stock ModernBERT option that
#   textssl.models sets for every ModernBERT it builds). MLM never trains the [CLS] position, so after a short
#   run its vector says little about the sentence; finetuned from it, the pretrained model fit SYN-SST worse
#   than the random-init twin (dev 67% vs 81%), from the mean of all positions it reached 98-100% on dev
#   sentences with seen words.
SYNTHETIC_DOCS = 20_000
PRETRAIN_STEPS = 900
TOKENIZER_VOCAB = 1000
PRETRAIN = dict(
    objective="mlm",
    arch="modernbert",
    size="tiny",
    data=f"synthetic:{SYNTHETIC_DOCS}",
    max_length=128,
    strategy="token_masking",
    strategy_args={"rate": 0.15},
    batch_size=16,  # twice the updates of batch 32 in the same time: 63% vs 49% MLM accuracy after 2 min
    lr=3e-3,
    warmup=0.05,
    eval_every=100,
    save_every=200,
)
# Finetuning: one protocol for every task and both twins (no per-task tuning), sized so the whole job stays
# near 5 minutes; batch 16 gives twice the updates of the package default for the same compute.
FINETUNE = dict(learning_rate=5e-4, epochs=5, batch_size=16)
# What a run writes under --output. MARKER says "a quickstart wrote this directory": a rerun into it replaces
# these folders without --overwrite; any other non-empty directory needs --overwrite.
SUBDIRS = ("tasks", "tokenizer", "pretrain", "glue")
MARKER = ".textssl-quickstart"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quickstart",
        help="pretrain a tiny model on the synthetic corpus, finetune it vs random init, print the table",
        description=__doc__,
    )
    add_output_dir(p, "directory for everything the run writes (runs/quickstart)", default="runs/quickstart")
    p.add_argument(
        "--steps", type=int, default=PRETRAIN_STEPS, help="pretraining steps (about 2 minutes on 2 CPU cores)"
    )
    p.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="pretrain for this wall-clock time instead of --steps (results then depend on machine speed)",
    )
    p.add_argument("--seeds", type=int, default=3, help="finetuning seeds per task (median reported)")
    p.add_argument("--tasks", default=",".join(SYNTHETIC_TASKS), help="comma-separated synthetic tasks")
    p.add_argument(
        "--documents", type=int, default=SYNTHETIC_DOCS, help="size of the generated pretraining corpus"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the corpus, tasks and pretraining (0)")
    add_switch(
        p,
        "--overwrite",
        "write into a non-empty --output-dir that an earlier quickstart did not create (replaces its "
        f"{', '.join(s + '/' for s in SUBDIRS)} folders)",
    )
    add_underscore_aliases(p)
    p.set_defaults(func=run)


def check_args(args: argparse.Namespace) -> list[str]:
    """Validate the options before any work starts; return the task list."""
    if args.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {args.steps}")
    if args.budget_minutes is not None and args.budget_minutes <= 0:
        raise ConfigError(f"--budget-minutes must be > 0, got {args.budget_minutes:g}")
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    if args.documents < 100:
        raise ConfigError(f"--documents must be >= 100 (a corpus to pretrain on), got {args.documents}")
    tasks = [t.strip().lower() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in SYNTHETIC_TASKS]
    if not tasks or unknown:
        raise ConfigError(
            f"--tasks: unknown synthetic task(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SYNTHETIC_TASKS)}"
        )
    return tasks


def prepare_output(output: str, overwrite: bool = False) -> Path:
    """Claim ``output`` for this run: refuse a non-empty directory no quickstart wrote (unless ``overwrite``),
    then mark it as quickstart's and remove the folders an earlier run left there (:data:`SUBDIRS`, no others).
    """
    import json
    import shutil

    from textssl.atomic import check_output_dir, write_atomic

    out = check_output_dir(output, overwrite=overwrite, marker=MARKER)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(
        out / MARKER, json.dumps({"written_by": "textssl quickstart", "folders": list(SUBDIRS)}) + "\n"
    )
    for name in SUBDIRS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
        elif (out / name).exists():
            (out / name).unlink()
    return out


def run(args: argparse.Namespace) -> int:
    from textssl.data.synthetic import generate_corpus, write_tasks
    from textssl.finetuning.protocol import FinetuneConfig
    from textssl.finetuning.report import results_table
    from textssl.finetuning.suite import run_glue_suite
    from textssl.tokenization import train_tokenizer
    from textssl.training.config import load_config
    from textssl.training.pretrain import pretrain

    tasks = check_args(args)
    out = prepare_output(args.output, args.overwrite)
    start = time.perf_counter()
    tasks_dir = out / "tasks"
    write_tasks(tasks_dir, seed=args.seed)
    tokenizer_dir = out / "tokenizer"
    corpus = generate_corpus(args.documents, seed=args.seed)
    train_tokenizer("wordpiece", corpus, TOKENIZER_VOCAB, tokenizer_dir, show_progress=False)
    print(
        "[1/2] pretraining ModernBERT-tiny with MLM on the synthetic corpus for "
        + (f"{args.budget_minutes:g} min" if args.budget_minutes else f"{args.steps} steps")
    )
    cfg = load_config(
        overrides={
            **PRETRAIN,
            "tokenizer": str(tokenizer_dir),
            "data": f"synthetic:{args.documents}:{args.seed}",
            "max_steps": 100_000 if args.budget_minutes else args.steps,  # a budget ends the run itself
            "budget_minutes": args.budget_minutes,
            "seed": args.seed,
            "output_dir": str(out / "pretrain"),
        }
    )
    result = pretrain(cfg)
    print(f"[2/2] finetuning pretrained vs random init on {', '.join(tasks)} ({args.seeds} seeds each)")
    results = run_glue_suite(
        result.model_dir,
        tasks=tasks,
        seeds=args.seeds,
        baseline="random-init",
        output_dir=out / "glue",
        data_dir=tasks_dir,
        config=FinetuneConfig(**FINETUNE),
    )
    minutes = (time.perf_counter() - start) / 60
    print()
    print(results_table(results))
    print(
        f"\npretrained model: {result.model_dir}  (eval MLM accuracy "
        f"{result.eval_metrics.get('mlm_acc', float('nan')):.3f})\n"
        f"results: {out / 'glue' / 'results.md'}, {out / 'glue' / 'results.png'}  ({minutes:.1f} min in all)"
    )
    return 0
