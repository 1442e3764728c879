"""Learning-rate schedules (``textssl.training.schedules``)."""

from __future__ import annotations

import pytest

from textssl.training.schedules import lr_factor


@pytest.mark.parametrize("kind", ["linear", "cosine", "wsd", "constant"])
def test_schedules_warm_up_then_decay(kind):
    assert lr_factor(kind, 0.0, warmup=0.1) == 0.0
    assert lr_factor(kind, 0.05, warmup=0.1) == pytest.approx(0.5)
    assert lr_factor(kind, 0.1, warmup=0.1) == pytest.approx(1.0)
    end = lr_factor(kind, 1.0, warmup=0.1)
    assert end == (1.0 if kind == "constant" else pytest.approx(0.0, abs=1e-9))
    values = [lr_factor(kind, p / 100, warmup=0.1) for p in range(10, 101)]
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:])), "must not increase after warmup"


def test_wsd_is_flat_until_decay():
    assert lr_factor("wsd", 0.5, warmup=0.1, decay=0.2) == 1.0
    assert lr_factor("wsd", 0.9, warmup=0.1, decay=0.2) == pytest.approx(0.5)


def test_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        lr_factor("step", 0.5)
