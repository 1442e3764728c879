"""``textssl data prepare`` (corpus -> packed blocks on disk) and ``textssl data synthetic`` (embedded corpus +
GLUE-style tasks)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases
from textssl.data.packing import PACK_MODES
from textssl.data.readers import DEFAULT_MAX_LINE_CHARS, DOC_MODES, ENCODING_ERRORS
from textssl.data.sentences import SPLITTERS
from textssl.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="prepare corpora (tokenize + pack) and write the synthetic corpus/tasks")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    pr = dsub.add_parser(
        "prepare",
        help="read a corpus, tokenize it and pack it into blocks (save_to_disk directory)",
        description="Read a corpus, split sentences, tokenize once and pack into fixed-length blocks. "
        "The output directory is written atomically and loads with textssl.data.load_prepared.",
    )
    pr.add_argument(
        "--input",
        nargs="+",
        required=True,
        help="files, directories, globs, a Hub dataset id, or 'synthetic[:N[:SEED]]'",
    )
    pr.add_argument(
        "--tokenizer", required=True, help="shipped name (wordpiece, bpe, unigram), directory or Hub id"
    )
    pr.add_argument("--max-length", type=int, required=True, help="tokens per block")
    add_output_dir(pr, "output directory (written atomically)", required=True)
    pr.add_argument(
        "--mode", choices=PACK_MODES, default="concat", help="concat documents (default) or one per block"
    )
    pr.add_argument("--text-column", default="text", help="text column of JSON/CSV/TSV/Parquet/Hub sources")
    pr.add_argument(
        "--doc-mode", choices=DOC_MODES, default="blank_line", help="how plain text splits into documents"
    )
    pr.add_argument("--config", default=None, help="Hub dataset configuration (e.g. wikitext-103-raw-v1)")
    pr.add_argument("--split", default="train", help="Hub dataset split")
    pr.add_argument("--encoding-errors", choices=ENCODING_ERRORS, default="strict", help="undecodable bytes")
    pr.add_argument("--max-line-chars", type=int, default=DEFAULT_MAX_LINE_CHARS, help="cut longer lines")
    pr.add_argument("--splitter", choices=SPLITTERS, default="rule", help="sentence splitter")
    pr.add_argument("--num-proc", type=int, default=None, help="processes for tokenization")
    add_switch(pr, "--drop-last", "drop the corpus tail instead of padding it")
    pr.add_argument("--cache-dir", default=None, help="datasets cache directory")
    add_switch(pr, "--overwrite", "replace a non-empty --output-dir directory")
    pr.add_argument("--debug", action="store_true", help="show tracebacks")
    pr.set_defaults(func=run_prepare)

    sy = dsub.add_parser(
        "synthetic",
        help="write the embedded synthetic corpus and its GLUE-style tasks",
        description="Write corpus.txt (training documents), valid.txt (held-out documents) and the tasks "
        "SYN-CoLA, SYN-SST, SYN-MRPC, SYN-STS in the GLUE TSV layout.",
    )
    add_output_dir(sy, "output directory", required=True)
    sy.add_argument("--docs", type=int, default=20_000, help="documents in corpus.txt")
    sy.add_argument(
        "--valid-docs",
        type=int,
        default=None,
        help="documents in valid.txt (another seed; default: --docs / 10)",
    )
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--train-size", type=int, default=500, help="training examples per task")
    sy.add_argument("--dev-size", type=int, default=300, help="dev (and test) examples per task")
    sy.add_argument("--heldout", type=float, default=0.5, help="fraction of dev examples with held-out words")
    add_switch(sy, "--overwrite", "replace a non-empty --output-dir directory")
    sy.add_argument("--debug", action="store_true", help="show tracebacks")
    sy.set_defaults(func=run_synthetic)
    add_underscore_aliases(p)


def run_prepare(args: argparse.Namespace) -> int:
    from textssl.data.prepare import prepare_dataset

    if args.cache_dir is not None and Path(args.cache_dir).exists() and not Path(args.cache_dir).is_dir():
        raise ConfigError(f"--cache-dir {args.cache_dir}: is a file; give a directory for the datasets cache")
    source = args.input[0] if len(args.input) == 1 else args.input
    _, summary = prepare_dataset(
        source,
        args.tokenizer,
        args.max_length,
        args.mode,
        text_column=args.text_column,
        doc_mode=args.doc_mode,
        config=args.config,
        split=args.split,
        encoding_errors=args.encoding_errors,
        max_line_chars=args.max_line_chars,
        splitter=args.splitter,
        num_proc=args.num_proc,
        drop_last=args.drop_last,
        cache_dir=args.cache_dir,
        output_dir=args.output,
        overwrite=args.overwrite,
    )
    print(summary)
    print(f"wrote {args.output}")
    return 0


def run_synthetic(args: argparse.Namespace) -> int:
    from textssl.atomic import atomic_dir, check_output_dir
    from textssl.data.synthetic import write_corpus, write_tasks

    if args.docs < 1:
        raise ConfigError(f"--docs must be >= 1, got {args.docs}")
    if args.valid_docs is not None and args.valid_docs < 0:
        raise ConfigError(f"--valid-docs must be >= 0 (0: no valid.txt), got {args.valid_docs}")
    out = check_output_dir(args.output, overwrite=args.overwrite)
    if args.valid_docs is None:
        args.valid_docs = max(1, args.docs // 10)
    start = time.perf_counter()
    with atomic_dir(out) as tmp:
        write_corpus(tmp / "corpus.txt", args.docs, seed=args.seed)
        if args.valid_docs > 0:
            write_corpus(tmp / "valid.txt", args.valid_docs, seed=args.seed + 1_000_000)
        tasks = write_tasks(
            tmp, seed=args.seed, train_size=args.train_size, dev_size=args.dev_size, heldout=args.heldout
        )
    print(f"synthetic corpus: {args.docs:,} documents -> {out / 'corpus.txt'}")
    if args.valid_docs > 0:
        print(f"held-out documents: {args.valid_docs:,} -> {out / 'valid.txt'}")
    for task in tasks:
        print(
            f"task {task}: train {args.train_size}, dev {args.dev_size}, test {args.dev_size} -> {out / task}"
        )
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
