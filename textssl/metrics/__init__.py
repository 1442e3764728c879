"""Local ``evaluate`` metric modules, shipped with the package so evaluation works offline.

``evaluate.load("glue", ...)`` fetches its script from the Hugging Face Hub; :data:`GLUE_METRIC_PATH` points at
an equivalent module inside this package, which ``evaluate.load(GLUE_METRIC_PATH, config_name)`` loads from
disk with no network access.
"""

from __future__ import annotations

from pathlib import Path

GLUE_METRIC_PATH = str(Path(__file__).resolve().parent / "glue_metric")

__all__ = ["GLUE_METRIC_PATH"]
