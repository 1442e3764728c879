"""Everything textssl hands to users works where they take it: the built wheel (not the checkout), and each
objective's saved model directory on its own with ``AutoModelFor*`` and ``AutoTokenizer``."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

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


# --------------------------------------------------------------------------- every objective's checkpoint

# (objective, arch, tokenizer, AutoModelFor* class of model/, extra nats in the first logged loss beyond ln V)
# The logged loss is the objective's whole loss: SOP/NSP add a 2-way cross-entropy (ln 2 at init); ELECTRA
# adds disc_weight (50) x a binary cross-entropy over every position (ln 2 at init).
CHECKPOINT_CASES = [
    ("mlm", "bert", "wordpiece", "AutoModelForMaskedLM", 0.0),
    ("mlm", "roberta", "bpe", "AutoModelForMaskedLM", 0.0),
    ("mlm", "modernbert", "wordpiece", "AutoModelForMaskedLM", 0.0),
    ("clm", "gpt2", "bpe", "AutoModelForCausalLM", 0.0),
    ("clm", "llama", "bpe", "AutoModelForCausalLM", 0.0),
    ("electra", "electra", "wordpiece", "AutoModelForPreTraining", 50 * math.log(2)),
    ("sop", "bert", "wordpiece", "AutoModelForPreTraining", math.log(2)),
    ("nsp", "bert", "wordpiece", "AutoModelForPreTraining", math.log(2)),
    ("seq2seq", "bart", "bpe", "AutoModelForSeq2SeqLM", 0.0),
    ("seq2seq", "t5", "unigram", "AutoModelForSeq2SeqLM", 0.0),
]
PROMPT = "The dog"


@pytest.fixture(scope="module", params=CHECKPOINT_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def trained(request, tmp_path_factory):
    """Pretrain 2 steps of a 1-layer tiny model; copy its model directory away from the run's folder."""
    from textssl.training.config import load_config
    from textssl.training.pretrain import pretrain
    from textssl.training.reporting import read_log

    objective, arch, tokenizer, auto_class, extra = request.param
    layers = {"gpt2": "n_layer", "bart": "encoder_layers", "t5": "num_layers"}.get(arch, "num_hidden_layers")
    tmp = tmp_path_factory.mktemp(f"{objective}-{arch}")
    cfg = load_config(
        overrides=dict(
            objective=objective,
            arch=arch,
            size="tiny",
            tokenizer=tokenizer,
            data="synthetic:120",
            max_length=64,
            batch_size=8,
            max_steps=2,
            log_every=1,
            eval_every=100,
            eval_batches=1,
            save_every=100,
            output_dir=str(tmp / "run"),
            report_to="none",
            progress=False,
            model_overrides={layers: 1},
        )
    )
    result = pretrain(cfg)
    rows = [r for r in read_log(result.output_dir / "log.jsonl") if "event" not in r and "loss" in r]
    moved = tmp / "elsewhere" / "model"
    shutil.copytree(result.model_dir, moved)
    shutil.rmtree(result.output_dir)  # nothing of the run is left but the copied directory
    return dict(
        objective=objective,
        arch=arch,
        auto_class=auto_class,
        extra=extra,
        first_loss=next(r["loss"] for r in rows if r["step"] == 1),
        model=result.model.eval(),
        dir=moved,
    )


def test_first_training_loss_is_near_log_vocabulary(trained):
    """A model at initialisation predicts about uniformly: its first loss is ~ln V (T5 started at ~72)."""
    from transformers import AutoConfig

    vocab = AutoConfig.from_pretrained(trained["dir"]).vocab_size
    expected = math.log(vocab) + trained["extra"]
    print(
        f"{trained['objective']}/{trained['arch']}: first loss {trained['first_loss']:.2f}, expected {expected:.2f}"
    )
    assert abs(trained["first_loss"] - expected) < 3.0, (trained["first_loss"], expected)


def test_saved_model_loads_alone_with_its_auto_class_and_tokenizer(trained):
    """From the directory alone: AutoTokenizer (full vocabulary) + AutoModelFor*, same outputs as in training."""
    import transformers

    directory = trained["dir"]
    tok = transformers.AutoTokenizer.from_pretrained(directory)
    model = getattr(transformers, trained["auto_class"]).from_pretrained(directory).eval()
    assert len(tok) == model.config.vocab_size
    # the generic class name, which transformers 4.x loads too (5.x writes its own "TokenizersBackend")
    assert (
        json.loads((directory / "tokenizer_config.json").read_text())["tokenizer_class"]
        == "PreTrainedTokenizerFast"
    )
    enc = tok([PROMPT + " barked at the cat."], return_tensors="pt")
    inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if trained["objective"] == "seq2seq":
        inputs["decoder_input_ids"] = enc["input_ids"][:, :4]
    saved = trained["model"].discriminator if trained["objective"] == "electra" else trained["model"]
    with torch.no_grad():
        got, want = model(**inputs), saved(**inputs)
    key = "logits" if "logits" in got else "prediction_logits"
    assert torch.allclose(got[key], want[key], atol=1e-4), "the reloaded model computes something else"


def test_electra_generator_is_a_complete_model_directory(trained):
    if trained["objective"] != "electra":
        pytest.skip("ELECTRA only")
    import transformers

    generator = trained["dir"] / "generator"
    assert (generator / "README.md").is_file()
    tok = transformers.AutoTokenizer.from_pretrained(generator)
    model = transformers.AutoModelForMaskedLM.from_pretrained(generator).eval()
    assert type(model).__name__ == "ElectraForMaskedLM"
    assert len(tok) == model.config.vocab_size == 16384
    fill = transformers.pipeline("fill-mask", model=model, tokenizer=tok, top_k=3)
    out = fill(f"the dog {tok.mask_token} at the cat.")
    assert len(out) == 3 and all(o["token_str"].strip() for o in out), out


def test_clm_prompt_encodes_without_end_token_and_generate_continues(trained):
    if trained["objective"] != "clm":
        pytest.skip("CLM only")
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(trained["dir"])
    model = transformers.AutoModelForCausalLM.from_pretrained(trained["dir"]).eval()
    enc = tok(PROMPT, return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    assert tok.eos_token_id not in ids and tok.sep_token_id not in ids, tok.convert_ids_to_tokens(ids)
    # A prompt starts a document the way training did: the shipped BPE puts <s> before each document.
    assert ids[0] == tok.bos_token_id and tok.decode(ids[1:]) == PROMPT
    out = model.generate(
        **enc, max_new_tokens=3, min_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id
    )
    assert out.shape[1] == len(ids) + 3 and out[0, : len(ids)].tolist() == ids


def test_t5_config_round_trips_tied_scaled_embeddings(trained):
    if trained["arch"] != "t5":
        pytest.skip("T5 only")
    config = json.loads((trained["dir"] / "config.json").read_text())
    assert config["tie_word_embeddings"] is True
    assert config.get("scale_decoder_outputs", True) is True  # the key exists from transformers 5 on


def test_t5_override_that_unties_or_unscales_is_a_one_line_error(tmp_path, capsys):
    from textssl.cli import main

    out = tmp_path / "t5"
    code = main(
        [
            "pretrain",
            "--objective",
            "seq2seq",
            "--arch",
            "t5",
            "--tokenizer",
            "unigram",
            "--data",
            "synthetic:100",
        ]
        + ["--model-overrides", "tie_word_embeddings=false", "--output-dir", str(out), "--report-to", "none"]
        + ["--max-steps", "2"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("textssl pretrain: error: model overrides give a T5 config with untied or unscaled")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
