"""The catalogue in docs/errors.md, section "Commands, files and the Hub": one test per entry.

Each test runs the CLI in-process (``textssl.cli.main``) with one bad input and checks what a user sees: exit code
2, exactly one line on stderr starting ``textssl CMD: error:``, no traceback, the message naming what is wrong,
and every file that existed before byte-for-byte unchanged (nothing deleted, nothing half-written). The Hub is
never contacted: offline mode is on (``HF_HUB_OFFLINE``), and the tests that need an HTTP answer use a local
server; any other connection fails the test.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import textssl
from textssl.cli import main

WORDS = {1: "good great fine lovely".split(), 0: "bad awful poor dull".split()}
FILLER = "the movie was a plot film story".split()
FAST = ["--epochs", "1", "--batch-size", "8", "--max-length", "16", "--no-progress"]


# ----------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def no_network(monkeypatch, loopback_only):
    """Offline mode on, and any connection that is not to loopback fails the test."""
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


pytestmark = pytest.mark.usefixtures("one_thread")


def _tsv(path: Path, rows, header=("sentence", "label")) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (["\t".join(header)] if header else []) + ["\t".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A pretraining-run-like folder ``run/`` (``model/`` + ``log.jsonl``) and a GLUE dir with SST-2."""
    import transformers as tf

    base = tmp_path_factory.mktemp("errors")
    tok = textssl.load_tokenizer("wordpiece")
    config = tf.BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=32, pad_token_id=tok.pad_token_id)  # fmt: skip
    model = base / "run" / "model"
    tf.BertForMaskedLM(config).save_pretrained(model)
    tok.save_pretrained(model)
    (base / "run" / "log.jsonl").write_text('{"step": 1, "loss": 9.7}\n')
    rng = random.Random(0)
    for split, n in (("train", 16), ("dev", 8)):
        rows = []
        for i in range(n):
            words = [rng.choice(FILLER) for _ in range(3)] + [rng.choice(WORDS[i % 2])]
            rows.append((" ".join(words), i % 2))
        _tsv(base / "glue" / "SST-2" / f"{split}.tsv", rows)
    return base


@pytest.fixture
def model(root) -> Path:
    return root / "run" / "model"


@pytest.fixture
def glue(root) -> Path:
    return root / "glue"


def snapshot(*dirs: Path) -> dict[str, str]:
    """Every file (hidden ones too) under ``dirs`` -> its SHA-256."""
    out = {}
    for d in dirs:
        for p in sorted(d.rglob("*")) if d.exists() else []:
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def fails(capsys, argv: list[str], *fragments: str, untouched: tuple[Path, ...] = ()) -> str:
    """Run ``textssl ARGV``; assert exit 2, one line ``textssl CMD: error: ...`` holding every fragment, no
    traceback, and the files under ``untouched`` unchanged. Returns the line."""
    capsys.readouterr()
    before = snapshot(*untouched)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"textssl {argv[0]}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert snapshot(*untouched) == before, "files changed although the command failed"
    return lines[0]


def finetune_argv(model: Path, glue: Path, *extra: str) -> list[str]:
    return ["finetune", "--model", str(model), "--task", "sst2", "--data-dir", str(glue), *FAST, *extra]


# ------------------------------------------------------------------------------------------ output folders


def test_finetune_output_holding_the_model(capsys, root, model, glue):
    # the reported case: --output is the run folder that holds the input model (and its log)
    for extra in ([], ["--overwrite"]):
        fails(capsys, finetune_argv(model, glue, "--output", str(root / "run"), *extra),
              "--output", "contains the input --model", "--overwrite does not change this",
              untouched=(root,))  # fmt: skip
    fails(capsys, finetune_argv(model, glue, "--output", str(model), "--overwrite"), "is the input --model",
          untouched=(root,))  # fmt: skip


def test_finetune_output_inside_the_model(capsys, root, model, glue):
    fails(capsys, finetune_argv(model, glue, "--output", str(model / "finetuned"), "--overwrite"),
          "lies inside the input --model", untouched=(root,))  # fmt: skip
    assert not (model / "finetuned").exists()


