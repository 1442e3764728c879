"""``textssl push DIR --repo-id user/name``: upload a checkpoint folder (with its model card) to the Hub.

The token comes from ``HF_TOKEN`` or ``hf auth login`` (never from the command line, where it would land in
the shell history and the process list) and is never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from textssl.commands.flags import add_switch, add_underscore_aliases
from textssl.errors import InputFileError


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


def run(args: argparse.Namespace) -> int:
    from textssl.finetuning.report import load_glue_results
    from textssl.hub.cards import write_model_card
    from textssl.hub.names import check_repo_id
    from textssl.hub.network import require_online
    from textssl.hub.push import push_to_hub

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
