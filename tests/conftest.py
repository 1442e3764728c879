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
