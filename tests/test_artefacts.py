"""Everything textssl hands to users works where they take it: the built wheel (not the checkout), and each
objective's saved model directory on its own with ``AutoModelFor*`` and ``AutoTokenizer``."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """textssl's wheel, built offline from this checkout (no build isolation: setuptools comes from here)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(REPO),
        ]
        + ["-w", str(out)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("textssl-*.whl")
    return path


def test_wheel_ships_tokenizers_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "textssl/py.typed" in names
    for kind in ("wordpiece", "bpe", "unigram"):
        assert f"textssl/tokenizer_assets/{kind}/tokenizer.json" in names
        assert f"textssl/tokenizer_assets/{kind}/tokenizer_config.json" in names


def test_wheel_loads_shipped_tokenizers_outside_the_checkout(wheel, tmp_path):
    """Unpacked wheel first on sys.path, run from an empty directory: the checkout plays no part."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    code = (
        "import textssl, sys\n"
        "from pathlib import Path\n"
        "from textssl.tokenization import load_tokenizer\n"
        f"assert Path(textssl.__file__).resolve().is_relative_to({str(site.resolve())!r}), textssl.__file__\n"
        "for kind in ('wordpiece', 'bpe', 'unigram'):\n"
        "    print(kind, len(load_tokenizer(kind)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=run_dir, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["wordpiece", "16384", "bpe", "16384", "unigram", "16384"]


def test_shipped_tokenizers_are_one_copy_linked_from_the_top_level():
    """The repository keeps tokenizer_assets/ (README, training command) pointing at the packaged files."""
    for kind in ("wordpiece", "bpe", "unigram"):
        top = REPO / "tokenizer_assets" / kind
        assert top.resolve() == (REPO / "textssl" / "tokenizer_assets" / kind).resolve()
        assert (top / "tokenizer.json").is_file()
