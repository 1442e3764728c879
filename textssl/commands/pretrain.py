"""``textssl pretrain``: the same loop as ``accelerate launch recipes/pretrain.py``, in this process."""

from __future__ import annotations

import argparse

from textssl.commands.flags import add_underscore_aliases
from textssl.training.config import add_config_arguments, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="pretrain a model (config file + overrides)",
        description="Pretrain a model. Every config option is also a flag, e.g. --max-steps 500 --lr 1e-3 "
        "(the underscore spelling --max_steps works too); a flag overrides the --config file's value, which "
        "overrides the default shown. For several processes or GPUs: accelerate launch recipes/pretrain.py "
        "--config ...",
    )
    add_config_arguments(p)
    add_underscore_aliases(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textssl.training.pretrain import pretrain

    pretrain(config_from_args(args))
    return 0
