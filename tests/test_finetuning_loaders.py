"""Task loaders (``textssl.finetuning.loaders``): the GLUE TSV layout with its quirks, the Hub, own CSV/TSV/JSONL files, the Hub's column names, and bad-input errors."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from textssl import glue
from textssl.glue import (
    STSB_COLUMNS,
    TASKS,
    GlueDataError,
    TaskSpec,
    load_files,
    load_task,
)


def write(path: Path, text: str, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def tsv(*rows: tuple) -> str:
    return "".join("\t".join(map(str, r)) + "\n" for r in rows)


# ---------------------------------------------------------------------------------------------- GLUE layouts


def make_glue_dir(root: Path) -> Path:
    """A tiny copy of every GLUE task in the original glue_data/ layout, quirks included."""
    # CoLA: no header; source, label, original label, sentence; a stray quote that must not open a field.
    write(root / "CoLA/train.tsv", tsv(("gj04", 1, "", 'He said "hi.'), ("gj04", 0, "*", "Him went.")))
    write(root / "CoLA/dev.tsv", "gj04\t1\t\tShe left.\ngj04\t0\t*\tLeft she the.")  # no trailing newline
    write(root / "SST-2/train.tsv", tsv(("sentence", "label"), ("a good film ", 1), ('" bad', 0)))
    write(root / "SST-2/dev.tsv", tsv(("sentence", "label"), ("fine", 1)))
    mrpc = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")
    write(
        root / "MRPC/train.tsv",
        tsv(mrpc, (1, 11, 12, 'He said " yes', "He agreed ."), (0, 13, 14, "A", "B")),
        bom=True,
    )
    write(root / "MRPC/dev.tsv", tsv(mrpc, (0, 15, 16, "C", "D")), bom=True)
    qqp = ("id", "qid1", "qid2", "question1", "question2", "is_duplicate")
    write(root / "QQP/train.tsv", tsv(qqp, (0, 1, 2, "How?", "How so?", 1)))
    write(root / "QQP/dev.tsv", tsv(qqp, (1, 3, 4, "Why?", "When?", 0)))
    sts = STSB_COLUMNS
    write(
        root / "STS-B/train.tsv",
        tsv(sts, (0, "main-captions", "MSRvid", "2012test", 1, "none", "none", "A man.", "A guy.", "4.750")),
    )
    write(
        root / "STS-B/dev.tsv",
        tsv(sts, (0, "main-news", "x", "2012", 2, "none", "none", "Cats.", "Dogs.", "0.5")),
    )
    mnli = ("index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
            "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label")  # fmt: skip
    write(
        root / "MNLI/train.tsv",
        tsv(mnli, (0, 1, "1e", "fiction", "( a )", "( b )", "(a)", "(b)", "P1", "H1", "neutral", "neutral")),
    )
    write(
        root / "MNLI/dev_matched.tsv",
        tsv(mnli, (0, 2, "2e", "slate", "", "", "", "", "P2", "H2", "entailment", "entailment")),
    )
    write(
        root / "MNLI/dev_mismatched.tsv",
        tsv(mnli, (0, 3, "3c", "verbatim", "", "", "", "", "P3", "H3", "x", "contradiction")),
    )
    for task, cols in (
        ("QNLI", ("index", "question", "sentence", "label")),
        ("RTE", ("index", "sentence1", "sentence2", "label")),
    ):
        write(
            root / f"{task}/train.tsv",
            tsv(cols, (0, "Q?", "S.", "not_entailment"), (1, "Q2?", "S2.", "entailment")),
        )
        write(root / f"{task}/dev.tsv", tsv(cols, (0, "Q3?", "S3.", "entailment")))
    wnli = ("index", "sentence1", "sentence2", "label")
    write(root / "WNLI/train.tsv", tsv(wnli, (0, "It fell.", "The cup fell.", 1)))
    write(root / "WNLI/dev.tsv", tsv(wnli, (0, "It broke.", "The cup broke.", 0)))
    return root  # fmt: skip


def test_glue_layout_loader_reads_every_task(tmp_path):
    root = make_glue_dir(tmp_path / "glue_data")
    cola = load_task("cola", data_dir=root)
    assert cola["train"]["sentence"] == ['He said "hi.', "Him went."]
    assert cola["train"]["label"] == [1, 0]
    assert cola["validation"]["label"] == [1, 0] and cola["validation"]["sentence"][1] == "Left she the."
    assert cola["train"].features["label"].names == ["unacceptable", "acceptable"]
    assert load_task("sst2", data_dir=root)["train"]["sentence"] == ["a good film ", '" bad']
    mrpc = load_task("mrpc", data_dir=root)
    assert mrpc["train"].column_names == ["sentence1", "sentence2", "label", "idx"]
    assert mrpc["train"][0] == {
        "sentence1": 'He said " yes',
        "sentence2": "He agreed .",
        "label": 1,
        "idx": 0,
    }
    assert load_task("qqp", data_dir=root)["validation"][0] == {
        "question1": "Why?",
        "question2": "When?",
        "label": 0,
        "idx": 0,
    }
    sts = load_task("stsb", data_dir=root)
    assert sts["train"][0]["sentence2"] == "A guy." and sts["train"][0]["label"] == pytest.approx(4.75)
    assert sts["train"].features["label"].dtype == "float32"
    mnli = load_task("mnli", data_dir=root)
    assert set(mnli) == {"train", "validation_matched", "validation_mismatched"}
    assert mnli["train"]["label"] == [1]  # neutral
    assert mnli["validation_matched"]["label"] == [0] and mnli["validation_mismatched"]["label"] == [2]
    assert load_task("qnli", data_dir=root)["train"]["label"] == [1, 0]  # not_entailment=1, entailment=0
    rte = load_task("rte", data_dir=root)["validation"][0]
    assert (rte["sentence1"], rte["sentence2"], rte["label"]) == ("Q3?", "S3.", 0)
    assert load_task("wnli", data_dir=root)["train"]["label"] == [1]
    # The task folder itself works as --data-dir too, and only the requested splits are read.
    assert load_task("cola", data_dir=root / "CoLA", splits=["validation"])["validation"].num_rows == 2


def test_synthetic_tasks_load_through_the_glue_layout(tmp_path):
    write(
        tmp_path / "SYN-CoLA/train.tsv", tsv(("syn", 1, "", "the dog runs"), ("syn", 0, "*", "the dog run"))
    )
    write(tmp_path / "SYN-CoLA/dev.tsv", tsv(("syn", 0, "*", "the dogs runs")))
    sts = STSB_COLUMNS
    write(
        tmp_path / "SYN-STS/train.tsv", tsv(sts, (0, "syn", "syn", "syn", 0, "s", "s", "a b", "a c", "2.5"))
    )
    write(tmp_path / "SYN-STS/dev.tsv", tsv(sts, (0, "syn", "syn", "syn", 0, "s", "s", "a b", "a b", "5")))
    cola = load_task("syn-cola", data_dir=tmp_path)
    assert cola["train"]["label"] == [1, 0] and cola["validation"]["sentence"] == ["the dogs runs"]
    assert load_task("syn-sts", data_dir=tmp_path)["validation"]["label"] == [5.0]
    with pytest.raises(ValueError, match="not on the Hub"):
        load_task("syn-sst")


def test_glue_layout_errors_name_file_line_and_column(tmp_path):
    root = make_glue_dir(tmp_path / "g")
    with pytest.raises(FileNotFoundError, match=r"QNLI.*train\.tsv"):
        (root / "QNLI/train.tsv").unlink()
        load_task("qnli", data_dir=root)
    with pytest.raises(FileNotFoundError, match="no CoLA/ folder"):
        load_task("cola", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        load_task("cola", data_dir=tmp_path / "missing")
    with pytest.raises(GlueDataError, match="no split 'test'"):
        load_task("cola", data_dir=root, splits=["test"])
    write(root / "SST-2/dev.tsv", tsv(("text", "label"), ("x", 1)))
    with pytest.raises(GlueDataError, match=r"SST-2/dev\.tsv.*column 'sentence'.*text, label"):
        load_task("sst2", data_dir=root)
    write(root / "SST-2/dev.tsv", tsv(("sentence", "label"), ("ok", 1), ("bad", 2)))
    with pytest.raises(GlueDataError, match=r"dev\.tsv:3.*label '2' is outside the label set"):
        load_task("sst2", data_dir=root)
    write(
        root / "MNLI/dev_matched.tsv",
        (root / "MNLI/dev_matched.tsv").read_text().replace("entailment\n", "maybe\n"),
    )
    with pytest.raises(GlueDataError, match=r"dev_matched\.tsv:2.*'gold_label'.*'maybe'"):
        load_task("mnli", data_dir=root)
    sts = (root / "STS-B/dev.tsv").read_text().replace("\t0.5\n", "\tn/a\n")
    write(root / "STS-B/dev.tsv", sts)
    with pytest.raises(GlueDataError, match=r"STS-B/dev\.tsv:2.*'score'.*'n/a' is not a number"):
        load_task("stsb", data_dir=root)
    write(root / "CoLA/dev.tsv", "gj04\t1\n")
    with pytest.raises(GlueDataError, match=r"CoLA/dev\.tsv:1: expected at least 4"):
        load_task("cola", data_dir=root)


# ------------------------------------------------------------------------------------------------------ the Hub


def fake_hub_glue(config):
    feats = datasets.Features(
        {
            "premise": datasets.Value("string"),
            "hypothesis": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
            "idx": datasets.Value("int32"),
        }
    )

    def split(n, label):
        return datasets.Dataset.from_dict(
            {
                "premise": [f"p{i}" for i in range(n)],
                "hypothesis": ["h"] * n,
                "label": [label] * n,
                "idx": list(range(n)),
            },
            features=feats,
        )

    return datasets.DatasetDict(
        {
            "train": split(3, 1),
            "validation_matched": split(2, 0),
            "validation_mismatched": split(1, 2),
            "test_matched": split(1, -1),
        }
    )


def test_hub_loader_keeps_the_hubs_columns(monkeypatch):
    calls = []

    def load_dataset(path, name=None, **kwargs):
        calls.append((path, name))
        return fake_hub_glue(name)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    mnli = load_task("mnli")
    assert calls == [("nyu-mll/glue", "mnli")]
    assert set(mnli) == {
        "train",
        "validation_matched",
        "validation_mismatched",
    }  # test split (no labels) left out
    assert mnli["train"].column_names == ["premise", "hypothesis", "label", "idx"]
    assert mnli["train"][0] == {"premise": "p0", "hypothesis": "h", "label": 1, "idx": 0}
    with pytest.raises(GlueDataError, match="no split 'validation'.*train"):
        load_task("mnli", splits=["validation"])
    with pytest.raises(GlueDataError, match="lacks column.*question1"):
        load_task("qqp")


# ------------------------------------------------------------------------------------------------- own tasks


def test_own_task_from_csv_tsv_jsonl(tmp_path):
    write(tmp_path / "train.csv", 'text,label\n"good, really",pos\nbad,neg\n"say ""hi""",pos\n')
    write(tmp_path / "dev.tsv", 'text\tlabel\n" quoted\tneg\n')
    write(tmp_path / "dev.jsonl", json.dumps({"text": "fine", "label": "pos"}) + "\n\n")
    spec = TaskSpec.custom("mine", "text")
    dsd = load_files(spec, {"train": tmp_path / "train.csv", "validation": tmp_path / "dev.tsv"})
    assert dsd["train"]["text"] == ["good, really", "bad", 'say "hi"']
    assert dsd["train"].features["label"].names == ["neg", "pos"]  # sorted label set from train
    assert dsd["train"]["label"] == [1, 0, 1] and dsd["validation"]["text"] == ['" quoted']
    assert glue.task_spec_of(dsd, spec).labels == ("neg", "pos")
    assert load_task(
        spec, data_files={"train": tmp_path / "train.csv", "validation": tmp_path / "dev.jsonl"}
    )["validation"]["label"] == [1]
    # Pairs, fixed label set (its order gives the ids), integer labels, regression.
    write(tmp_path / "pairs.jsonl", "".join(json.dumps({"a": "x", "b": "y", "y": y}) + "\n" for y in (2, 10)))
    pairs = TaskSpec.custom("p", ["a", "b"], label_column="y")
    assert load_files(pairs, {"train": tmp_path / "pairs.jsonl"})["train"].features["label"].names == [
        "2",
        "10",
    ]
    fixed = TaskSpec.custom("p", "a,b", label_column="y", labels=["10", "2"])
    assert load_files(fixed, {"train": tmp_path / "pairs.jsonl"})["train"]["label"] == [1, 0]
    reg = TaskSpec.custom("r", ["a", "b"], label_column="y", regression=True)
    assert reg.metrics == ("pearson", "spearmanr") and reg.main_metric == "spearmanr"
    assert load_files(reg, {"train": tmp_path / "pairs.jsonl"})["train"]["label"] == [2.0, 10.0]


