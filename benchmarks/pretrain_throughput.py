"""Pretraining throughput: textssl's loop vs a faithful ``run_mlm_no_trainer``-style reference, same run.

Both train the same BERT config from the same initial weights on the same packed blocks (batch x sequence),
with the same optimizer and schedule. The reference collates with Hugging Face's
``DataCollatorForLanguageModeling`` in the main process and computes the full-vocabulary MLM head, as the
example script does; textssl runs its own loop (``textssl.training.pretrain``) with sparse prediction.
Reported for each size: real (non-pad) tokens/s after a few warm-up steps and the ratio; model FLOPs
utilisation (MFU) against this machine's fp32 matmul peak, measured in the same run; and the MLM loss of both
trained models on the *same* held-out blocks with the *same* masks (so the loss comparison does not depend on
which positions each run happened to mask), next to the mean training loss over the last steps.

MFU counts the FLOPs each loop needs per token: 6 x (encoder parameters) plus attention (12 x layers x
sequence x hidden), and the MLM head (transform + vocabulary projection) on every position for the reference
but only on the masked 15% for textssl's sparse prediction.

    python benchmarks/pretrain_throughput.py                      # tiny and mini, 60 steps each
    python benchmarks/pretrain_throughput.py --sizes mini --steps 100

Compare arms (``--arms`` and/or ``--compare-config``): the speed of the runs ``textssl compare`` makes. Each arm
of a compare preset (default ``recipes/configs/compare_quick.yaml``; ``--arms`` replaces its arms) is resolved
by textssl.compare itself (its arm parsing, per-arm options, trained vocabulary and cost model), then
pretrained with exactly those options (same model, batch, length, tokenizer, lr schedule over the arm's budget)
for ``--warmup`` + ``--steps`` steps. Reported per arm: real tokens/s over the timed steps, the training
FLOPs per token the compare budget charges (textssl.compare.flops: sparse MLM head on masked positions,
ELECTRA generator + discriminator, seq2seq encoder + decoder), the achieved FLOP/s (timed steps x the
budget's FLOPs per step / time) and MFU against the measured (or ``--peak``) matmul peak. Training steps only:
evaluation and checkpoint writes fall outside the timed window.

    python benchmarks/pretrain_throughput.py --arms mlm,electra --steps 60
    python benchmarks/pretrain_throughput.py --compare-config recipes/configs/compare_quick.yaml
    python benchmarks/pretrain_throughput.py --arms mlm,electra --steps 3 --quick   # smoke test, < 1 min
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

COMPARE_PRESET = Path(__file__).resolve().parents[1] / "recipes" / "configs" / "compare_quick.yaml"
CORPUS = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "corpus"
    / "wikitext-2-v1-tokens"
    / "wiki.valid.tokens"
)
WARMUP_STEPS = 5
TAIL = 10
EVAL_BLOCKS = 256


def matmul_peak_gflops(n: int = 1024, repeats: int = 20) -> float:
    """The machine's fp32 matmul throughput (GFLOP/s, best of 5 timings) with torch's current threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9)
    return best


def flops_per_token(config, seq_len: int, head_fraction: float) -> float:
    """Training FLOPs per token (forward + backward = 3 x forward) of a BERT MLM, head on ``head_fraction``."""
    h, layers, inter, vocab = (
        config.hidden_size,
        config.num_hidden_layers,
        config.intermediate_size,
        config.vocab_size,
    )
    body = layers * (4 * h * h + 2 * h * inter)  # attention projections + feed-forward weights
    attention = 2 * layers * seq_len * h  # QK^T and attention x V, multiply-adds per token
    head = h * h + h * vocab
    return 6 * (body + attention + head_fraction * head)


def fixed_eval_loss(model, blocks, tokenizer, seed: int) -> float:
    """Mean MLM loss on the first ``EVAL_BLOCKS`` blocks with masks drawn once from ``seed`` (same for all)."""
    from transformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    rows = [{"input_ids": r} for r in blocks["input_ids"][:EVAL_BLOCKS]]
    torch.manual_seed(seed + 12345)
    batches = [collator(rows[i : i + 32]) for i in range(0, len(rows), 32)]
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            n = int((batch["labels"] != -100).sum())
            total += float(model(**batch).loss) * n
            count += n
    return total / count


def reference_run(blocks, tokenizer, model, steps: int, batch_size: int, lr: float, seed: int) -> dict:
    """A ``run_mlm_no_trainer``-style loop: HF collator in the main process, dense MLM head."""
    from accelerate import Accelerator
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForLanguageModeling, get_scheduler

    accelerator = Accelerator()
    features = [{"input_ids": row} for row in blocks["input_ids"]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    g = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        features, batch_size=batch_size, shuffle=True, collate_fn=collator, generator=g, drop_last=True
    )
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "norm" not in n.lower()]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "norm" not in n.lower())]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    scheduler = get_scheduler(
        "linear", optimizer, num_warmup_steps=int(0.06 * steps), num_training_steps=steps
    )
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    model.train()
    losses, tokens, t_start = [], 0, None
    step = 0
    while step < steps:
        for batch in loader:
            if step == WARMUP_STEPS:
                t_start, tokens = time.perf_counter(), 0
            loss = model(**batch).loss
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            tokens += int(batch["attention_mask"].sum())
            step += 1
            if step >= steps:
                break
    elapsed = time.perf_counter() - t_start
    result = {"tokens_per_s": tokens / elapsed, "final_loss": statistics.mean(losses[-TAIL:])}
    return result, accelerator.unwrap_model(model)


