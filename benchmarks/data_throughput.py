"""Data preparation throughput: ``textssl.data.prepare_dataset`` vs the Hugging Face ``run_mlm`` recipe.

Both pipelines read the same few MB of ``shared/data/corpus`` (plain text; the project's shared folder next to
the checkout, or inside it; override with ``--corpus``) in the same process, each with a fresh ``datasets`` cache:

* **textssl**: read documents -> sentence split -> one fast-tokenizer call per batch -> template per document
  -> concat packing that carries each batch's remainder over (``prepare_dataset``), plus a second, cached run;
* **HF run_mlm**: ``load_dataset("text")`` (one line per row) -> ``tokenizer(lines)`` -> ``group_texts``
  (concatenate each map batch of 1000 lines, drop its remainder).

Columns: input MB/s and tokens/s, the ratio of textssl's MB/s to the baseline's, ``kept`` = tokens that end up
in blocks / tokens produced, ``fill`` = real tokens / block slots (padding is the only waste in textssl;
dropped remainders are the waste in ``group_texts``).

``--memory`` also demonstrates flat memory for streaming (``stream_blocks``): a child process streams a 10 MB
and a 40 MB corpus (real text repeated) through read -> tokenize -> pack and reports its peak RSS.

    .venv/bin/python benchmarks/data_throughput.py                 # 4 MB, wordpiece, 128 tokens
    .venv/bin/python benchmarks/data_throughput.py --mb 16 --tokenizer bpe --memory
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import chain
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = next((p for p in (REPO / "shared", REPO.parent / "shared") if p.is_dir()), REPO.parent / "shared")
DEFAULT_CORPUS = SHARED / "data/corpus"
SUBDIRS = ("standard_ebooks", "nltk")


def make_subset(corpus: Path, mb: float, out: Path) -> list[Path]:
    """Copy whole files (and a blank-line-aligned prefix of the last one) until ``mb`` megabytes."""
    files = [p for sub in SUBDIRS for p in sorted((corpus / sub).glob("*.txt"))] or sorted(
        corpus.rglob("*.txt")
    )
    budget = int(mb * 1e6)
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    for src in files:
        data = src.read_bytes()
        last = len(data) >= budget
        if last:
            cut = data.rfind(b"\n\n", 0, budget)
            if cut < budget // 2:
                cut = data.rfind(b"\n", 0, budget)
            data = data[: cut if cut > 0 else budget]
        dst = out / src.name
        dst.write_bytes(data)
        written.append(dst)
        budget -= len(data)
        if last or budget <= 0:
            break
    return written


def run_textssl(files: list[Path], tok, max_length: int, cache: Path, num_proc: int | None) -> dict:
    from textssl.data import prepare_dataset

    start = time.perf_counter()
    blocks, summary = prepare_dataset(files, tok, max_length, cache_dir=cache, num_proc=num_proc)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "tokens": summary.tokens,
        "blocks": summary.blocks,
        "kept": (summary.tokens - summary.dropped_tokens) / summary.tokens,
        "fill": summary.packing_efficiency,
    }


def run_hf(files: list[Path], tok, max_length: int, cache: Path, num_proc: int | None) -> dict:
    """The ``run_mlm.py`` path (no ``--line_by_line``): tokenize lines, then ``group_texts`` per batch."""
    from datasets import load_dataset

    start = time.perf_counter()
    raw = load_dataset("text", data_files=[str(f) for f in files], split="train", cache_dir=str(cache))

    def tokenize_function(examples):
        return tok(examples["text"], return_special_tokens_mask=True)

    tokenized = raw.map(tokenize_function, batched=True, num_proc=num_proc, remove_columns=["text"])

    def group_texts(examples):
        concatenated = {k: list(chain(*examples[k])) for k in examples.keys()}
        total = len(concatenated["input_ids"]) // max_length * max_length
        return {
            k: [t[i : i + max_length] for i in range(0, total, max_length)] for k, t in concatenated.items()
        }

    grouped = tokenized.map(group_texts, batched=True, num_proc=num_proc)
    seconds = time.perf_counter() - start
    import pyarrow.compute as pc

    produced = int(pc.sum(pc.list_value_length(tokenized.data.column("input_ids"))).as_py())
    kept = len(grouped) * max_length
    return {
        "seconds": seconds,
        "tokens": produced,
        "blocks": len(grouped),
        "kept": kept / produced,
        "fill": 1.0,
    }


def memory_child(path: str, tokenizer: str, max_length: int) -> None:
    """Stream ``path`` through read -> tokenize -> pack and print blocks, seconds and peak RSS as JSON."""
    from textssl.data import stream_blocks
    from textssl.tokenization import load_tokenizer

    tok = load_tokenizer(tokenizer)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    n = 0
    for _ in stream_blocks(path, tok, max_length, shuffle_buffer=1000, batch_size=256):
        n += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    row = {
        "blocks": n,
        "seconds": time.perf_counter() - start,
        "base_mb": base / 1024,
        "peak_mb": peak / 1024,
    }
    print(json.dumps({**row, "end_mb": current}))


def memory_demo(files: list[Path], tokenizer: str, max_length: int, workdir: Path) -> list[dict]:
    seed = b"".join(f.read_bytes() for f in files[:3])[:2_000_000]
    results = []
    for mb in (10, 40):
        path = workdir / f"stream_{mb}mb.txt"
        with open(path, "wb") as fh:
            size = 0
            while size < mb * 1_000_000:
                fh.write(seed + b"\n\n")
                size += len(seed) + 2
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--_memory-child",
                str(path),
                "--tokenizer",
                tokenizer,
                "--max-length",
                str(max_length),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["mb"] = mb
        results.append(row)
        path.unlink()
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--mb", type=float, default=4.0, help="megabytes of corpus text to process")
    p.add_argument("--tokenizer", default="wordpiece")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--num-proc", type=int, default=None)
    p.add_argument(
        "--memory", action="store_true", help="also run the streaming flat-memory demo (10 vs 40 MB)"
    )
    p.add_argument("--_memory-child", dest="memory_child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.tokenizer, args.max_length)
        return 0
    if not args.corpus.is_dir():
        print(f"skipping: corpus directory {args.corpus} not found (pass --corpus DIR with .txt files)")
        return 0

    import datasets

    from textssl.tokenization import load_tokenizer

    datasets.disable_progress_bars()
    tok = load_tokenizer(args.tokenizer)
    work = Path(tempfile.mkdtemp(prefix="textssl-data-bench-"))
    try:
        files = make_subset(args.corpus, args.mb, work / "subset")
        if not files:
            print(f"skipping: no .txt files under {args.corpus}")
            return 0
        mb = sum(f.stat().st_size for f in files) / 1e6
        for f in files:  # warm the page cache for both pipelines
            f.read_bytes()
        hf = run_hf(files, tok, args.max_length, work / "cache_hf", args.num_proc)
        ours = run_textssl(files, tok, args.max_length, work / "cache_textssl", args.num_proc)
        cached = run_textssl(files, tok, args.max_length, work / "cache_textssl", args.num_proc)
        print(
            f"\n{mb:.1f} MB from {args.corpus} ({len(files)} files), tokenizer {args.tokenizer}, "
            f"{args.max_length} tokens per block, num_proc={args.num_proc}\n"
        )
        header = f"{'pipeline':<26}{'seconds':>9}{'MB/s':>8}{'tokens':>12}{'tokens/s':>11}{'ratio':>7}{'blocks':>9}{'kept':>8}{'fill':>8}"
        print(header)
        print("-" * len(header))
        base = mb / hf["seconds"]
        for name, r in (
            ("HF run_mlm group_texts", hf),
            ("textssl prepare_dataset", ours),
            ("textssl (cached rerun)", cached),
        ):
            rate = mb / r["seconds"]
            print(
                f"{name:<26}{r['seconds']:>9.2f}{rate:>8.2f}{r['tokens']:>12,}{r['tokens'] / r['seconds']:>11,.0f}"
                f"{rate / base:>7.2f}{r['blocks']:>9,}{100 * r['kept']:>7.2f}%{100 * r['fill']:>7.2f}%"
            )
        if args.memory:
            print("\nstreaming (stream_blocks) peak memory, child process:")
            print(
                f"{'corpus':>8}{'blocks':>10}{'seconds':>9}{'peak RSS before':>17}{'peak RSS':>10}{'RSS at end':>12}"
            )
            for r in memory_demo(files, args.tokenizer, args.max_length, work):
                print(
                    f"{r['mb']:>6} MB{r['blocks']:>10,}{r['seconds']:>9.1f}{r['base_mb']:>14.0f} MB"
                    f"{r['peak_mb']:>7.0f} MB{r['end_mb']:>9.0f} MB"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    sys.exit(main())
