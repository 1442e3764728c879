"""The ``textssl`` command. Each subcommand lives in ``textssl.commands.<name>`` and registers itself."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from textssl.errors import TextsslError, format_error
from textssl.training.progress import is_terminal

# Subcommand modules, in the order ``textssl --help`` lists them. Each defines ``register(subparsers)``
# which adds its parser and sets ``func`` (called with the parsed args, returns an exit code).
COMMANDS = (
    "quickstart",
    "tokenizer",
    "corrupt",
    "data",
    "pretrain",
    "finetune",
    "glue",
    "compare",
    "push",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textssl", description="Self-supervised pretraining of Transformer language models on text."
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"textssl.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not is_terminal():
        # A log file gets textssl's own one-line-per-10% progress; the datasets library's bars (tokenizing,
        # mapping) would add a carriage-return update per refresh. Read by datasets when it is first imported.
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    try:
        return int(args.func(args) or 0)
    except TextsslError as exc:
        # User errors are written for users: one line and a hint, not a traceback. Anything else is a bug in
        # textssl and keeps its traceback.
        if getattr(args, "debug", False):
            raise
        print(f"textssl {args.command}: error: {format_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