def test_own_task_errors(tmp_path):
    write(tmp_path / "train.csv", "text,label\na,pos\nb,neg\n")
    write(tmp_path / "dev.csv", "text,label\nc,maybe\n")
    spec = TaskSpec.custom("mine", "text")
    with pytest.raises(GlueDataError, match=r"dev\.csv:2.*'label'.*'maybe' is outside the label set"):
        load_files(spec, {"train": tmp_path / "train.csv", "validation": tmp_path / "dev.csv"})
    with pytest.raises(GlueDataError, match=r"train\.csv.*needs column\(s\) 'sentence'.*text, label"):
        load_files(TaskSpec.custom("mine", "sentence"), {"train": tmp_path / "train.csv"})
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_files(spec, {"train": tmp_path / "nope.csv"})
    with pytest.raises(GlueDataError, match="no file for split 'validation'"):
        load_files(spec, {"train": tmp_path / "train.csv"}, splits=["train", "validation"])
    with pytest.raises(GlueDataError, match=r"train\.csv:2.*'label'.*'pos' is not a number"):
        load_files(TaskSpec.custom("r", "text", regression=True), {"train": tmp_path / "train.csv"})
    write(tmp_path / "bad.jsonl", "{not json}\n")
    with pytest.raises(GlueDataError, match=r"bad\.jsonl:1"):
        load_files(spec, {"train": tmp_path / "bad.jsonl"})
    with pytest.raises(ValueError, match="one or two columns"):
        TaskSpec.custom("x", ["a", "b", "c"])
    with pytest.raises(ValueError, match="unknown metric set"):
        TaskSpec.custom("x", "a", metric_set="bleu")


