"""Pretrain with any objective: ``accelerate launch recipes/pretrain.py --config recipes/configs/<name>.yaml``.

Every config option is also a flag (``--max-steps 500 --lr 1e-3 --resume latest``). Thin glue: the same entry
point as ``textssl pretrain`` (the loop lives in ``textssl.training.pretrain``).
"""

import sys

from textssl.cli import main

if __name__ == "__main__":
    sys.exit(main(["pretrain", *sys.argv[1:]]))