def textssl_run(
    data_dir: str, size: str, steps: int, batch_size: int, lr: float, seed: int, out: Path
) -> dict:
    from textssl.training.config import load_config
    from textssl.training.pretrain import pretrain
    from textssl.training.reporting import read_log

    cfg = load_config(
        overrides=dict(
            objective="mlm",
            arch="bert",
            size=size,
            data=data_dir,
            max_length=128,
            batch_size=batch_size,
            lr=lr,
            warmup=0.06,
            max_steps=steps,
            log_every=1,
            eval_every=10**9,
            eval_batches=1,
            save_every=10**9,
            seed=seed,
            output_dir=str(out),
            report_to="none",
            progress=False,
            strategy="token_masking",
        )
    )
    trained = pretrain(cfg)
    records = [r for r in read_log(out / "log.jsonl") if "loss" in r and "event" not in r]
    first = next(r for r in records if r["step"] == WARMUP_STEPS)
    last = records[-1]
    rate = (last["tokens"] - first["tokens"]) / (last["elapsed"] - first["elapsed"])
    result = {"tokens_per_s": rate, "final_loss": statistics.mean(r["loss"] for r in records[-TAIL:])}
    return result, trained.model


def compare_arm_run(options: dict, budget_steps: int, warmup: int, steps: int, out: Path) -> dict:
    """Pretrain one compare arm with its own options for ``warmup + steps`` steps; rate over the last ``steps``.

    The run is the arm's compare run cut short: ``max_steps`` is the arm's budget (so the lr and masking
    schedules are the compare run's) and ``stop_at_step`` ends it after the timed steps.
    """
    from textssl.training.config import load_config
    from textssl.training.pretrain import pretrain
    from textssl.training.reporting import read_log

    stop = warmup + steps
    cfg = load_config(
        overrides={
            **options,
            "output_dir": str(out),
            "max_steps": max(budget_steps, stop),
            "stop_at_step": stop,
            "resume": None,
            "log_every": 1,
            "eval_every": 10**9,
            "eval_batches": 1,
            "save_every": 10**9,
            "report_to": "none",
            "progress": False,
            "push_to_hub": None,
        }
    )
    pretrain(cfg)
    records = {r["step"]: r for r in read_log(out / "log.jsonl") if "loss" in r and "event" not in r}
    first, last = records[warmup] if warmup else {"step": 0, "tokens": 0, "elapsed": 0.0}, records[stop]
    seconds = last["elapsed"] - first["elapsed"]
    return {
        "steps_timed": last["step"] - first["step"],
        "seconds": seconds,
        "tokens_per_s": (last["tokens"] - first["tokens"]) / seconds,
        "train_loss": last["loss"],
    }