# ------------------------------------------------------------------------------------- the Hub's column names

# What nyu-mll/glue on the Hub calls each task's columns (run_glue's task_to_keys, plus label and idx).
HUB_COLUMNS = {
    "cola": ["sentence", "label", "idx"],
    "sst2": ["sentence", "label", "idx"],
    "mrpc": ["sentence1", "sentence2", "label", "idx"],
    "qqp": ["question1", "question2", "label", "idx"],
    "stsb": ["sentence1", "sentence2", "label", "idx"],
    "mnli": ["premise", "hypothesis", "label", "idx"],
    "qnli": ["question", "sentence", "label", "idx"],
    "rte": ["sentence1", "sentence2", "label", "idx"],
    "wnli": ["sentence1", "sentence2", "label", "idx"],
}
# run_glue.py's lookup, as users copy it into their own code.
TASK_TO_KEYS = {
    "cola": ("sentence", None),
    "mnli": ("premise", "hypothesis"),
    "mrpc": ("sentence1", "sentence2"),
    "qnli": ("question", "sentence"),
    "qqp": ("question1", "question2"),
    "rte": ("sentence1", "sentence2"),
    "sst2": ("sentence", None),
    "stsb": ("sentence1", "sentence2"),
    "wnli": ("sentence1", "sentence2"),
}


