"""The one model-card builder: names, heads, Hub-id datasets, and merging into a card that is already there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from textssl.hub import build_model_card, is_hub_id, run_name, write_model_card


def front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def model_dir(path: Path, architecture: str = "BertForMaskedLM", model_type: str = "bert") -> Path:
    path.mkdir(parents=True)
    config = {"model_type": model_type, "architectures": [architecture], "hidden_size": 32}
    (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize(
    "architecture, auto, pipeline",
    [
        ("BertForMaskedLM", "AutoModelForMaskedLM", "fill-mask"),
        ("GPT2LMHeadModel", "AutoModelForCausalLM", "text-generation"),
        ("LlamaForCausalLM", "AutoModelForCausalLM", "text-generation"),
        ("T5ForConditionalGeneration", "AutoModelForSeq2SeqLM", "text2text-generation"),
        ("BartForConditionalGeneration", "AutoModelForSeq2SeqLM", "text2text-generation"),
        ("ElectraForPreTraining", "AutoModelForPreTraining", None),
        ("BertForPreTraining", "AutoModelForPreTraining", None),
        ("BertForSequenceClassification", "AutoModelForSequenceClassification", "text-classification"),
    ],
)
def test_usage_class_and_pipeline_tag_follow_the_saved_head(tmp_path, architecture, auto, pipeline):
    card = build_model_card(model_dir(tmp_path / "run" / "model", architecture))
    meta = front_matter(str(card))
    assert meta.get("pipeline_tag") == pipeline
    assert f"model = {auto}.from_pretrained(" in card.text
    assert "AutoModel.from_pretrained" not in card.text


def test_title_is_the_run_not_the_generic_folder(tmp_path):
    run = tmp_path / "mlm-tiny"
    assert run_name(run / "model") == "mlm-tiny"
    assert run_name(run / "checkpoints" / "step_300") == "mlm-tiny"
    assert run_name(run / ".model.tmpab12") == "mlm-tiny"  # the atomic-write temp dir of runs/mlm-tiny/model
    assert run_name(tmp_path / "sst2-from-mlm") == "sst2-from-mlm"
    card = build_model_card(model_dir(run / "model"))
    assert "\n# mlm-tiny\n" in str(card) and "# model\n" not in str(card)
    assert 'from_pretrained("path/to/mlm-tiny")' in card.text  # no repo id yet: a placeholder


def test_datasets_metadata_lists_only_hub_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "books").mkdir()
    assert is_hub_id("Salesforce/wikitext") and is_hub_id("nyu-mll/glue")
    for not_hub in (
        "synthetic",
        "synthetic:400",
        "corpus.txt",
        "data/books",
        "data/wiki.train.tokens",
        "/abs/x",
    ):
        assert not is_hub_id(not_hub), not_hub
    sources = ["synthetic:400", "data/books", "Salesforce/wikitext", "corpus.txt"]
    card = build_model_card(model_dir(tmp_path / "run" / "model"), objective="mlm", datasets=sources)
    assert front_matter(str(card))["datasets"] == ["Salesforce/wikitext"]
    row = next(line for line in card.text.splitlines() if line.startswith("| pretraining data |"))
    assert "synthetic corpus (400 documents" in row and "local corpus `books`" in row
    assert "local corpus `corpus.txt`" in row and "huggingface.co/datasets/Salesforce/wikitext" in row
    # an old card that listed a local corpus as a dataset loses it on the next merge (it is not a Hub id)
    only_local = build_model_card(model_dir(tmp_path / "run2" / "model"), datasets=["synthetic"])
    assert "datasets" not in front_matter(str(only_local))


def test_merge_keeps_metadata_rows_and_sections_and_stamps_the_repo_id(tmp_path):
    mdir = model_dir(tmp_path / "mlm-tiny" / "model")
    write_model_card(
        mdir,
        objective="mlm",
        datasets=["synthetic:400", "Salesforce/wikitext"],
        steps=300,
        tokens_seen=1_234_567,
        budget="300 steps",
        details={"corruption": "TokenMasking(rate=0.15)", "architecture": "bert (tiny)"},
        tags=["my-tag"],
        model_name="mlm-tiny",
    )
    card_path = mdir / "README.md"
    card_path.write_text(card_path.read_text() + "\n## Limitations\n\nA toy.\n")
    before = front_matter(card_path.read_text())

    write_model_card(mdir, repo_id="me/mlm-tiny")  # what a push adds: only the repo id
    text = card_path.read_text()
    meta = front_matter(text)
    for key in ("datasets", "pipeline_tag", "tags", "license", "language", "library_name"):
        assert meta[key] == before[key], key
    assert (
        "\n# me/mlm-tiny\n" in text and text.count("me/mlm-tiny") == 4
    )  # title, 2 snippet lines, the glue hint
    assert "path/to/" not in text
    for row in ("| steps | 300 |", "| tokens seen | 1,234,567 |", "| architecture | bert (tiny) |"):
        assert row in text, row
    assert text.rstrip().endswith("## Limitations\n\nA toy.")
    # merging the same facts again changes nothing
    write_model_card(mdir, repo_id="me/mlm-tiny")
    assert card_path.read_text() == text


def test_model_index_entries_merge_by_task_and_metric(tmp_path):
    mdir = model_dir(tmp_path / "run" / "model")

    def results(task: str, score: float) -> dict:
        summary = {"median": score, "min": score, "max": score, "scores": [score], "metrics": {"accuracy": score},
                   "last_epoch_median": score}  # fmt: skip
        return {"model": str(mdir), "baseline": None, "seeds": [0], "data": "d", "selection": "best dev epoch",
                "protocol": {"learning_rate": 1e-4, "batch_size": 8, "epochs": 1, "warmup_ratio": 0.1,
                             "max_length": 64}, "task_overrides": {},
                "tasks": {task: {"task": task, "main_metric": "accuracy", "majority": {"accuracy": 0.5},
                                 "summary": {"pretrained": summary}}}}  # fmt: skip

    write_model_card(mdir, objective="mlm", glue_results=results("sst2", 0.8))
    write_model_card(mdir, glue_results=results("rte", 0.6), repo_id="me/run")
    card = ModelCard.load(mdir / "README.md")
    values = {r.dataset_config: r.metric_value for r in card.data.eval_results}
    assert values == {"sst2": 80.0, "rte": 60.0} and card.data.model_name == "me/run"
    write_model_card(mdir, glue_results=results("sst2", 0.9))  # a rerun replaces its own entry only
    card = ModelCard.load(mdir / "README.md")
    assert {r.dataset_config: r.metric_value for r in card.data.eval_results} == {"sst2": 90.0, "rte": 60.0}


def test_a_broken_card_is_not_overwritten(tmp_path):
    mdir = model_dir(tmp_path / "run" / "model")
    broken = "---\ntags: [unclosed\n---\n\n# mine\n"
    (mdir / "README.md").write_text(broken)
    with pytest.raises(
        FileNotFoundError, match=r"README.md: the model card's front matter is not valid YAML"
    ):
        write_model_card(mdir, repo_id="me/run")
    assert (mdir / "README.md").read_text() == broken
    assert sorted(p.name for p in mdir.iterdir()) == ["README.md", "config.json"]