def compare_arms(args: argparse.Namespace) -> int:
    """The compare-arms mode: each arm of a compare preset, timed with textssl.compare's own FLOPs count."""
    from textssl.compare import load_compare_config
    from textssl.compare.arms import arm_options
    from textssl.compare.flops import human
    from textssl.compare.runner import CompareRun

    preset = Path(args.compare_config or COMPARE_PRESET)
    cfg = load_compare_config(preset, {"arms": args.arms})
    if args.quick and str(cfg.common.get("data", "synthetic")).startswith("synthetic"):
        cfg.common["data"] = "synthetic:2000"  # less text to tokenize; the same model and batch
    for arm in cfg.arms:  # a bad arm fails before anything is measured, as in textssl compare
        arm_options(arm, cfg.common)
    warmup = (
        1 if args.quick and args.warmup is None else (WARMUP_STEPS if args.warmup is None else args.warmup)
    )
    if args.peak:
        peak = args.peak
        print(f"matmul peak (given): {peak:.1f} GFLOP/s")
    else:
        peak = matmul_peak_gflops(512, 5) if args.quick else matmul_peak_gflops()
        print(f"fp32 matmul peak: {peak:.1f} GFLOP/s on {torch.get_num_threads()} threads")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # compare's own resolution: the trained vocabulary, each arm's options and cost model, its budget
        run = CompareRun(cfg, Path(tmp) / "compare", progress=False)
        common = run.prepare_shared(fresh=True)
        run.plan(common)
        for name, plan in run.arm_plans.items():
            options = plan["options"]
            tokens_per_step = plan["tokens_per_step"]
            result = compare_arm_run(options, plan["steps"], warmup, args.steps, Path(tmp) / plan["slug"])
            flops_per_token = plan["flops_per_step"] / tokens_per_step
            gflops = result["steps_timed"] * plan["flops_per_step"] / result["seconds"] / 1e9
            rows.append(
                {
                    "arm": name,
                    "model": f"{options['objective']} {options['arch']}-{options.get('size', 'tiny')}",
                    "batch": f"{tokens_per_step // int(options.get('max_length', 128))} x "
                    f"{options.get('max_length', 128)}",
                    "budget_steps": plan["steps"],
                    **result,
                    "flops_per_token": flops_per_token,
                    "achieved_gflops": gflops,
                    "mfu": gflops / peak,
                }
            )
    print(
        f"\ncompare arms of {preset.name}{' (arms: ' + args.arms + ')' if args.arms else ''}, budget "
        f"{cfg.budget}, {warmup} warm-up + {args.steps} timed steps each, {torch.get_num_threads()} threads\n"
    )
    print(
        "| arm | objective arch-size | batch | steps timed | tokens/s | training FLOPs/token "
        "| achieved GFLOP/s | MFU |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['arm']} | {r['model']} | {r['batch']} | {r['steps_timed']} | {r['tokens_per_s']:,.0f} "
            f"| {human(r['flops_per_token'])} | {r['achieved_gflops']:.1f} | {r['mfu']:.1%} |"
        )
    print(json.dumps({"matmul_peak_gflops": peak, "budget": str(cfg.budget), "arms": rows}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["tiny", "mini"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", default=str(CORPUS))
    arms = parser.add_argument_group("compare arms (textssl compare's runs)")
    arms.add_argument("--arms", help="compare arms, e.g. mlm,electra (replaces the preset's arms)")
    arms.add_argument(
        "--compare-config", help=f"compare preset YAML (default with --arms: {COMPARE_PRESET.name})"
    )
    arms.add_argument(
        "--warmup", type=int, help=f"untimed steps first (default {WARMUP_STEPS}; 1 with --quick)"
    )
    arms.add_argument("--peak", type=float, help="matmul peak in GFLOP/s for MFU (default: measured)")
    arms.add_argument("--quick", action="store_true", help="smoke test: small corpus, short peak timing")
    args = parser.parse_args()
    if args.arms or args.compare_config:
        from textssl.errors import TextsslError

        try:
            return compare_arms(args)
        except TextsslError as exc:  # a bad arm or preset: one line, as the textssl command prints it
            print(f"pretrain_throughput: error: {exc}", file=sys.stderr)
            return 2
    if not Path(args.corpus).exists():
        print(f"corpus {args.corpus} not found; pass --corpus FILE", file=sys.stderr)
        return 1

    from textssl import TokenizerInfo, load_tokenizer
    from textssl.data import prepare_dataset
    from textssl.models import build_config
    from textssl.objectives import build_objective

    tokenizer = load_tokenizer("wordpiece")
    info = TokenizerInfo.from_tokenizer(tokenizer)
    peak = matmul_peak_gflops()
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s on {torch.get_num_threads()} threads")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = str(Path(tmp) / "blocks")
        blocks, summary = prepare_dataset(args.corpus, tokenizer, 128, output_dir=data_dir)
        print(summary)
        for size in args.sizes:
            torch.manual_seed(args.seed)
            config = build_config("bert", size, info, 128)
            model = build_objective("mlm", "bert").build_model(config)
            ref, ref_model = reference_run(
                blocks, tokenizer, model, args.steps, args.batch_size, args.lr, args.seed
            )
            ours, our_model = textssl_run(
                data_dir, size, args.steps, args.batch_size, args.lr, args.seed, Path(tmp) / size
            )
            for result, trained, fraction in ((ref, ref_model, 1.0), (ours, our_model, 0.15)):
                result["eval_loss"] = fixed_eval_loss(trained, blocks, tokenizer, args.seed)
                result["mfu"] = result["tokens_per_s"] * flops_per_token(config, 128, fraction) / (peak * 1e9)
            rows.append((size, ref, ours))
    print(
        f"\nBERT MLM, batch {args.batch_size} x 128, {args.steps} steps, {torch.get_num_threads()} threads\n"
    )
    print(
        "| size | reference tokens/s | textssl tokens/s | ratio | reference MFU | textssl MFU "
        "| reference eval loss | textssl eval loss | reference train loss | textssl train loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, ref, ours in rows:
        ratio = ours["tokens_per_s"] / ref["tokens_per_s"]
        print(
            f"| {size} | {ref['tokens_per_s']:,.0f} | {ours['tokens_per_s']:,.0f} | {ratio:.2f}x "
            f"| {ref['mfu']:.1%} | {ours['mfu']:.1%} | {ref['eval_loss']:.3f} | {ours['eval_loss']:.3f} "
            f"| {ref['final_loss']:.3f} | {ours['final_loss']:.3f} |"
        )
    report = {size: {"reference": ref, "textssl": ours} for size, ref, ours in rows}
    print(json.dumps({"matmul_peak_gflops": peak, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