def test_every_glue_task_keeps_the_hubs_column_names(tmp_path):
    root = make_glue_dir(tmp_path / "glue_data")
    for name, columns in HUB_COLUMNS.items():
        dsd = load_task(name, data_dir=root)
        for split, ds in dsd.items():
            assert ds.column_names == columns, (name, split)
            assert ds["idx"] == list(range(ds.num_rows)), (name, split)
        assert list(TASKS[name].input_columns) == columns[:-2], name
    # Values land in the right column: MNLI's sentence1/sentence2 TSV columns are the premise/hypothesis.
    mnli = load_task("mnli", data_dir=root)["train"][0]
    assert (mnli["premise"], mnli["hypothesis"], mnli["label"], mnli["idx"]) == ("P1", "H1", 1, 0)
    assert load_task("qnli", data_dir=root)["validation"][0]["question"] == "Q3?"


def test_run_glue_style_preprocessing_works_unchanged(tmp_path):
    """The preprocessing function of run_glue-style scripts, written for nyu-mll/glue, runs on textssl's data."""
    from textssl.tokenization import load_tokenizer

    tokenizer = load_tokenizer("wordpiece")
    root = make_glue_dir(tmp_path / "glue_data")
    for name, (key1, key2) in TASK_TO_KEYS.items():
        raw = load_task(name, data_dir=root)

        def preprocess(examples, key1=key1, key2=key2):
            args = (examples[key1],) if key2 is None else (examples[key1], examples[key2])
            return tokenizer(*args, truncation=True, max_length=32)

        encoded = raw.map(preprocess, batched=True)
        for ds in encoded.values():
            assert {"input_ids", "label", "idx"} <= set(ds.column_names), name
            assert all(len(ids) > 2 for ids in ds["input_ids"]), name


