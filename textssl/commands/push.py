"""``textssl push DIR --repo-id user/name``: upload a checkpoint folder (with its model card) to the Hub.

The token comes from ``HF_TOKEN`` or ``hf auth login`` (never from the command line, where it would land in
the shell history and the process list) and is never printed.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="push a checkpoint directory to the Hugging Face Hub")
    p.add_argument(
        "folder", help="checkpoint directory (config.json, model.safetensors, tokenizer, README.md)"
    )
    p.add_argument("--repo-id", required=True, help="user-or-org/name")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--commit-message", default="Upload model trained with textssl")
    p.add_argument(
        "--glue-results",
        help="results.json of `textssl glue` (or its folder): merge these results into the card "
        "(its model-index and results table); everything already in the card stays",
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textssl.hub import check_repo_id, push_to_hub, write_model_card

    check_repo_id(args.repo_id)  # before anything is written
    if args.glue_results:
        # merged into the existing README.md (atomically); push_to_hub then stamps the repo id into it
        write_model_card(args.folder, glue_results=args.glue_results)
    url = push_to_hub(args.folder, args.repo_id, private=args.private, commit_message=args.commit_message)
    print(f"pushed {args.folder} -> {url}")
    return 0
