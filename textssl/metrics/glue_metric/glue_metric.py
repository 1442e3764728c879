"""GLUE metrics as an offline ``evaluate`` module (Wang et al., 2019, "GLUE: A Multi-Task Benchmark").

Same definitions as the Hub's ``glue`` metric: Matthews correlation for CoLA, Pearson and Spearman
correlation for STS-B, F1 and accuracy for MRPC and QQP, accuracy for the other tasks. Besides the GLUE task
names, the configuration may name the metric set directly (``accuracy``, ``accuracy_f1``,
``matthews_correlation``, ``pearson_spearman``), which is what user-defined tasks use.

Load it by path: ``evaluate.load(textssl.metrics.GLUE_METRIC_PATH, "cola")``. Keep one import per line in
this file: ``evaluate`` scans the import lines of a metric script to find its dependencies.
"""

# ruff: noqa: I001  (one import per line: evaluate parses this file's import lines to check dependencies)
import math

import datasets
import evaluate
import numpy as np
from scipy.stats import pearsonr
from scipy.stats import spearmanr
from sklearn.metrics import f1_score
from sklearn.metrics import matthews_corrcoef

_CITATION = """\
@inproceedings{wang2019glue,
  title={{GLUE}: A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding},
  author={Wang, Alex and Singh, Amanpreet and Michael, Julian and Hill, Felix and Levy, Omer and Bowman, Samuel R.},
  booktitle={International Conference on Learning Representations},
  year={2019}
}
"""

_DESCRIPTION = (
    "GLUE evaluation metrics: MCC (CoLA), Pearson/Spearman (STS-B), F1 + accuracy (MRPC, QQP), accuracy."
)

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted labels (class ids), or scores for STS-B / ``pearson_spearman``.
    references: gold labels, or gold scores for STS-B / ``pearson_spearman``.
Returns: a dict with ``accuracy``; ``f1`` (``accuracy_f1``, mrpc, qqp); ``matthews_correlation`` (cola);
    ``pearson`` and ``spearmanr`` (stsb, ``pearson_spearman``).
Example:
    >>> metric = evaluate.load(GLUE_METRIC_PATH, "mrpc")
    >>> metric.compute(predictions=[0, 1], references=[0, 1])
    {'accuracy': 1.0, 'f1': 1.0}
"""

METRIC_SETS = {
    "accuracy": ("accuracy",),
    "accuracy_f1": ("accuracy", "f1"),
    "matthews_correlation": ("matthews_correlation",),
    "pearson_spearman": ("pearson", "spearmanr"),
}

CONFIG_TO_SET = {
    "cola": "matthews_correlation",
    "sst2": "accuracy",
    "mrpc": "accuracy_f1",
    "qqp": "accuracy_f1",
    "stsb": "pearson_spearman",
    "mnli": "accuracy",
    "mnli_matched": "accuracy",
    "mnli_mismatched": "accuracy",
    "qnli": "accuracy",
    "rte": "accuracy",
    "wnli": "accuracy",
    "hans": "accuracy",
}
for _name in METRIC_SETS:
    CONFIG_TO_SET[_name] = _name


def _correlation(fn, predictions, references) -> float:
    """Correlation, or 0.0 when it is undefined (a constant input has no correlation with anything)."""
    if len(predictions) < 2 or np.ptp(predictions) == 0 or np.ptp(references) == 0:
        return 0.0
    value = float(fn(predictions, references)[0])
    return 0.0 if math.isnan(value) else value


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class GlueMetric(evaluate.Metric):
    """GLUE metric selected by ``config_name`` (a GLUE task or a metric-set name)."""

    def _info(self):
        if self.config_name not in CONFIG_TO_SET:
            raise KeyError(
                f"unknown GLUE metric configuration {self.config_name!r}; "
                f"choose one of {', '.join(sorted(CONFIG_TO_SET))}"
            )
        dtype = "float32" if CONFIG_TO_SET[self.config_name] == "pearson_spearman" else "int64"
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value(dtype), "references": datasets.Value(dtype)}
            ),
            format="numpy",
        )

    def _compute(self, predictions, references):
        predictions = np.asarray(predictions)
        references = np.asarray(references)
        out = {}
        for name in METRIC_SETS[CONFIG_TO_SET[self.config_name]]:
            if name == "accuracy":
                out[name] = float((predictions == references).mean()) if len(references) else 0.0
            elif name == "f1":
                out[name] = float(f1_score(y_true=references, y_pred=predictions, zero_division=0.0))
            elif name == "matthews_correlation":
                out[name] = float(matthews_corrcoef(references, predictions))
            elif name == "pearson":
                out[name] = _correlation(pearsonr, predictions, references)
            elif name == "spearmanr":
                out[name] = _correlation(spearmanr, predictions, references)
        return out
