"""Model cards and pushing to a fake Hub on loopback (the real Hub is never contacted)."""

from __future__ import annotations

import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from textssl.cli import main as cli
from textssl.hub import build_model_card, push_to_hub, run_name, write_model_card

TOKEN = "hf_testTOKEN_do_not_print_1234567890"

GLUE_RESULTS = {
    "model": "runs/tiny",
    "baseline": "random-init",
    "seeds": [0, 1, 2],
    "data": "glue_data",
    "protocol": {
        "learning_rate": 1e-4,
        "batch_size": 32,
        "epochs": 5,
        "warmup_ratio": 0.1,
        "max_length": 128,
    },
    "task_overrides": {},
    "selection": "best dev epoch",
    "seconds": 12.0,
    "tasks": {
        "cola": {
            "task": "cola",
            "main_metric": "matthews_correlation",
            "majority": {"matthews_correlation": 0.0},
            "summary": {
                "pretrained": {
                    "median": 0.2,
                    "min": 0.1,
                    "max": 0.25,
                    "scores": [0.1, 0.2, 0.25],
                    "metrics": {"matthews_correlation": 0.2},
                    "last_epoch_median": 0.15,
                },
                "random-init": {
                    "median": 0.05,
                    "min": 0.0,
                    "max": 0.1,
                    "scores": [0.0, 0.05, 0.1],
                    "metrics": {"matthews_correlation": 0.05},
                    "last_epoch_median": 0.05,
                },
            },
        },
        "mrpc": {
            "task": "mrpc",
            "main_metric": "f1",
            "majority": {"accuracy": 0.68, "f1": 0.81},
            "summary": {
                "pretrained": {
                    "median": 0.82,
                    "min": 0.8,
                    "max": 0.83,
                    "scores": [0.8, 0.82, 0.83],
                    "metrics": {"accuracy": 0.72, "f1": 0.82},
                    "last_epoch_median": 0.81,
                }
            },
        },
    },
    "average": {"pretrained": {"median": 0.51, "min": 0.45, "max": 0.54}, "random-init": None},
}


@pytest.fixture
def model_dir(tmp_path) -> Path:
    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "config.json").write_text(
        json.dumps(
            {
                "model_type": "bert",
                "architectures": ["BertForMaskedLM"],
                "hidden_size": 32,
                "num_hidden_layers": 1,
            }
        )
    )
    import torch
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(3, 4), "b": torch.zeros(5)}, str(d / "model.safetensors"))
    (d / "tokenizer.json").write_text("{}")
    (d / "optimizer.bin").write_bytes(b"optimizer state: never uploaded")
    (d / "random_states_0.pkl").write_bytes(b"rng")
    return d


def test_model_card_metadata_and_model_index(model_dir):
    card = build_model_card(
        model_dir,
        objective="mlm",
        datasets=["standard_ebooks", "Salesforce/wikitext"],
        steps=3000,
        tokens_seen=12_345_678,
        budget="1 CPU-hour",
        glue_results=GLUE_RESULTS,
    )
    data = card.data.to_dict()
    assert data["library_name"] == "transformers" and "textssl" in data["tags"] and "mlm" in data["tags"]
    # only Hub ids are metadata; a local corpus is described in the body
    assert data["datasets"] == ["Salesforce/wikitext"] and data["pipeline_tag"] == "fill-mask"
    assert "local corpus `standard_ebooks`" in card.text
    results = {(r.dataset_config, r.metric_type): r for r in card.data.eval_results}
    assert set(results) == {("cola", "matthews_correlation"), ("mrpc", "accuracy"), ("mrpc", "f1")}
    assert results[("cola", "matthews_correlation")].metric_value == 20.0
    assert (
        results[("mrpc", "f1")].dataset_type == "nyu-mll/glue"
        and results[("mrpc", "f1")].dataset_split == "validation"
    )
    text = str(card)
    for fact in (
        "12,345,678",
        "3,000",
        "1 CPU-hour",
        "parameters | 0.00M",
        "BertForMaskedLM",
        "| cola | MCC |",
    ):
        assert fact in text, fact
    again = ModelCard(text)  # the YAML header parses back to the same model-index
    assert len(again.data.eval_results) == 3 and again.data.model_name == "ckpt"


