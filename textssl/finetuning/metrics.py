"""GLUE metrics, offline: for lists of predictions, inside ``transformers.Trainer``, and the majority floor.

Metrics go through ``evaluate`` with the metric module shipped in :mod:`textssl.metrics`, so evaluation never
needs network access. Each task's metric set comes from its registry entry (:mod:`textssl.finetuning.tasks`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from textssl.errors import ConfigError
from textssl.finetuning.tasks import METRIC_SETS, TaskSpec, get_task


@functools.cache
def _metric(metric_set: str):
    import evaluate

    from textssl.metrics import GLUE_METRIC_PATH

    return evaluate.load(GLUE_METRIC_PATH, metric_set, keep_in_memory=True)


def compute_metrics(
    task: str | TaskSpec, predictions: Sequence | None = None, references: Sequence | None = None
) -> dict[str, float]:
    """GLUE metrics of a task for class-id predictions (or scores, for regression tasks), offline.

    ``compute_metrics("cola", preds, refs) -> {"matthews_correlation": ...}``; ``mrpc``/``qqp`` give
    ``accuracy`` and ``f1``; ``stsb`` gives ``pearson`` and ``spearmanr``. Uses the ``evaluate`` module shipped
    in :mod:`textssl.metrics` (the Hub's ``glue`` metric needs network access).

    This is not ``transformers.Trainer``'s ``compute_metrics`` argument (that one takes an ``EvalPrediction``
    of logits): pass ``compute_metrics=textssl.glue.trainer_metrics("cola")`` there.
    """
    if _is_eval_prediction(task):
        raise ConfigError(
            "textssl.glue.compute_metrics(task, predictions, references) got a transformers EvalPrediction: "
            "for Trainer(compute_metrics=...) pass textssl.glue.trainer_metrics(TASK) instead, e.g. "
            "Trainer(..., compute_metrics=trainer_metrics('cola'))"
        )
    if predictions is None or references is None:
        raise ConfigError(
            "compute_metrics(task, predictions, references) needs predictions and references "
            "(for transformers.Trainer use textssl.glue.trainer_metrics(task))"
        )
    spec = get_task(task)
    if len(predictions) != len(references):
        raise ConfigError(
            f"task {spec.name!r}: {len(predictions)} predictions for {len(references)} references"
        )
    if not spec.is_regression:
        predictions = [int(p) for p in predictions]
        references = [int(r) for r in references]
    else:
        predictions = [float(p) for p in predictions]
        references = [float(r) for r in references]
    return {
        k: float(v)
        for k, v in _metric(spec.metric_set).compute(predictions=predictions, references=references).items()
    }


def _is_eval_prediction(value: Any) -> bool:
    return hasattr(value, "predictions") and hasattr(value, "label_ids")


def trainer_metrics(task_or_metric: str | TaskSpec) -> Any:
    """A ``compute_metrics`` for ``transformers.Trainer``: ``EvalPrediction`` in, GLUE metrics dict out.

    ``task_or_metric`` is a task (``"cola"``, ``"mrpc"``, ``"stsb"``, a :class:`TaskSpec`) or a metric set
    (``"accuracy"``, ``"accuracy_f1"``, ``"matthews_correlation"``, ``"pearson_spearman"``). Logits
    (``[N, num_labels]``; the first array when the model returns several) become class ids by argmax;
    regression outputs (``[N]`` or ``[N, 1]``) are used as scores; predictions that are already class ids
    (``[N]``, e.g. from ``preprocess_logits_for_metrics``) are used as they are. Labels ``-100`` are skipped.

        trainer = Trainer(model, args, ..., compute_metrics=trainer_metrics("mrpc"))
        trainer.evaluate()  # {"eval_accuracy": ..., "eval_f1": ..., "eval_loss": ...}
    """
    if _is_eval_prediction(task_or_metric):
        raise ConfigError(
            "trainer_metrics(task) makes the compute_metrics function: pass "
            "Trainer(..., compute_metrics=trainer_metrics('cola')), not trainer_metrics itself"
        )
    if isinstance(task_or_metric, str) and task_or_metric in METRIC_SETS:
        spec = TaskSpec(
            name=task_or_metric,
            num_texts=1,
            labels=None if task_or_metric == "pearson_spearman" else (),
            metric_set=task_or_metric,
            main_metric=METRIC_SETS[task_or_metric][-1],
        )
    else:
        spec = get_task(task_or_metric)

    def glue_metrics(eval_pred: Any, compute_result: bool = True) -> dict[str, float]:
        if not _is_eval_prediction(eval_pred):
            raise ConfigError(
                f"trainer_metrics({spec.name!r}) is Trainer's compute_metrics: it takes an EvalPrediction, "
                f"got {type(eval_pred).__name__}; to score lists use compute_metrics(task, predictions, references)"
            )
        import numpy as np

        preds = eval_pred.predictions
        labels = eval_pred.label_ids
        preds = preds[0] if isinstance(preds, (tuple, list)) else preds
        labels = labels[0] if isinstance(labels, (tuple, list)) else labels
        preds, labels = np.asarray(preds), np.asarray(labels)
        if spec.is_regression:
            preds = preds.reshape(len(preds), -1)[:, 0] if preds.ndim > 1 else preds
            keep = np.ones(len(labels), bool)
        else:
            preds = preds.argmax(-1) if preds.ndim > 1 else preds
            keep = labels != -100
        if preds.shape[0] != labels.shape[0]:
            raise ConfigError(
                f"trainer_metrics({spec.name!r}): {preds.shape[0]} predictions for {labels.shape[0]} labels; "
                "is the model a sequence classifier (AutoModelForSequenceClassification)?"
            )
        return compute_metrics(spec, preds[keep].tolist(), labels[keep].tolist())

    glue_metrics.__name__ = f"glue_metrics_{spec.name}"
    return glue_metrics


def majority_baseline(spec: TaskSpec, train_labels: Sequence, eval_labels: Sequence) -> dict[str, float]:
    """Metrics of always predicting the most frequent training label (the mean score, for regression).

    A floor every finetuned model must clear: e.g. on MRPC always answering "equivalent" already scores F1 81.
    Ties between equally frequent training labels go to the better-scoring one.
    """
    if not len(eval_labels):
        return {}
    if spec.is_regression:
        mean = float(sum(train_labels) / max(len(train_labels), 1))
        return compute_metrics(spec, [mean] * len(eval_labels), eval_labels)
    counts: dict[int, int] = {}
    for y in train_labels:
        counts[int(y)] = counts.get(int(y), 0) + 1
    most = max(counts.values(), default=0)
    candidates = [label for label, n in sorted(counts.items()) if n == most] or [0]
    # A tie (balanced training labels) goes to the label that scores better: the floor errs on the high side.
    scored = [compute_metrics(spec, [label] * len(eval_labels), eval_labels) for label in candidates]
    return max(scored, key=lambda m: m[spec.main_metric])
