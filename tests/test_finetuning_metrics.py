"""Metrics (``textssl.finetuning.metrics``) against hand computation, the majority baseline, and the shipped ``evaluate`` module (``textssl/metrics``) loading offline."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from textssl import glue
from textssl.glue import (
    get_task,
    majority_baseline,
)


def test_metric_values_against_hand_computation():
    preds, refs = [1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 1]  # TP=2 FP=1 TN=2 FN=1
    assert glue.compute_metrics("cola", preds, refs) == {"matthews_correlation": pytest.approx(1 / 3)}
    assert glue.compute_metrics("mrpc", preds, refs) == {
        "accuracy": pytest.approx(4 / 6),
        "f1": pytest.approx(2 / 3),
    }
    assert glue.compute_metrics("mnli", [0, 1, 2, 2], [0, 1, 1, 2]) == {"accuracy": pytest.approx(0.75)}
    sts = glue.compute_metrics("stsb", [1, 2, 3, 4], [2, 4, 5, 4])
    assert sts["pearson"] == pytest.approx(3.5 / math.sqrt(5 * 4.75))  # x-mean 2.5, y-mean 3.75
    assert sts["spearmanr"] == pytest.approx(3 / math.sqrt(5 * 4.5))  # y ranks 1, 2.5, 4, 2.5
    # A constant prediction has no correlation (0, not NaN), and an all-negative MRPC prediction has F1 0.
    assert glue.compute_metrics("stsb", [2.0] * 4, [1, 2, 3, 4]) == {"pearson": 0.0, "spearmanr": 0.0}
    assert glue.compute_metrics("qqp", [0, 0], [1, 0])["f1"] == 0.0
    with pytest.raises(ValueError, match="3 predictions for 2 references"):
        glue.compute_metrics("sst2", [0, 1, 1], [0, 1])


def test_majority_baseline():
    spec = get_task("mrpc")
    assert majority_baseline(spec, [1, 1, 0], [1, 0, 1, 1]) == {"accuracy": 0.75, "f1": pytest.approx(6 / 7)}
    assert majority_baseline(get_task("stsb"), [1.0, 3.0], [0.0, 5.0]) == {"pearson": 0.0, "spearmanr": 0.0}
    # Balanced training labels: the tie goes to the label with the better main metric (F1 of "always 1").
    assert majority_baseline(spec, [0, 1], [0, 1, 1, 0]) == {"accuracy": 0.5, "f1": pytest.approx(2 / 3)}


def test_metric_module_loads_offline_by_path(tmp_path):
    """evaluate.load(<shipped module>) with the Hub switched off, an empty HF_HOME and sockets blocked."""
    from textssl.metrics import GLUE_METRIC_PATH

    script = textwrap.dedent(
        """
        import json, socket, sys
        def no_network(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = no_network
        socket.create_connection = no_network
        # Only to keep this subprocess fast: evaluate's optional Evaluator imports all transformers pipelines.
        sys.modules["transformers.pipelines"] = None
        import evaluate
        out = {}
        for config in ("cola", "mrpc", "stsb", "accuracy"):
            metric = evaluate.load(sys.argv[1], config, keep_in_memory=True)
            out[config] = metric.compute(predictions=[1, 1, 0, 0, 1, 0], references=[1, 0, 0, 0, 1, 1])
        print(json.dumps(out))
        """
    )
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, GLUE_METRIC_PATH], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["cola"]["matthews_correlation"] == pytest.approx(1 / 3)
    assert out["mrpc"] == {"accuracy": pytest.approx(4 / 6), "f1": pytest.approx(2 / 3)}
    assert out["stsb"]["pearson"] == pytest.approx(1 / 3, abs=1e-6)  # 0/1 data: Pearson = MCC
    assert out["accuracy"] == {"accuracy": pytest.approx(4 / 6)}
    assert (tmp_path / "hf" / "modules").is_dir()  # evaluate copied the module under the fresh HF_HOME


def test_metric_module_is_package_data():
    """pyproject ships textssl/metrics/**/*.py as package data; the module must live where that glob finds it."""
    from textssl.metrics import GLUE_METRIC_PATH

    module = Path(GLUE_METRIC_PATH) / "glue_metric.py"
    assert module.is_file()
    lines = module.read_text(encoding="utf-8").splitlines()
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))]
    assert imports and all("," not in ln for ln in imports)  # one import per line (evaluate parses them)
