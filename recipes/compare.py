"""Compare pretraining objectives at equal compute, under Accelerate:

    accelerate launch recipes/compare.py --config recipes/configs/compare_quick.yaml --output-dir runs/compare

The options are those of ``textssl compare``; the work is done by ``textssl.compare.run_compare`` (every
process runs the same units; pretraining and finetuning are distributed by Accelerate, the main process writes
the state and the reports). Rerun the same command to resume a killed comparison.
"""

from __future__ import annotations

import argparse
import sys

from textssl.commands.compare import add_compare_arguments, config_from_args
from textssl.errors import TextsslError, format_error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_compare_arguments(parser)
    args = parser.parse_args(argv)

    from textssl.compare import run_compare

    try:
        run_compare(config_from_args(args), args.output, overwrite=args.overwrite, progress=args.progress)
    except TextsslError as exc:
        print(f"compare: error: {format_error(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