def test_synthetic_and_hub_sources_use_the_same_names(tmp_path, monkeypatch):
    from textssl.data.synthetic import write_tasks

    write_tasks(tmp_path, seed=0, train_size=8, dev_size=4)
    expect = {"syn-cola": "cola", "syn-sst": "sst2", "syn-mrpc": "mrpc", "syn-sts": "stsb"}
    for name, like in expect.items():
        dsd = load_task(name, data_dir=tmp_path)
        assert dsd["train"].column_names == HUB_COLUMNS[like], name
        assert dsd["train"].num_rows == 8 and dsd["validation"]["idx"] == [0, 1, 2, 3]

    monkeypatch.setattr(datasets, "load_dataset", lambda path, name=None, **kw: fake_hub_glue(name))
    mnli = load_task("mnli")
    assert mnli["train"].column_names == HUB_COLUMNS["mnli"]
    assert mnli["train"][1] == {"premise": "p1", "hypothesis": "h", "label": 1, "idx": 1}


def test_own_tasks_keep_their_own_column_names(tmp_path):
    write(
        tmp_path / "train.jsonl",
        "".join(json.dumps({"q": f"q{i}", "a": "x", "y": i % 2}) + "\n" for i in range(3)),
    )
    spec = TaskSpec.custom("qa", ["q", "a"], label_column="y")
    assert spec.input_columns == ("q", "a")
    ds = load_files(spec, {"train": tmp_path / "train.jsonl"})["train"]
    assert ds.column_names == ["q", "a", "label", "idx"] and ds["q"] == ["q0", "q1", "q2"]
    with pytest.raises(ValueError, match="text column 'label'"):
        TaskSpec.custom("bad", ["label"], label_column="y")
