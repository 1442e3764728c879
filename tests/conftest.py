"""Test session setup: never touch the network, and keep every cache inside a temporary directory."""

import os
import tempfile

# Set before anything imports datasets/transformers/huggingface_hub, which read these at import time.
_CACHE = tempfile.mkdtemp(prefix="textssl-tests-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["HF_HOME"] = os.path.join(_CACHE, "hf")
os.environ["HF_DATASETS_CACHE"] = os.path.join(_CACHE, "datasets")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tokenizers(tmp_path_factory):
    """Tiny wordpiece/bpe/unigram tokenizers trained once per session on the shared toy documents."""
    from blocks_helpers import train_tokenizers

    return train_tokenizers(tmp_path_factory.mktemp("tok"))


@pytest.fixture
def loopback_only(monkeypatch):
    """Any connection that is not to loopback fails the test instead of reaching the network."""
    import socket

    real_connect = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"test tried to reach {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest single-threaded, and a shared, busy machine makes 2 threads 5-10x slower.
    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
