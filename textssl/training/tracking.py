"""Experiment trackers (``report_to``) for pretraining and finetuning, through Accelerate.

``auto`` logs to tensorboard when it is installed (``pip install "textssl[tracking]"``) and to nothing otherwise;
``none`` turns tracking off; any other value names one or more Accelerate trackers (``tensorboard,wandb``). A
tracker that is named but not installed is an error before the run starts (Accelerate itself would only warn and
train without it). ``log.jsonl`` is written either way.
"""

from __future__ import annotations

import importlib.util

from textssl.errors import ConfigError

# Modules a tracker needs (any one of them). Accelerate's tensorboard tracker takes torch.utils.tensorboard
# (which needs the tensorboard package) or tensorboardX.
_MODULES = {"tensorboard": ("tensorboard", "tensorboardX")}
TRACKING_EXTRA = 'pip install "textssl[tracking]" (from a checkout: pip install -e ".[tracking]")'


def known_trackers() -> tuple[str, ...]:
    """Tracker names this Accelerate version supports."""
    try:
        from accelerate.tracking import LOGGER_TYPE_TO_CLASS

        return tuple(LOGGER_TYPE_TO_CLASS)
    except ImportError:  # pragma: no cover - very old Accelerate
        return ("tensorboard", "wandb", "comet_ml", "mlflow", "aim", "clearml", "dvclive")


def tracker_installed(name: str) -> bool:
    """Whether the packages a tracker needs can be imported (without importing them)."""
    for module in _MODULES.get(name, (name,)):
        try:
            if importlib.util.find_spec(module) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def resolve_trackers(report_to: str | None, option: str = "report_to") -> list[str] | None:
    """``report_to`` -> the list of tracker names for ``Accelerator(log_with=...)`` (``None``: no tracking).

    Raises :class:`ConfigError` naming the option and the install command when a requested tracker is unknown
    or not installed.
    """
    value = (report_to or "auto").strip().lower()
    if value == "auto":
        return ["tensorboard"] if tracker_installed("tensorboard") else None
    if value == "none":
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    known = known_trackers()
    for name in names:
        if name not in known:
            raise ConfigError(
                f"option {option}={report_to!r}: unknown tracker {name!r}; choose auto, none, or one of "
                f"{', '.join(known)}"
            )
        if not tracker_installed(name):
            install = TRACKING_EXTRA if name == "tensorboard" else f"pip install {name}"
            raise ConfigError(
                f"option {option}={report_to!r}: the {name} tracker is not installed",
                hint=f"{install}, or pass --report-to none",
            )
    return names or None
