"""Finetune a checkpoint on one GLUE task (or your own task) under Accelerate.

    accelerate launch recipes/finetune_glue.py --model runs/mlm-tiny --task cola --data-dir glue_data
    accelerate launch --config_file recipes/accelerate/<config>.yaml recipes/finetune_glue.py \\
        --model runs/mlm-tiny --task mrpc --config recipes/configs/glue_default.yaml --output-dir runs/mrpc \\
        --push-to-hub me/mlm-tiny-mrpc

Thin glue: the options, the one-line errors and the work are those of ``textssl finetune`` (``textssl finetune
--help`` lists them; the run itself is ``textssl.finetuning.finetune``). The main process prints the result.
"""

import sys

from textssl.cli import main as textssl_main


def main(argv: list[str] | None = None) -> int:
    """``textssl finetune`` with these arguments (default: the command line)."""
    return textssl_main(["finetune", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
