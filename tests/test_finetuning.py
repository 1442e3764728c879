"""Finetuning end to end on tiny models and tiny GLUE-layout fixtures; the suite, the CLI and bad inputs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import textssl
from textssl.cli import main as cli
from textssl.finetuning import (
    FinetuneConfig,
    finetune,
    load_protocol,
    parse_seeds,
    results_table,
    run_glue_suite,
)

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
FAST = {"epochs": 2, "batch_size": 16, "learning_rate": 1e-2, "show_progress": False}
POS, NEG = "good great fine lovely superb".split(), "bad awful poor dull terrible".split()
FILLER = "the movie was a plot film story really quite".split()


def sentence(rng: random.Random, label: int) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(3, 7))]
    words.insert(rng.randrange(len(words) + 1), rng.choice(POS if label else NEG))
    return " ".join(words)


def tsv(path: Path, rows, header=None, bom=False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join("\t".join(map(str, r)) + "\n" for r in ([header] if header else []) + list(rows))
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def glue_dir(tmp_path_factory) -> Path:
    """Keyword tasks (learnable in seconds) in GLUE layouts: SST-2, CoLA (headerless), MRPC (BOM), STS-B
    (ten columns), MNLI (matched/mismatched dev, text labels)."""
    root = tmp_path_factory.mktemp("glue_data")
    rng = random.Random(0)
    for split, n in (("train", 128), ("dev", 64)):
        labels = [i % 2 for i in range(n)]
        tsv(
            root / f"SST-2/{split}.tsv", [(sentence(rng, y), y) for y in labels], header=("sentence", "label")
        )
        tsv(root / f"CoLA/{split}.tsv", [("src", y, "" if y else "*", sentence(rng, y)) for y in labels])
        tsv(
            root / f"MRPC/{split}.tsv",
            [(y, i, i + 1, sentence(rng, y), sentence(rng, 1)) for i, y in enumerate(labels[: n // 2])],
            header=("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"),
            bom=True,
        )
        sts_head = ("index", "genre", "filename", "year", "old_index", "source1", "source2")
        tsv(
            root / f"STS-B/{split}.tsv",
            [(i, "g", "f", "2012", i, "s", "s", sentence(rng, y), sentence(rng, 1), f"{4.5 * y + 0.25:.3f}")
             for i, y in enumerate(labels[: n // 2])],
            header=(*sts_head, "sentence1", "sentence2", "score"),
        )  # fmt: skip
    mnli_head = ("index", "promptID", "pairID", "genre", "s1b", "s2b", "s1p", "s2p", "sentence1", "sentence2")
    names = ("entailment", "neutral", "contradiction")
    for file, n in (("train", 48), ("dev_matched", 12), ("dev_mismatched", 9)):
        rows = [(i, i, i, "g", "", "", "", "", sentence(rng, 1), sentence(rng, i % 2), names[i % 3], names[i % 3])
                for i in range(n)]  # fmt: skip
        tsv(root / f"MNLI/{file}.tsv", rows, header=(*mnli_head, "label1", "gold_label"))
    return root


def save_tiny(
    path: Path, arch: str = "bert", tokenizer: str = "wordpiece", weights: bool = True, **extra
) -> Path:
    """A one-layer, 32-wide model of ``arch`` with a shipped tokenizer, as a pretraining run would save it."""
    import transformers as tf

    tok = textssl.load_tokenizer(tokenizer)
    small = {"vocab_size": len(tok), **extra}
    if arch == "bert":
        config = tf.BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                               initializer_range=0.05, pad_token_id=tok.pad_token_id, **small)  # fmt: skip
        model = tf.BertForMaskedLM(config)
    elif arch == "electra":
        config = tf.ElectraConfig(embedding_size=32, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=64, **small)  # fmt: skip
        model = tf.ElectraForPreTraining(config)
    elif arch == "modernbert":
        config = tf.ModernBertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                                     bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                                     cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id, **small)  # fmt: skip
        model = tf.ModernBertForMaskedLM(config)
    elif arch == "gpt2":  # a causal LM saved without pad_token_id, as GPT-2 is
        config = tf.GPT2Config(n_embd=32, n_layer=1, n_head=2, n_positions=64, pad_token_id=None, **small)
        model = tf.GPT2LMHeadModel(config)
    else:
        config = tf.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                num_key_value_heads=2, max_position_embeddings=64, pad_token_id=None, **small)  # fmt: skip
        model = tf.LlamaForCausalLM(config)
    if weights:
        model.save_pretrained(path)
    else:
        config.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("models") / "bert")


# ------------------------------------------------------------------------------------------------ finetune()


def test_single_sentence_task_learns_and_reports_the_best_epoch(tiny_bert, glue_dir, tmp_path):
    out = tmp_path / "sst2-model"
    result = finetune(tiny_bert, "sst2", data_dir=glue_dir, seed=0, output_dir=out, **{**FAST, "epochs": 6})
    assert result["task"] == "sst2" and result["init"] == "pretrained" and result["main_metric"] == "accuracy"
    assert result["score"] >= 0.9  # a keyword task: far above the 0.5 majority rate
    assert (
        len(result["history"]) == 6
        and result["history"][-1]["train_loss"] < result["history"][0]["train_loss"]
    )
    best = max(result["history"], key=lambda h: h["metrics"]["accuracy"])
    assert result["metrics"] == best["metrics"] and result["best_epoch"] == best["epoch"]
    assert result["last_metrics"] == result["history"][-1]["metrics"]
    assert result["num_train"] == 128 and result["num_eval"] == {"validation": 64}
    # The selected epoch's model is saved as a complete HF directory, with the results.
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.num_labels == 2 and model.config.id2label[1] == "positive"
    assert (out / "tokenizer.json").is_file()
    assert json.loads((out / "finetune_results.json").read_text())["score"] == result["score"]
    # ... and its own model card: a finetuned text classifier with its dev result, never a local base path
    from huggingface_hub import ModelCard

    card = ModelCard.load(out / "README.md")
    assert card.data.pipeline_tag == "text-classification" and card.data.model_name == "sst2-model"
    [entry] = card.data.eval_results
    assert (entry.dataset_type, entry.dataset_config, entry.metric_type) == (
        "nyu-mll/glue",
        "sst2",
        "accuracy",
    )
    assert entry.metric_value == round(100 * result["score"], 2)
    assert "finetuned with textssl on GLUE SST-2" in card.text and str(tiny_bert) not in str(card)
    assert card.data.base_model is None  # the base was never pushed: no Hub id to name


@pytest.mark.parametrize(
    "task, keys",
    [
        ("mrpc", {"accuracy", "f1"}),
        ("stsb", {"pearson", "spearmanr"}),
        ("mnli", {"accuracy", "accuracy_mismatched"}),
    ],
)
def test_pair_regression_and_three_way_tasks(tiny_bert, glue_dir, task, keys):
    result = finetune(tiny_bert, task, data_dir=glue_dir, seed=1, **FAST)
    assert set(result["metrics"]) == keys
    assert all(-1.0 <= v <= 1.0 for v in result["metrics"].values())
    if task == "mnli":
        assert result["num_eval"] == {"validation_matched": 12, "validation_mismatched": 9}
    if task == "stsb":
        assert result["score"] == result["metrics"]["spearmanr"]


def test_same_seed_same_result_and_random_init(tiny_bert, glue_dir):
    cfg = FinetuneConfig(epochs=1, batch_size=16, learning_rate=1e-2)
    a = finetune(tiny_bert, "cola", data_dir=glue_dir, seed=3, config=cfg, show_progress=False)
    b = finetune(tiny_bert, "cola", data_dir=glue_dir, seed=3, config=cfg, show_progress=False)
    assert a["history"] == b["history"]
    r = finetune(
        tiny_bert, "cola", data_dir=glue_dir, seed=3, config=cfg, random_init=True, show_progress=False
    )
    assert r["init"] == "random-init" and r["history"] != a["history"]


@pytest.mark.parametrize("arch, tokenizer", [("electra", "wordpiece"), ("gpt2", "bpe"), ("llama", "bpe")])
def test_other_checkpoint_kinds(tmp_path, glue_dir, arch, tokenizer):
    """ELECTRA discriminator and causal LMs (saved without pad_token_id) get a classification head."""
    path = save_tiny(tmp_path / arch, arch, tokenizer)
    result = finetune(path, "mrpc", data_dir=glue_dir, **{**FAST, "epochs": 1})
    assert set(result["metrics"]) == {"accuracy", "f1"}


def test_mean_pooling_reads_every_real_token_and_only_where_the_architecture_offers_it(
    tmp_path, glue_dir, capsys
):
    import torch

    from textssl.finetuning import get_task
    from textssl.finetuning.loading import load_classifier

    path = save_tiny(tmp_path / "modernbert", "modernbert")
    tok = textssl.load_tokenizer("wordpiece")
    spec = get_task("sst2")
    ids = tok(["a fine film", "a fine film"], padding="max_length", max_length=12, return_tensors="pt")
    short = tok(["a fine film"], return_tensors="pt")
    heads = {}
    for pooling in ("cls", "mean"):
        torch.manual_seed(0)
        model = load_classifier(path, spec, tok, pooling=pooling).eval()
        assert model.config.classifier_pooling == pooling
        with torch.no_grad():
            heads[pooling] = model(**ids).logits[0]
            if pooling == "mean":  # the average skips pad positions: padding does not change the logits
                torch.testing.assert_close(model(**short).logits[0], heads[pooling], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(heads["cls"], heads["mean"])  # the same weights, a different pooled vector
    result = finetune(path, "sst2", data_dir=glue_dir, **{**FAST, "epochs": 1, "pooling": "mean"})
    assert 0.0 <= result["score"] <= 1.0
    # BERT's classifier always reads [CLS] through its pooler: asking for mean pooling is a one-line error.
    bert = save_tiny(tmp_path / "bert", "bert")
    args = ["finetune", "--model", str(bert), "--task", "sst2", "--data-dir", str(glue_dir)]
    assert cli([*args, "--pooling", "mean", "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--pooling mean: the bert classifier" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_causal_lm_tokenizer_without_pad_token(tmp_path, glue_dir):
    from transformers import AutoTokenizer

    path = save_tiny(tmp_path / "gpt2", "gpt2", "bpe")
    tok = AutoTokenizer.from_pretrained(path)
    tok.pad_token = None
    tok.save_pretrained(path)
    assert AutoTokenizer.from_pretrained(path).pad_token is None
    result = finetune(path, "sst2", data_dir=glue_dir, output_dir=tmp_path / "out", **{**FAST, "epochs": 1})
    assert 0 <= result["score"] <= 1
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(tmp_path / "out").pad_token_id == tok.eos_token_id  # padded with EOS


def test_own_task_through_the_cli(tiny_bert, tmp_path, capsys):
    rng = random.Random(1)
    for name, n in (("train", 64), ("dev", 16)):
        rows = ["review,stars"] + [
            f'"{sentence(rng, i % 2)}, yes",{("one", "five")[i % 2]}' for i in range(n)
        ]
        (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
    code = cli(
        ["finetune", "--model", str(tiny_bert), "--train-file", str(tmp_path / "train.csv"),
         "--validation-file", str(tmp_path / "dev.csv"), "--text-column", "review", "--label-column", "stars",
         "--metric", "accuracy_f1", "--epochs", "1", "--lr", "1e-2", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["task"] == "own-task" and set(printed["metrics"]) == {"accuracy", "f1"}


# ------------------------------------------------------------------------------------------ bad inputs


def test_checkpoint_errors(tmp_path, glue_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty: the checkpoint directory has no config\.json"):
        finetune(empty, "sst2", data_dir=glue_dir, **FAST)
    bare = save_tiny(tmp_path / "bare", weights=False)
    with pytest.raises(FileNotFoundError, match=r"bare: .*no weights.*model\.safetensors"):
        finetune(bare, "sst2", data_dir=glue_dir, **FAST)
    # ... but the random-init baseline needs only the config.
    assert finetune(bare, "sst2", data_dir=glue_dir, random_init=True, **{**FAST, "epochs": 1})["score"] >= 0
    small = save_tiny(tmp_path / "small", vocab_size=100)
    with pytest.raises(ValueError, match=r"tokenizer has 16384 tokens but the model's vocabulary has 100"):
        finetune(small, "sst2", data_dir=glue_dir, **FAST)
    with pytest.raises(FileNotFoundError, match="no such checkpoint directory"):
        finetune(tmp_path / "missing", "sst2", data_dir=glue_dir, **FAST)
    with pytest.raises(KeyError, match="unknown task 'sst3'"):
        finetune(bare, "sst3", data_dir=glue_dir, **FAST)


def test_protocol_config_and_seeds(tmp_path):
    config, overrides, extra = load_protocol(RECIPES / "configs/glue_default.yaml")
    assert config == FinetuneConfig() and config.learning_rate == 3e-4 and overrides == {}
    assert extra["seeds"] == 3 and "cola" in extra["tasks"]
    for name in ("glue_quick.yaml", "glue_syn.yaml"):
        load_protocol(RECIPES / "configs" / name)
    (tmp_path / "bad.yaml").write_text("learning_rate: 1e-3\nepoch: 3\n")
    with pytest.raises(ValueError, match="unknown finetune option.*epoch"):
        load_protocol(tmp_path / "bad.yaml")
    (tmp_path / "over.yaml").write_text(
        "learning_rate: 1e-3\nmixed_precision: no\ntask_overrides: {RTE: {epochs: 10}}\n"
    )
    config, overrides, _ = load_protocol(tmp_path / "over.yaml")
    assert (
        config.learning_rate == 1e-3
        and config.mixed_precision == "no"
        and overrides == {"rte": {"epochs": 10}}
    )
    with pytest.raises(ValueError, match="batch_size"):
        FinetuneConfig(batch_size=0)
    assert parse_seeds(3) == [0, 1, 2] and parse_seeds("3") == [0, 1, 2] and parse_seeds("4,7") == [4, 7]
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds("a,b")


# ------------------------------------------------------------------------------------------ suite and CLI


def test_glue_cli_with_random_init_baseline(tiny_bert, glue_dir, tmp_path, capsys):
    out = tmp_path / "report"
    code = cli(
        ["glue", "--model", str(tiny_bert), "--tasks", "cola,stsb", "--seeds", "2", "--data-dir", str(glue_dir),
         "--baseline", "random-init", "--output", str(out), "--epochs", "1", "--lr", "1e-2", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["seeds"] == [0, 1] and results["baseline"] == "random-init"
    for task in ("cola", "stsb"):
        entry = results["tasks"][task]
        for init in ("pretrained", "random-init"):
            runs, summary = entry["runs"][init], entry["summary"][init]
            assert [r["seed"] for r in runs] == [0, 1] and {r["init"] for r in runs} == {init}
            scores = sorted(r["score"] for r in runs)
            assert summary["median"] == pytest.approx(sum(scores) / 2)
            assert (summary["min"], summary["max"]) == (scores[0], scores[-1])
    assert results["average"]["pretrained"]["median"] == pytest.approx(
        (results["tasks"]["cola"]["summary"]["pretrained"]["median"] + results["tasks"]["stsb"]["summary"]["pretrained"]["median"]) / 2
    )  # fmt: skip
    assert results["tasks"]["cola"]["majority"] == {"matthews_correlation": 0.0}
    table = (out / "results.md").read_text()
    assert "| task | metric | pretrained | random-init | Δ | majority |" in table
    assert "| cola | MCC |" in table and "| stsb | Spearman |" in table and "**average**" in table
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "results.json" in capsys.readouterr().out


def test_suite_without_baseline_and_cli_errors(tiny_bert, glue_dir, tmp_path, capsys):
    results = run_glue_suite(
        tiny_bert,
        ["sst2"],
        seeds=[5],
        data_dir=glue_dir,
        config=FinetuneConfig(epochs=1),
        show_progress=False,
    )
    assert list(results["tasks"]["sst2"]["runs"]) == ["pretrained"] and results["seeds"] == [5]
    assert "random-init" not in results_table(results)
    assert cli(["glue", "--model", str(tiny_bert), "--tasks", "nope", "--output", str(tmp_path)]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--baseline"):
        run_glue_suite(tiny_bert, "sst2", baseline="shuffled", data_dir=glue_dir)


def test_recipe_script_calls_the_same_function(tiny_bert, glue_dir, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("finetune_glue_recipe", RECIPES / "finetune_glue.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    argv = [
        "--model",
        str(tiny_bert),
        "--task",
        "sst2",
        "--data-dir",
        str(glue_dir),
        "--epochs",
        "1",
        "--no-progress",
    ]
    assert recipe.main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["task"] == "sst2" and printed["init"] == "pretrained" and "accuracy" in printed["metrics"]


def test_plot_results_when_the_average_lies_outside_the_seed_range(tmp_path):
    from textssl.finetuning.report import plot_results

    summary = {"median": 0.409, "min": 0.410, "max": 0.419}  # mean of medians below every per-seed average
    results = {
        "model": "m",
        "seeds": [0, 1, 2],
        "baseline": "random-init",
        "tasks": {
            "syn-sst": {
                "main_metric": "accuracy",
                "majority": {"accuracy": 0.5},
                "summary": {
                    "pretrained": {"median": 0.7, "min": 0.6, "max": 0.8},
                    "random-init": {"median": 0.5, "min": 0.5, "max": 0.6},
                },
            }
        },
        "average": {"pretrained": summary, "random-init": summary},
    }
    path = plot_results(results, tmp_path / "results.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.png"]


# ------------------------------------------------------------------------------------------------ reports


def _report(seeds, scores, epochs=1, max_train=400, model="m") -> dict:
    summary = {"median": sorted(scores)[len(scores) // 2], "min": min(scores), "max": max(scores),
               "scores": scores, "metrics": {"matthews_correlation": scores[0]}, "last_epoch_median": scores[0]}  # fmt: skip
    zero = {"median": 0.0, "min": 0.0, "max": 0.0, "scores": [0.0] * len(seeds), "metrics": {"accuracy": 0.0},
            "last_epoch_median": 0.0}  # fmt: skip
    return {
        "model": str(model), "baseline": None, "seeds": seeds, "data": "glue_data", "selection": "best dev epoch",
        "protocol": {"learning_rate": 3e-4, "batch_size": 32, "epochs": epochs, "warmup_ratio": 0.1,
                     "max_length": 128, "max_train_samples": max_train, "max_eval_samples": None},
        "task_overrides": {}, "seconds": 3.0,
        "tasks": {
            "cola": {"task": "cola", "main_metric": "matthews_correlation", "majority": {"matthews_correlation": 0.0},
                     "summary": {"pretrained": summary}},
            "sst2": {"task": "sst2", "main_metric": "accuracy", "majority": {"accuracy": 0.5},
                     "summary": {"pretrained": zero}},
            "stsb": {"task": "stsb", "main_metric": "spearmanr", "majority": {"spearmanr": 0.0},
                     "summary": {"pretrained": {**zero, "median": 0.3, "metrics": {"spearmanr": 0.3}}}},
        },
        "average": {"pretrained": {"median": 0.1, "min": 0.05, "max": 0.15}},
    }  # fmt: skip


def test_results_md_names_the_subset_epochs_and_seeds_with_correct_grammar():
    one = results_table(_report([0], [-0.011]))
    assert "1 epoch," in one and "1 epochs" not in one
    assert "a fixed random subset of at most 400 training examples per task (max_train_samples)" in one
    assert "all dev examples per split" in one and "1 seed (0)" in one
    assert "| cola | MCC | -1.1 |" in one  # one seed: the score, no (min–max) range
    assert "–-" not in one and "(-1.1" not in one and "median over 1 seed" not in one
    assert "one seed (0), so no spread to show" in one
    three = results_table(_report([0, 1, 2], [-0.05, -0.011, 0.02], epochs=5, max_train=None))
    assert "| cola | MCC | -1.1 (-5.0 to 2.0) |" in three
    assert (
        "median over 3 seeds (min to max)" in three and "5 epochs," in three and "3 seeds (0, 1, 2)" in three
    )
    assert "all training examples per task" in three


@pytest.fixture
def no_backend_switch(monkeypatch):
    """Fail if a plot switches matplotlib's backend; record each figure saved."""
    import matplotlib
    from matplotlib.figure import Figure

    def refuse(*args, **kwargs):
        raise AssertionError("plot_* must not call matplotlib.use (it would switch a notebook's backend)")

    monkeypatch.setattr(matplotlib, "use", refuse)
    saved, real = [], Figure.savefig

    def record(self, *args, **kwargs):
        saved.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return saved


