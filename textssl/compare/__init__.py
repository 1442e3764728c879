"""``textssl compare``: pretraining objectives and corruptions at equal compute, judged downstream.

Each arm is a pretraining config (:mod:`textssl.compare.arms`); every arm gets the same budget in training
FLOPs, tokens or steps (:mod:`textssl.compare.flops`), is evaluated at several points of it on a GLUE-style
suite against a shared random-init twin (:mod:`textssl.compare.runner`), and the results are written as
results.json, results.md, a plot and model-card sections (:mod:`textssl.compare.report`). See docs/compare.md.
"""

from textssl.compare.arms import Arm, parse_arms, parse_shorthand
from textssl.compare.config import Budget, CompareConfig, load_compare_config, parse_budget
from textssl.compare.flops import ArmFlops, arm_flops, sequence_flops
from textssl.compare.runner import CompareRun, run_compare

__all__ = [
    "Arm",
    "ArmFlops",
    "Budget",
    "CompareConfig",
    "CompareRun",
    "arm_flops",
    "load_compare_config",
    "parse_arms",
    "parse_budget",
    "parse_shorthand",
    "run_compare",
    "sequence_flops",
]