def test_finetune_output_is_the_data(capsys, root, model, glue):
    fails(capsys, finetune_argv(model, glue, "--output", str(glue), "--overwrite"), "is the input --data-dir",
          untouched=(root,))  # fmt: skip


def test_finetune_output_not_empty(capsys, root, model, glue, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    fails(capsys, finetune_argv(model, glue, "--output", str(out)), "directory exists and is not empty",
          "notes.txt", "pass --overwrite", untouched=(root, tmp_path))  # fmt: skip
    # --overwrite replaces the whole directory with the finetuned model (documented), and only then
    assert main(finetune_argv(model, glue, "--output", str(out), "--overwrite")) == 0
    assert (out / "config.json").is_file() and (out / "finetune_results.json").is_file()
    assert not (out / "notes.txt").exists()


def test_glue_output_holding_the_model(capsys, root, model, glue):
    argv = ["glue", "--model", str(model), "--tasks", "sst2", "--seeds", "1", "--data-dir", str(glue), *FAST]
    fails(capsys, [*argv, "--output", str(root / "run"), "--overwrite"], "contains the input --model",
          untouched=(root,))  # fmt: skip


def test_glue_output_not_empty(capsys, root, model, glue, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "results.md").write_text("an old report")
    argv = ["glue", "--model", str(model), "--tasks", "sst2", "--seeds", "1", "--data-dir", str(glue), *FAST]
    fails(capsys, [*argv, "--output", str(out)], "not empty", untouched=(root, tmp_path))
    # --overwrite replaces glue's own three files and leaves everything else alone
    assert main([*argv, "--output", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "my notes"
    assert "sst2" in (out / "results.md").read_text()
    assert json.loads((out / "results.json").read_text())["tasks"]["sst2"]
    assert (out / "results.png").is_file()


@pytest.fixture
def corpus(tmp_path) -> Path:
    from textssl.data.synthetic import generate_corpus

    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(generate_corpus(100, seed=0)), encoding="utf-8")
    return path


def test_tokenizer_output_not_empty(capsys, tmp_path, corpus):
    out = tmp_path / "tok"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    argv = ["tokenizer", "train", "--input", str(corpus), "--kind", "wordpiece", "--vocab-size", "300"]
    fails(capsys, [*argv, "--output", str(out)], "not empty", "mine.txt", untouched=(tmp_path,))
    assert main([*argv, "--output", str(out), "--overwrite"]) == 0  # the whole directory is replaced
    assert (out / "tokenizer.json").is_file() and not (out / "mine.txt").exists()


def test_tokenizer_output_is_a_file(capsys, tmp_path, corpus):
    argv = ["tokenizer", "train", "--input", str(corpus), "--kind", "bpe", "--vocab-size", "300"]
    for extra in ([], ["--overwrite"]):
        fails(capsys, [*argv, "--output", str(corpus), *extra], "exists and is a file", untouched=(tmp_path,))
    assert corpus.is_file()


def test_tokenizer_output_holding_its_input(capsys, tmp_path, corpus):
    argv = ["tokenizer", "train", "--input", str(corpus), "--kind", "bpe", "--vocab-size", "300"]
    fails(capsys, [*argv, "--output", str(tmp_path), "--overwrite"], "contains the input --input",
          untouched=(tmp_path,))  # fmt: skip


def test_output_under_a_file(capsys, root, model, glue, tmp_path, corpus):
    # checked before training: the finetuned model would otherwise be lost at the end
    fails(capsys, finetune_argv(model, glue, "--output", str(corpus / "ft")), "is a file, so the directory cannot",
          untouched=(root, tmp_path))  # fmt: skip


def test_data_synthetic_output_not_empty(capsys, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    fails(capsys, ["data", "synthetic", "--output", str(tmp_path), "--docs", "10"], "not empty",
          "pass --overwrite", untouched=(tmp_path,))  # fmt: skip


def test_data_prepare_output_holding_its_input(capsys, tmp_path, corpus):
    argv = ["data", "prepare", "--input", str(corpus), "--tokenizer", "wordpiece", "--max-length", "16"]
    for extra in ([], ["--overwrite"]):
        fails(capsys, [*argv, "--output", str(tmp_path), *extra], "contains the input --input",
              untouched=(tmp_path,))  # fmt: skip


def test_quickstart_output_not_its_own(capsys, tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    fails(capsys, ["quickstart", "--output", str(tmp_path), "--steps", "1"], "not empty", "thesis.tex",
          untouched=(tmp_path,))  # fmt: skip


def test_quickstart_reruns_into_its_own_output(tmp_path):
    from textssl.commands.quickstart import MARKER, SUBDIRS, prepare_output

    out = tmp_path / "qs"
    prepare_output(str(out))  # a first run claims the directory
    assert (out / MARKER).is_file()
    for name in SUBDIRS:
        (out / name).mkdir()
        (out / name / "old.txt").write_text("from the first run")
    (out / "notes.txt").write_text("mine")
    prepare_output(str(out))  # a rerun: no --overwrite needed, its own folders are cleared, nothing else
    assert not any((out / name).exists() for name in SUBDIRS)
    assert (out / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------------------------- the Hub


@pytest.fixture
def card_model(tmp_path, model) -> Path:
    """A copy of the tiny model with a model card, for push tests (README.md must stay as it is)."""
    import shutil

    folder = tmp_path / "to_push"
    shutil.copytree(model, folder)
    (folder / "README.md").write_text("# my card\n")
    return folder


def test_push_offline(capsys, monkeypatch, card_model, tmp_path):
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET_token_value")
    line = fails(capsys, ["push", str(card_model), "--repo-id", "me/tiny"], "the Hugging Face Hub is unreachable",
                 "offline", "unset HF_HUB_OFFLINE", untouched=(tmp_path,))  # fmt: skip
    assert "SECRET" not in line


def test_push_offline_with_results_writes_no_card(capsys, card_model, tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(GOOD_RESULTS))
    fails(capsys, ["push", str(card_model), "--repo-id", "me/tiny", "--glue-results", str(results)],
          "Hub is unreachable", untouched=(tmp_path,))  # fmt: skip


class _Refuse(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.dumps({"error": "Invalid credentials in Authorization header"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def online(monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET_token_value")
    return constants


def test_push_token_refused(capsys, monkeypatch, online, card_model, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(online, "ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        line = fails(capsys, ["push", str(card_model), "--repo-id", "me/tiny"], "the Hugging Face Hub refused",
                     "HTTP 401", "HF_TOKEN", untouched=(tmp_path,))  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert "SECRET" not in line


def test_push_no_network(capsys, monkeypatch, online, card_model, tmp_path):
    with socket.socket() as s:  # a local port nobody listens on: "connection refused", as with no network
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(online, "ENDPOINT", f"http://127.0.0.1:{port}")
    line = fails(capsys, ["push", str(card_model), "--repo-id", "me/tiny"], "the Hugging Face Hub is unreachable",
                 "could not create the repository me/tiny", untouched=(tmp_path,))  # fmt: skip
    assert "SECRET" not in line


GOOD_RESULTS = {
    "model": "m",
    "baseline": None,
    "seeds": [0],
    "data": "glue_data",
    "selection": "best dev epoch",
    "protocol": {
        "learning_rate": 3e-4,
        "batch_size": 32,
        "epochs": 5,
        "warmup_ratio": 0.1,
        "max_length": 128,
    },
    "tasks": {
        "sst2": {
            "main_metric": "accuracy",
            "majority": {"accuracy": 0.5},
            "summary": {
                "pretrained": {
                    "median": 0.8,
                    "min": 0.8,
                    "max": 0.8,
                    "scores": [0.8],
                    "metrics": {"accuracy": 0.8},
                    "last_epoch_median": 0.8,
                }  # fmt: skip
            },
        }
    },
}


@pytest.mark.parametrize(
    "drop, message",
    [
        (("selection",), "missing key 'selection'"),
        (("protocol", "max_length"), "missing key 'protocol.max_length'"),
        (
            ("tasks", "sst2", "summary", "pretrained", "median"),
            "missing key 'tasks.sst2.summary.pretrained.median'",
        ),
    ],
)
def test_push_results_incomplete(capsys, card_model, tmp_path, drop, message):
    results = json.loads(json.dumps(GOOD_RESULTS))
    parent = results
    for key in drop[:-1]:
        parent = parent[key]
    del parent[drop[-1]]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    fails(capsys, ["push", str(card_model), "--repo-id", "me/tiny", "--glue-results", str(path)],
          "--glue-results", message, untouched=(tmp_path,))  # fmt: skip


def test_push_results_not_json(capsys, card_model, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(GOOD_RESULTS)[:100])  # cut short
    fails(capsys, ["push", str(card_model), "--repo-id", "me/tiny", "--glue-results", str(path)],
          "not valid JSON (line 1", untouched=(tmp_path,))  # fmt: skip


def test_hub_task_offline(capsys, root, model):
    argv = ["finetune", "--model", str(model), "--task", "sst2", *FAST]
    fails(capsys, argv, "the Hugging Face Hub is unreachable", "could not download the task 'sst2'", "--data-dir",
          untouched=(root,))  # fmt: skip


def test_hub_model_offline(capsys, root, glue):
    argv = [
        "finetune",
        "--model",
        "someone/bert-that-is-not-cached",
        "--task",
        "sst2",
        "--data-dir",
        str(glue),
    ]
    fails(capsys, [*argv, *FAST], "the Hugging Face Hub is unreachable",
          "could not download the model 'someone/bert-that-is-not-cached'", untouched=(root,))  # fmt: skip


def test_hub_tokenizer_offline(capsys, tmp_path):
    fails(capsys, ["corrupt", "--strategy", "token_masking", "--tokenizer", "someone/tok", "Some text."],
          "Hub is unreachable", "could not download the tokenizer 'someone/tok'", "wordpiece, bpe, unigram")  # fmt: skip


# ---------------------------------------------------------------------------------------------- tokenizers


@pytest.mark.parametrize("name", ["/no/such/tokenizer", "./no_such_tokenizer", "runs/x/no_tok"])
def test_tokenizer_path_missing(capsys, tmp_path, corpus, name):
    argv = ["data", "prepare", "--input", str(corpus), "--tokenizer", name, "--max-length", "16"]
    line = fails(capsys, [*argv, "--output", str(tmp_path / "out")], f"tokenizer {name}: no such directory",
                 "wordpiece, bpe, unigram", untouched=(tmp_path,))  # fmt: skip
    assert "Repo id" not in line
    assert not (tmp_path / "out").exists()


def test_tokenizer_path_is_a_file(capsys, tmp_path, corpus):
    fails(capsys, ["corrupt", "--strategy", "token_masking", "--tokenizer", str(corpus), "Some text."],
          "is a file; a tokenizer is a directory", untouched=(tmp_path,))  # fmt: skip


def test_tokenizer_dir_without_tokenizer(capsys, root, model, glue, tmp_path):
    empty = tmp_path / "empty_tok"
    empty.mkdir()
    fails(capsys, finetune_argv(model, glue, "--tokenizer", str(empty)), "the directory has no tokenizer files",
          untouched=(root, tmp_path))  # fmt: skip


# ------------------------------------------------------------------------------------- finetune's inputs


@pytest.fixture
def own(tmp_path) -> dict[str, Path]:
    rows = ["text,label"] + [f"word{i} thing,{('one', 'two', 'three')[i % 3]}" for i in range(12)]
    for split in ("train", "dev"):
        (tmp_path / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return {"train": tmp_path / "train.csv", "dev": tmp_path / "dev.csv"}


def own_argv(model: Path, own: dict[str, Path], *extra: str) -> list[str]:
    return ["finetune", "--model", str(model), "--train-file", str(own["train"]), "--validation-file",
            str(own["dev"]), "--text-column", "text", *FAST, *extra]  # fmt: skip


@pytest.mark.parametrize("labels", [["--labels", "one,two,three"], []])
def test_f1_needs_two_labels(capsys, root, model, own, tmp_path, labels):
    # checked before any training (it used to fail in scikit-learn after the first epoch)
    fails(capsys, own_argv(model, own, *labels, "--metric", "accuracy_f1"),
          "metric set 'accuracy_f1' needs exactly 2 labels", "the task has 3", "--metric accuracy",
          untouched=(root, tmp_path))  # fmt: skip
    assert "epoch" not in capsys.readouterr().out


def test_pearson_needs_regression(capsys, root, model, own, tmp_path):
    fails(capsys, own_argv(model, own, "--metric", "pearson_spearman"),
          "metric set 'pearson_spearman' does not fit a classification task", "pass --regression", untouched=(root, tmp_path))  # fmt: skip


def test_single_label(capsys, root, model, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\nfoo bar,yes\nbar baz,yes\n")
    fails(capsys, own_argv(model, {"train": path, "dev": path}), "has a single label (yes)",
          untouched=(root, tmp_path))  # fmt: skip


def test_model_is_a_file(capsys, root, glue, tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights?")
    fails(capsys, finetune_argv(path, glue), f"--model {path}: is a file", untouched=(root, tmp_path))


def test_model_dir_without_config(capsys, root, glue, tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    fails(capsys, finetune_argv(tmp_path, glue), "has no config.json", untouched=(root, tmp_path))


def _damaged_copy(model: Path, tmp_path: Path, name: str, data: bytes) -> Path:
    import shutil

    copy = tmp_path / "damaged"
    shutil.copytree(model, copy)
    (copy / name).write_bytes(data)
    return copy


def test_model_config_damaged(capsys, root, model, glue, tmp_path):
    copy = _damaged_copy(model, tmp_path, "config.json", (model / "config.json").read_bytes()[:40])
    fails(capsys, finetune_argv(copy, glue), "config.json is not readable JSON", untouched=(root, tmp_path))


@pytest.mark.parametrize("cut", ["half", "header"])
def test_model_weights_damaged(capsys, root, model, glue, tmp_path, cut):
    data = (model / "model.safetensors").read_bytes()
    copy = _damaged_copy(
        model, tmp_path, "model.safetensors", data[: len(data) // 2] if cut == "half" else data[:5]
    )
    fails(capsys, finetune_argv(copy, glue), "cannot read the weights file", "model.safetensors",
          untouched=(root, tmp_path))  # fmt: skip


# ------------------------------------------------------------------------------------------ GLUE files


def _glue_copy(glue: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "glue"
    shutil.copytree(glue, copy)
    return copy


def _edit(path: Path, line: int, new: str | None) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    if new is None:
        del lines[line]
    else:
        lines[line] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no_dev", "dev.tsv, which does not exist"),
        ("header", "needs column 'label'; the header has sentence, lbl"),
        ("short_row", "train.tsv:3: expected at least 2 tab-separated fields"),
        ("bad_label", "train.tsv:3: task 'sst2' column 'label': label '7' is outside the label set"),
        ("not_utf8", "train.tsv:4: not UTF-8 text"),
        ("header_only", "dev.tsv: split 'validation' of task 'sst2' has no examples"),
        ("empty", "train.tsv: the file is empty"),
    ],
)
def test_glue_file_damaged(capsys, root, model, glue, tmp_path, damage, message):
    data = _glue_copy(glue, tmp_path)
    train, dev = data / "SST-2" / "train.tsv", data / "SST-2" / "dev.tsv"
    if damage == "no_dev":
        dev.unlink()
    elif damage == "header":
        _edit(train, 0, "sentence\tlbl")
    elif damage == "short_row":
        _edit(train, 2, "only a sentence")
    elif damage == "bad_label":
        _edit(train, 2, "good movie\t7")
    elif damage == "not_utf8":
        lines = train.read_bytes().split(b"\n")
        lines.insert(3, b"\xff\xfe bad\t1")  # line 4
        train.write_bytes(b"\n".join(lines))
    elif damage == "header_only":
        dev.write_text("sentence\tlabel\n")
    else:
        train.write_text("")
    fails(capsys, finetune_argv(model, data), message, untouched=(root, tmp_path))


def test_glue_suite_task_missing(capsys, root, model, glue, tmp_path):
    # every task's files are checked before the first task trains
    argv = [
        "glue",
        "--model",
        str(model),
        "--tasks",
        "sst2,cola",
        "--seeds",
        "1",
        "--data-dir",
        str(glue),
        *FAST,
    ]
    fails(capsys, [*argv, "--output", str(tmp_path / "out")], "task 'cola':", "has no CoLA/ folder",
          untouched=(root, tmp_path))  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_own_jsonl_not_json(capsys, root, model, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a b", "label": "x"}\n{"text": "c d", "label": \n')
    fails(capsys, own_argv(model, {"train": path, "dev": path}), "train.jsonl:2: not a JSON object per line",
          untouched=(root, tmp_path))  # fmt: skip


@pytest.mark.parametrize(
    "text, message",
    [
        ("lr: [1\n  x: :\n", "line 2, column 4: not valid YAML"),
        ("task_overrides:\n  sst2: 5\n", "task_overrides must map task names to options"),
        ("seeds: [a]\n", "seeds must be a count (3) or a list of integers"),
    ],
)
def test_protocol_yaml_bad(capsys, root, model, glue, tmp_path, text, message):
    config = tmp_path / "protocol.yaml"
    config.write_text(text)
    argv = [
        "glue",
        "--model",
        str(model),
        "--tasks",
        "sst2",
        "--data-dir",
        str(glue),
        "--config",
        str(config),
    ]
    fails(capsys, [*argv, "--output", str(tmp_path / "out")], f"--config {config}", message,
          untouched=(root, tmp_path))  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_finetune_push_offline_before_training(capsys, root, model, glue, tmp_path):
    argv = finetune_argv(model, glue, "--output", str(tmp_path / "ft"), "--push-to-hub", "me/tiny-sst2")
    fails(
        capsys, argv, "the Hugging Face Hub is unreachable", "drop --push-to-hub", untouched=(root, tmp_path)
    )
    assert not (tmp_path / "ft").exists()  # refused before any training


# ------------------------------------------------------------------------------------------ other options


def test_corrupt_negative_step(capsys):
    fails(
        capsys,
        ["corrupt", "--strategy", "token_masking", "--step", "-1", "Some text."],
        "--step must be >= 0",
    )


def test_corrupt_text_is_a_directory(capsys, tmp_path):
    fails(
        capsys,
        ["corrupt", "--strategy", "token_masking", str(tmp_path)],
        "is a directory",
        untouched=(tmp_path,),
    )


def test_tokenizer_max_length(capsys, tmp_path, corpus):
    argv = ["tokenizer", "train", "--input", str(corpus), "--kind", "bpe", "--max-length", "0"]
    fails(
        capsys, [*argv, "--output", str(tmp_path / "tok")], "--max-length must be >= 1", untouched=(tmp_path,)
    )
    assert not (tmp_path / "tok").exists()


def test_prepare_cache_dir_is_a_file(capsys, tmp_path, corpus):
    argv = ["data", "prepare", "--input", str(corpus), "--tokenizer", "wordpiece", "--max-length", "16"]
    fails(capsys, [*argv, "--output", str(tmp_path / "out"), "--cache-dir", str(corpus)], "--cache-dir",
          "is a file", untouched=(tmp_path,))  # fmt: skip


def test_synthetic_negative_valid_docs(capsys, tmp_path):
    fails(capsys, ["data", "synthetic", "--output", str(tmp_path / "s"), "--valid-docs", "-1"],
          "--valid-docs must be >= 0")  # fmt: skip
    assert not (tmp_path / "s").exists()