def test_write_model_card_without_results(model_dir):
    path = write_model_card(
        model_dir, objective="electra", datasets="corpus", steps=10, budget={"minutes": 5}
    )
    card = ModelCard.load(path)
    assert path == model_dir / "README.md" and card.data.library_name == "transformers"
    assert card.data.eval_results is None and "model-index" not in path.read_text()
    assert "budget: minutes | 5" in card.text
    with pytest.raises(FileNotFoundError, match="results.json"):
        build_model_card(model_dir, glue_results=model_dir / "nope")


# -------------------------------------------------------------------------------------------------- fake Hub


class FakeHub(BaseHTTPRequestHandler):
    """Answers the calls HfApi.create_repo + upload_folder make (huggingface_hub 1.x/2.x), records the rest."""

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, obj, code: int = 200) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.log.append(("GET", self.path, self.headers.get("authorization"), b""))
        self._send({"error": "not here"}, 404)  # e.g. the agent-harness registry: optional

    def do_POST(self):
        body = self._body()
        self.server.log.append(("POST", self.path, self.headers.get("authorization"), body))
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path == "/api/repos/create":
            req = json.loads(body)
            self.server.created.append(req)
            return self._send({"url": f"{base}/{req['organization']}/{req['name']}"})
        if self.path == "/api/validate-yaml":
            return self._send({"warnings": []})
        if "/preupload/" in self.path:
            files = json.loads(body)["files"]
            return self._send(
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                    ]
                }
            )
        if "/commit/" in self.path:
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.server.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            return self._send({"commitUrl": f"{base}/me/tiny/commit/{'a' * 40}", "commitOid": "a" * 40})
        self._send({"error": f"unexpected {self.path}"}, 404)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_hub(monkeypatch, loopback_only):  # loopback_only: a safety net against reaching the network
    import huggingface_hub.constants as constants

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    server.log, server.created, server.files = [], [], {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    server.url = url
    yield server
    server.shutdown()
    server.server_close()


def test_push_uploads_the_checkpoint_and_never_logs_the_token(fake_hub, model_dir, caplog, capsys):
    write_model_card(model_dir, objective="mlm", datasets=["corpus"], steps=5, glue_results=GLUE_RESULTS)
    with caplog.at_level(logging.DEBUG):
        url = push_to_hub(model_dir, "me/tiny", token=TOKEN, private=True, endpoint=fake_hub.url)
    assert url.endswith("/me/tiny/commit/" + "a" * 40)
    [created] = fake_hub.created
    assert (created["organization"], created["name"], created["type"]) == ("me", "tiny", "model")
    assert created.get("visibility") == "private" or created.get("private") is True
    assert set(fake_hub.files) == {"README.md", "config.json", "model.safetensors", "tokenizer.json"}
    assert fake_hub.files["model.safetensors"] == (model_dir / "model.safetensors").read_bytes()
    uploaded = model_dir.parent / "uploaded_README.md"
    uploaded.write_bytes(fake_hub.files["README.md"])
    card = ModelCard.load(uploaded)
    assert card.data.library_name == "transformers" and len(card.data.eval_results) == 3
    # The token went to the server, and nowhere else.
    auth = {a for _, path, a, _ in fake_hub.log if path.startswith("/api/") and "agent" not in path}
    assert auth == {f"Bearer {TOKEN}"}
    captured = capsys.readouterr()
    assert TOKEN not in caplog.text and TOKEN not in captured.out and TOKEN not in captured.err
    assert "me/tiny" in caplog.text  # the push itself is logged


def test_push_cli_takes_the_token_from_the_environment(fake_hub, model_dir, monkeypatch, capsys, caplog):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with caplog.at_level(logging.DEBUG):
        assert cli(["push", str(model_dir), "--repo-id", "me/tiny"]) == 0
    out = capsys.readouterr()
    assert "pushed" in out.out and TOKEN not in out.out + out.err + caplog.text
    assert "README.md" not in fake_hub.files  # no card in the folder: pushed as is (with a warning)
    assert "no README.md" in caplog.text
    assert {"config.json", "model.safetensors", "tokenizer.json"} == set(fake_hub.files)


def test_push_errors(fake_hub, model_dir, tmp_path, monkeypatch):
    import huggingface_hub

    with pytest.raises(FileNotFoundError, match="missing"):
        push_to_hub(tmp_path / "missing", "me/tiny", token=TOKEN)
    with pytest.raises(ValueError, match="--repo-id 'tiny'"):
        push_to_hub(model_dir, "tiny", token=TOKEN)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(ValueError, match="no Hugging Face token.*HF_TOKEN"):
        push_to_hub(model_dir, "me/tiny")
    assert not fake_hub.log  # nothing was sent


# ------------------------------------------------------------------------------- card contents on the fake Hub


def _front(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_push_then_glue_results_keep_and_update_the_card(fake_hub, model_dir, tmp_path, monkeypatch, capsys):
    """Pretrained card -> push (repo id stamped) -> push --glue-results (results merged, nothing dropped)."""
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    write_model_card(
        model_dir,
        objective="mlm",
        datasets=["synthetic:400", "Salesforce/wikitext"],
        steps=300,
        tokens_seen=1_228_800,
        budget="300 steps",
        details={"corruption": "TokenMasking(rate=0.15)"},
        model_name="mlm-tiny",
    )
    card = model_dir / "README.md"
    card.write_text(card.read_text() + "\n## Limitations\n\nTrained for minutes on a CPU.\n")

    assert cli(["push", str(model_dir), "--repo-id", "me/tiny"]) == 0
    first = fake_hub.files["README.md"].decode()
    assert first == card.read_text()  # the local card is the uploaded one
    meta = _front(first)
    assert meta["datasets"] == ["Salesforce/wikitext"] and meta["pipeline_tag"] == "fill-mask"
    assert meta["tags"] == ["textssl", "mlm"] and "model-index" not in meta
    assert "\n# me/tiny\n" in first and "# ckpt" not in first and "path/to" not in first
    assert 'model = AutoModelForMaskedLM.from_pretrained("me/tiny")' in first

    results = tmp_path / "glue" / "results.json"
    results.parent.mkdir()
    results.write_text(json.dumps(GLUE_RESULTS))
    fake_hub.files.clear()
    assert cli(["push", str(model_dir), "--repo-id", "me/tiny", "--glue-results", str(results)]) == 0
    second = fake_hub.files["README.md"].decode()
    assert second == card.read_text()
    after = _front(second)
    for key in ("datasets", "pipeline_tag", "tags", "license", "language", "library_name"):
        assert after[key] == meta[key], key
    [entry] = after["model-index"]
    assert entry["name"] == "me/tiny"
    assert {(r["dataset"]["config"], m["type"]) for r in entry["results"] for m in r["metrics"]} == {
        ("cola", "matthews_correlation"),
        ("mrpc", "accuracy"),
        ("mrpc", "f1"),
    }
    for kept in ("| steps | 300 |", "| tokens seen | 1,228,800 |", "| corruption | TokenMasking(rate=0.15) |",
                 "synthetic corpus (400 documents", "## Limitations", "\n# me/tiny\n",
                 'AutoModelForMaskedLM.from_pretrained("me/tiny")'):  # fmt: skip
        assert kept in second, kept
    assert "| cola | MCC |" in second and "Model `me/tiny`" in second and "runs/tiny" not in second
    assert not [p.name for p in model_dir.iterdir() if p.name.startswith(".")]  # no temp file left
    capsys.readouterr()


def _finetune_result(base: Path | str) -> dict:
    return {"task": "sst2", "seed": 0, "model": str(base), "init": "pretrained", "main_metric": "accuracy",
            "score": 0.91, "metrics": {"accuracy": 0.91}, "best_epoch": 2, "num_train": 128,
            "config": {"learning_rate": 3e-4, "batch_size": 32, "epochs": 3, "warmup_ratio": 0.1,
                       "max_length": 128, "select": "best"}}  # fmt: skip


def _classifier_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    config = {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "num_labels": 2}
    (path / "config.json").write_text(json.dumps(config))
    return path


def test_finetuned_card_names_its_base_and_result_and_pushes(fake_hub, model_dir, tmp_path):
    write_model_card(model_dir, objective="mlm", repo_id="me/base-mlm")  # a base model pushed earlier
    out = _classifier_dir(tmp_path / "sst2-run" / "model")
    write_model_card(out, finetuned=_finetune_result(model_dir), model_name=run_name(out))
    text = (out / "README.md").read_text()
    meta = _front(text)
    assert meta["base_model"] == "me/base-mlm" and meta["pipeline_tag"] == "text-classification"
    assert meta["datasets"] == ["nyu-mll/glue"] and "sst2" in meta["tags"]
    [entry] = meta["model-index"]
    [result] = entry["results"]
    assert entry["name"] == "sst2-run" and result["task"]["type"] == "text-classification"
    assert (result["dataset"]["type"], result["dataset"]["config"], result["dataset"]["split"]) == (
        "nyu-mll/glue",
        "sst2",
        "validation",
    )
    assert [(m["type"], m["value"]) for m in result["metrics"]] == [("accuracy", 91.0)]
    assert "finetuned with textssl on GLUE SST-2, starting from me/base-mlm" in text
    assert "pretrained with textssl" not in text and str(model_dir) not in text and "\n# sst2-run\n" in text
    assert "| selected epoch | 2 of 3 (best on dev) |" in text and "| dev accuracy | 91.00 |" in text
    assert 'AutoModelForSequenceClassification.from_pretrained("path/to/sst2-run")' in text

    push_to_hub(out, "me/sst2-tiny", token=TOKEN, endpoint=fake_hub.url)
    pushed = fake_hub.files["README.md"].decode()
    assert (
        _front(pushed)["model-index"][0]["name"] == "me/sst2-tiny"
        and _front(pushed)["base_model"] == "me/base-mlm"
    )
    assert "\n# me/sst2-tiny\n" in pushed and 'from_pretrained("me/sst2-tiny")' in pushed

    # a base that was never pushed: named in the body by its run, never by its local path, not in the metadata
    local = tmp_path / "never-pushed" / "model"
    local.mkdir(parents=True)
    other = _classifier_dir(tmp_path / "other")
    write_model_card(other, finetuned=_finetune_result(local))
    text = (other / "README.md").read_text()
    assert "base_model" not in _front(text) and str(local) not in text and "`never-pushed`" in text


def test_push_with_bad_card_inputs_says_what_is_wrong(fake_hub, model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    assert cli(["push", str(model_dir), "--repo-id", "me/tiny", "--glue-results", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"--glue-results {bad}: not valid JSON" in err and "Traceback" not in err
    assert not (model_dir / "README.md").exists()
    missing = tmp_path / "glue" / "results.json"
    assert cli(["push", str(model_dir), "--repo-id", "me/tiny", "--glue-results", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"--glue-results {missing}: no such file" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (model_dir / "README.md").exists()
    broken = "---\ntags: [unclosed\n---\n# mine\n"
    (model_dir / "README.md").write_text(broken)
    assert cli(["push", str(model_dir), "--repo-id", "me/tiny"]) == 2
    err = capsys.readouterr().err
    assert "README.md: the model card's front matter is not valid YAML" in err and "Traceback" not in err
    assert (model_dir / "README.md").read_text() == broken
    assert cli(["push", str(model_dir), "--repo-id", "tiny", "--glue-results", str(bad)]) == 2
    assert "--repo-id 'tiny': expected 'user-or-org/name'" in capsys.readouterr().err
    assert not fake_hub.log  # nothing was sent
