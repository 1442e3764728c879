"""``textssl tokenizer train``: train a WordPiece, byte-level BPE or Unigram tokenizer on text files."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases
from textssl.errors import ConfigError, InputFileError
from textssl.tokenization import TOKENIZER_KINDS, train_tokenizer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenizer", help="train a tokenizer")
    tsub = p.add_subparsers(dest="tokenizer_command", metavar="ACTION", required=True)
    t = tsub.add_parser("train", help="train a tokenizer on text files or directories of .txt files")
    t.add_argument("--input", nargs="+", required=True, help="text files or directories (searched for *.txt)")
    t.add_argument("--kind", choices=TOKENIZER_KINDS, required=True, help="tokenizer model")
    t.add_argument("--vocab-size", type=int, default=16384, help="vocabulary size (16384)")
    add_output_dir(t, "directory to save the tokenizer in (written atomically)", required=True)
    add_switch(t, "--overwrite", "replace a non-empty --output-dir directory (the whole directory)")
    t.add_argument(
        "--max-length", type=int, default=512, help="model_max_length saved with the tokenizer (512)"
    )
    t.set_defaults(func=run_train)
    add_underscore_aliases(p)


def iter_text_files(paths: list[str]) -> Iterator[str]:
    """Yield lines of every file in ``paths`` (directories are searched recursively for ``*.txt``)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(path.rglob("*.txt"))
        elif path.is_file():
            files.append(path)
        else:
            raise InputFileError(f"--input {raw}: no such file or directory")
    if not files:
        raise ConfigError(f"--input {' '.join(paths)}: no .txt files found")
    for file in files:
        try:
            fh = open(file, encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputFileError(f"--input {file}: cannot read the file ({exc.strerror or exc})") from None
        with fh:
            yield from fh


def run_train(args: argparse.Namespace) -> int:
    from textssl.atomic import check_output_dir

    if args.max_length < 1:
        raise ConfigError(f"--max-length must be >= 1, got {args.max_length}")
    check_output_dir(args.output, overwrite=args.overwrite, inputs=[("--input", p) for p in args.input])
    start = time.perf_counter()
    tok = train_tokenizer(
        args.kind, iter_text_files(args.input), args.vocab_size, args.output, args.max_length
    )
    print(
        f"trained {args.kind} tokenizer: {len(tok)} tokens -> {args.output} ({time.perf_counter() - start:.1f}s)"
    )
    return 0
