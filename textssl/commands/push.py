"""``textssl push DIR --repo-id user/name``: upload a checkpoint folder (with its model card) to the Hub.

The token comes from ``HF_TOKEN`` or ``hf auth login`` (never from the command line, where it would land in
the shell history and the process list) and is never printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from textssl.commands.flags import add_switch, add_underscore_aliases
from textssl.errors import DataError, InputFileError, MissingKeyError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="push a checkpoint directory to the Hugging Face Hub")
    p.add_argument(
        "folder", help="checkpoint directory (config.json, model.safetensors, tokenizer, README.md)"
    )
    p.add_argument("--repo-id", required=True, help="user-or-org/name")
    add_switch(p, "--private", "create the repository as private")
    p.add_argument("--commit-message", default="Upload model trained with textssl")
    p.add_argument(
        "--glue-results",
        help="results.json of `textssl glue` (or its folder): merge these results into the card "
        "(its model-index and results table); everything already in the card stays",
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors"
    )
    add_underscore_aliases(p)
    p.set_defaults(func=run)


# What the model card reads from a `textssl glue` results.json (see run_glue_suite): checked before anything is
# written, so an incomplete or hand-edited file fails with the missing key instead of a bare KeyError.
RESULTS_KEYS = ("model", "seeds", "selection", "protocol", "tasks")
PROTOCOL_KEYS = ("learning_rate", "batch_size", "epochs", "warmup_ratio", "max_length")
TASK_KEYS = ("main_metric", "summary", "majority")
SUMMARY_KEYS = ("median", "min", "max", "metrics", "last_epoch_median")


def load_glue_results(path: str) -> dict[str, Any]:
    """Read and check the results.json of `textssl glue` (a file or the directory holding it).

    Raises :class:`~textssl.errors.InputFileError` for a missing or unreadable file,
    :class:`~textssl.errors.DataError` for invalid JSON and :class:`~textssl.errors.MissingKeyError` naming the
    first missing key (``tasks.sst2.summary.pretrained.median``).
    """
    source = Path(path)
    if source.is_dir():
        source = source / "results.json"
    hint = "pass the results.json written by `textssl glue`; rerun it if the file was cut short"
    if not source.is_file():
        raise InputFileError(f"--glue-results {source}: no such file", hint=hint)
    try:
        results = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"--glue-results {source}: cannot read the file ({exc})", hint=hint) from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"--glue-results {source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint=hint,
        ) from None

    def need(obj: Any, keys: tuple[str, ...], where: str) -> None:
        if not isinstance(obj, dict):
            raise DataError(
                f"--glue-results {source}: {where or 'the file'} must be a JSON object", hint=hint
            )
        for key in keys:
            if key not in obj:
                raise MissingKeyError(
                    f"--glue-results {source}: missing key '{where + '.' if where else ''}{key}'", hint=hint
                )

    need(results, RESULTS_KEYS, "")
    need(results["protocol"], PROTOCOL_KEYS, "protocol")
    if not isinstance(results["seeds"], list) or not results["seeds"]:
        raise DataError(f"--glue-results {source}: seeds must be a non-empty list", hint=hint)
    tasks = results["tasks"]
    need(tasks, (), "tasks")
    if not tasks:
        raise DataError(f"--glue-results {source}: no task results (tasks is empty)", hint=hint)
    for name, task in tasks.items():
        need(task, TASK_KEYS, f"tasks.{name}")
        need(task["summary"], ("pretrained",), f"tasks.{name}.summary")
        for init, summary in task["summary"].items():
            need(summary, SUMMARY_KEYS, f"tasks.{name}.summary.{init}")
            bad = [k for k in ("median", "min", "max", "last_epoch_median") if not _number(summary[k])]
            if bad:
                raise DataError(
                    f"--glue-results {source}: tasks.{name}.summary.{init}.{bad[0]} is not a number",
                    hint=hint,
                )
    return results


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run(args: argparse.Namespace) -> int:
    from textssl.hub import check_repo_id, push_to_hub, require_online, write_model_card

    check_repo_id(args.repo_id)  # before anything is written
    folder = Path(args.folder)
    if not folder.is_dir():
        raise InputFileError(
            f"push: {folder} is {'a file' if folder.exists() else 'not there'}; pass a checkpoint directory"
        )
    results = load_glue_results(args.glue_results) if args.glue_results else None
    # Offline: say so before the model card is rewritten (the network failure would come after it).
    require_online(
        f"push {folder} to {args.repo_id}", "unset HF_HUB_OFFLINE and connect to the network to push"
    )
    if results is not None:
        write_model_card(args.folder, glue_results=results, repo_id=args.repo_id)
    url = push_to_hub(args.folder, args.repo_id, private=args.private, commit_message=args.commit_message)
    print(f"pushed {args.folder} -> {url}")
    return 0