def test_results_png_one_panel_per_metric_titled_with_the_model(tmp_path, no_backend_switch):
    from textssl.finetuning.report import plot_results
    from textssl.hub import write_model_card

    model = tmp_path / "mlm-tiny" / "model"
    model.mkdir(parents=True)
    path = plot_results(_report([0], [-0.011], model=model), tmp_path / "results.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    [fig] = no_backend_switch
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == [
        "MCC x100 (dev)",
        "accuracy x100 (dev)",
        "Spearman ρ x100 (dev)",
        "mean of the task scores x100 (dev)",
    ]
    title = fig._suptitle.get_text()
    assert "mlm-tiny" in title and "model" not in title.replace("mlm-tiny", "") and "1 seed" in title
    sst2 = fig.axes[1]
    assert "0.0" in [t.get_text() for t in sst2.texts]  # the zero-height bar is labelled, so it shows
    write_model_card(model, objective="mlm", repo_id="me/mlm-tiny")  # once pushed: the repo id
    plot_results(_report([0, 1, 2], [-0.05, -0.011, 0.02], model=model), tmp_path / "results.png")
    assert "me/mlm-tiny" in no_backend_switch[-1]._suptitle.get_text()


def test_loss_png_names_the_run_and_shows_a_single_eval_point(tmp_path, no_backend_switch):
    from textssl.training.reporting import plot_curves

    run = tmp_path / "bert-mlm-tiny"
    run.mkdir()
    records = [
        {"event": "config"},
        {"step": 10, "loss": 9.7},
        {"step": 20, "loss": 8.1},
        {"step": 20, "eval_loss": 7.9},
    ]
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert plot_curves(run / "log.jsonl", run / "loss.png") == run / "loss.png"
    [fig] = no_backend_switch
    [ax] = fig.axes
    assert ax.get_title() == "bert-mlm-tiny"
    lines = {line.get_label(): line for line in ax.get_lines()}
    eval_line = lines["eval loss (1 point)"]
    assert list(eval_line.get_xdata()) == [20] and eval_line.get_marker() == "o"
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
