"""``textssl quickstart``: the whole product in a few minutes on a laptop CPU, offline.

Pretrain a tiny BERT with MLM on the embedded synthetic corpus, then finetune it and a random-init twin on
the synthetic GLUE-style tasks, and print the comparison table. Everything it writes goes to ``--output``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# The quickstart recipe: plain data, as every textssl config. Tuned so that pretraining pays off on the
# synthetic tasks within its budget on 2 CPU cores (see the README's quickstart table).
# A WordPiece vocabulary trained on the synthetic corpus itself (about 800 tokens, one per word) instead of
# the shipped 16k English one: each step is cheaper and the model's output layer is 20x smaller, so a 2-minute
# budget buys about twice the steps and a faster start. No dropout for such a short run (as in Cramming).
SYNTHETIC_DOCS = 20_000
TOKENIZER_VOCAB = 1000
PRETRAIN = dict(
    objective="mlm",
    arch="bert",
    size="tiny",
    data=f"synthetic:{SYNTHETIC_DOCS}",
    max_length=128,
    strategy="token_masking",
    strategy_args={"rate": 0.15},
    model_overrides={"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0},
    batch_size=32,
    lr=1e-3,
    warmup=0.05,
    max_steps=100_000,  # the time budget ends the run
    eval_every=100,
    save_every=200,
)
TASKS = ("syn-cola", "syn-sst", "syn-mrpc", "syn-sts")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quickstart",
        help="pretrain a tiny model on the synthetic corpus, finetune it vs random init, print the table",
        description=__doc__,
    )
    p.add_argument("--output", default="runs/quickstart", help="directory for everything the run writes")
    p.add_argument("--budget-minutes", type=float, default=2.0, help="pretraining time budget")
    p.add_argument("--seeds", type=int, default=3, help="finetuning seeds per task (median reported)")
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated synthetic tasks")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textssl.data.synthetic import generate_corpus, write_tasks
    from textssl.tokenization import train_tokenizer
    from textssl.training.config import load_config
    from textssl.training.finetune import results_table, run_glue_suite
    from textssl.training.pretrain import pretrain

    out = Path(args.output)
    start = time.perf_counter()
    tasks_dir = out / "tasks"
    write_tasks(tasks_dir, seed=args.seed)
    tokenizer_dir = out / "tokenizer"
    corpus = generate_corpus(SYNTHETIC_DOCS, seed=args.seed)
    train_tokenizer("wordpiece", corpus, TOKENIZER_VOCAB, tokenizer_dir, show_progress=False)
    print(f"[1/2] pretraining BERT-tiny with MLM on the synthetic corpus for {args.budget_minutes:g} min")
    cfg = load_config(
        overrides={
            **PRETRAIN,
            "tokenizer": str(tokenizer_dir),
            "data": f"synthetic:{SYNTHETIC_DOCS}:{args.seed}",
            "budget_minutes": args.budget_minutes,
            "seed": args.seed,
            "output_dir": str(out / "pretrain"),
        }
    )
    result = pretrain(cfg)
    print(f"[2/2] finetuning pretrained vs random init on {args.tasks} ({args.seeds} seeds each)")
    results = run_glue_suite(
        result.model_dir,
        tasks=args.tasks.split(","),
        seeds=args.seeds,
        baseline="random-init",
        output_dir=out / "glue",
        data_dir=tasks_dir,
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
