"""Model cards and pushing to a fake Hub on loopback (the real Hub is never contacted)."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from textssl.cli import main as cli
from textssl.hub import build_model_card, push_to_hub, write_model_card

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
        datasets=["standard_ebooks", "nltk"],
        steps=3000,
        tokens_seen=12_345_678,
        budget="1 CPU-hour",
        glue_results=GLUE_RESULTS,
    )
    data = card.data.to_dict()
    assert data["library_name"] == "transformers" and "textssl" in data["tags"] and "mlm" in data["tags"]
    assert data["datasets"] == ["standard_ebooks", "nltk"] and data["pipeline_tag"] == "fill-mask"
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
def fake_hub(monkeypatch):
    import huggingface_hub.constants as constants

    # Safety net: any connection that is not to loopback fails the test instead of reaching the network.
    real_connect = socket.socket.connect

    def loopback_only(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"test tried to reach {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
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
