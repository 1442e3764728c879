"""Finetune a checkpoint on one GLUE task (or your own task) under Accelerate.

    accelerate launch recipes/finetune_glue.py --model runs/mlm-tiny --task cola --data-dir glue_data
    accelerate launch --config_file recipes/accelerate/<config>.yaml recipes/finetune_glue.py \
        --model runs/mlm-tiny --task mrpc --config recipes/configs/glue_default.yaml --output-dir runs/mrpc \
        --push-to-hub me/mlm-tiny-mrpc

A thin script: the options are those of ``textssl finetune`` and the work is done by
``textssl.training.finetune.finetune`` (the same function ``textssl finetune`` and ``textssl glue`` call).
"""

from __future__ import annotations

import argparse
import json
import sys

from textssl.commands.finetune import add_protocol_arguments, add_task_arguments, finetune_from_args
from textssl.commands.flags import add_output_dir, add_switch, add_underscore_aliases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="checkpoint directory or Hub model id")
    add_task_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    add_switch(parser, "--random-init", "same architecture, random weights")
    add_output_dir(parser, "save the finetuned model here")
    parser.add_argument(
        "--push-to-hub", metavar="REPO_ID", help="push --output-dir to this Hub repo (HF_TOKEN)"
    )
    add_protocol_arguments(parser)
    add_underscore_aliases(parser)
    args = parser.parse_args(argv)

    from accelerate import PartialState

    result = finetune_from_args(args)
    if PartialState().is_main_process:
        print(json.dumps({k: result[k] for k in ("task", "seed", "init", "score", "best_epoch", "metrics")}))
        if args.push_to_hub:
            from textssl.commands.finetune import push_finetuned

            print(push_finetuned(args, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
