"""The task registry (``textssl.finetuning.tasks``, re-exported by ``textssl.glue``): GLUE's tasks with their metrics, the synthetic tasks, lookup by alias."""

from __future__ import annotations

import pytest

from textssl.glue import (
    GLUE_TASKS,
    TASKS,
    UnknownTaskError,
    get_task,
    parse_tasks,
)


def test_registry_covers_glue_with_its_metrics():
    assert set(GLUE_TASKS) <= set(TASKS)
    expect = {
        "cola": ("matthews_correlation", ("matthews_correlation",), 2, 1),
        "sst2": ("accuracy", ("accuracy",), 2, 1),
        "mrpc": ("f1", ("accuracy", "f1"), 2, 2),
        "qqp": ("f1", ("accuracy", "f1"), 2, 2),
        "stsb": ("spearmanr", ("pearson", "spearmanr"), 1, 2),
        "mnli": ("accuracy", ("accuracy",), 3, 2),
        "qnli": ("accuracy", ("accuracy",), 2, 2),
        "rte": ("accuracy", ("accuracy",), 2, 2),
        "wnli": ("accuracy", ("accuracy",), 2, 2),
    }
    for name, (main, metrics, num_labels, num_texts) in expect.items():
        spec = TASKS[name]
        assert (spec.main_metric, spec.metrics, spec.num_labels, spec.num_texts) == (
            main,
            metrics,
            num_labels,
            num_texts,
        ), name
        assert spec.hub_config == name
    assert TASKS["stsb"].is_regression and not TASKS["cola"].is_regression
    assert TASKS["mnli"].eval_splits == ("validation_matched", "validation_mismatched")
    assert TASKS["mnli"].labels == ("entailment", "neutral", "contradiction")  # the Hub's class ids
    for name, layout, dir_name in [
        ("syn-cola", "cola", "SYN-CoLA"),
        ("syn-sst", "sst2", "SYN-SST"),
        ("syn-mrpc", "mrpc", "SYN-MRPC"),
        ("syn-sts", "stsb", "SYN-STS"),
    ]:
        assert (TASKS[name].layout, TASKS[name].dir_name, TASKS[name].hub_config) == (layout, dir_name, None)


def test_task_lookup_aliases_and_unknown_task():
    assert get_task("SST-2").name == "sst2"
    assert get_task("STS-B").name == "stsb"
    assert get_task("SYN-CoLA").name == "syn-cola"
    assert [s.name for s in parse_tasks("cola, mrpc")] == ["cola", "mrpc"]
    assert [s.name for s in parse_tasks("glue")] == list(GLUE_TASKS)
    with pytest.raises(UnknownTaskError) as err:
        get_task("colaa")
    message = str(err.value)
    assert "colaa" in message and "cola" in message and "wnli" in message and not message.startswith("'")
    assert isinstance(err.value, KeyError)
