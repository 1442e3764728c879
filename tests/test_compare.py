"""``textssl compare``: arms, FLOPs counting, budgets, the resumable run and its reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textssl.cli import main
from textssl.compare.arms import arm_options, parse_arms
from textssl.compare.config import load_compare_config, parse_budget
from textssl.compare.flops import arm_flops, sequence_flops
from textssl.compare.report import gain_trend, results_markdown, summarize_model, upsert_section
from textssl.errors import ConfigError

TINY = """\
common:
  arch: modernbert
  size: tiny
  data: synthetic:300
  max_length: 32
  batch_size: 8
  lr: 3.0e-3
  eval_every: 10
  eval_batches: 2
  save_every: 100
  report_to: none
train_tokenizer: {kind: wordpiece, vocab_size: 400}
arms: [mlm, electra]
budget: steps:20
eval_at: [0.5, 1.0]
tasks: [syn-sst]
seeds: 1
finetune: {learning_rate: 5.0e-4, epochs: 1, batch_size: 16, max_length: 32, max_train_samples: 64,
           max_eval_samples: 64}
"""


def _info():
    from textssl.tokenization import TokenizerInfo, load_tokenizer

    return TokenizerInfo.from_tokenizer(load_tokenizer("wordpiece"))


# ------------------------------------------------------------------------------------------------ arms


def test_arm_shorthand_parsing() -> None:
    arms = parse_arms("mlm, electra,mlm:whole_word_masking,sop,clm@llama")
    assert [a.name for a in arms] == ["mlm", "electra", "mlm:whole_word_masking", "sop", "clm@llama"]
    assert arms[2].overrides == {"objective": "mlm", "strategy": "whole_word_masking"}
    assert arms[4].overrides == {"objective": "clm", "arch": "llama"}
    assert arms[2].slug == "mlm-whole_word_masking"
    # architecture: the common one when the objective supports it, else the objective's default
    common = {"arch": "modernbert", "size": "tiny"}
    archs = [arm_options(a, common)["arch"] for a in arms]
    assert archs == ["modernbert", "electra", "modernbert", "bert", "llama"]
    # YAML arms: mappings with a name and any pretraining option
    yaml_arms = parse_arms(
        ["mlm", {"name": "span30", "objective": "mlm", "strategy": "span_masking", "lr": 1e-3}]
    )
    assert yaml_arms[1].name == "span30" and yaml_arms[1].overrides["lr"] == 1e-3
    assert arm_options(yaml_arms[1], {**common, "lr": 3e-3})["lr"] == 1e-3


@pytest.mark.parametrize(
    "arms, message",
    [
        ("mlm,bogus", "--arms: unknown objective 'bogus' in arm 'bogus'; choose one of: mlm, clm"),
        ("mlm:bogus_masking", "--arms: unknown strategy 'bogus_masking' in arm 'mlm:bogus_masking'"),
        ("mlm@bogus", "--arms: unknown architecture 'bogus' in arm 'mlm@bogus'"),
        ("clm:span_masking", "arm 'clm:span_masking': objective 'clm' needs the causal_lm strategy"),
        ("sop:span_masking", "arm 'sop:span_masking': objective 'sop' needs a Compose"),
        ("mlm,mlm", "--arms: arms 'mlm' and 'mlm' have the same name"),
        (",", "--arms: no arms given"),
    ],
)
def test_bad_arms_give_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arms: str, message: str
) -> None:
    out = tmp_path / "cmp"
    config = tmp_path / "c.yaml"
    config.write_text(TINY)
    code = main(["compare", "--config", str(config), "--arms", arms, "--output-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("textssl compare: error: ") and message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--budget", "flops"], "--budget 'flops': write KIND:AMOUNT"),
        (["--budget", "minutes:5"], "--budget 'minutes:5': write KIND:AMOUNT"),
        (["--budget", "steps:0"], "the amount must be a positive number"),
        (["--eval-at", "0,1"], "--eval-at: fractions of the budget must be in (0, 1]"),
        (["--finetune-lrs", "3e-4,x"], "--finetune-lrs '3e-4,x': give comma-separated numbers"),
        (["--tasks", "syn-sst,bogus"], "--tasks: unknown task 'bogus'"),
        (["--budget", "flops:1e3"], "--budget flops:1000: arm 'mlm' gets 0 steps"),
    ],
)
def test_bad_options_give_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(TINY.replace("train_tokenizer: {kind: wordpiece, vocab_size: 400}\n", ""))
    out = tmp_path / "cmp"
    code = main(["compare", "--config", str(config), "--output-dir", str(out), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written


def test_common_settings_cannot_hold_per_arm_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="option\\(s\\) strategy cannot be common settings"):
        load_compare_config(overrides={"arms": "mlm", "common": {"strategy": "span_masking"}})
    with pytest.raises(ConfigError, match="arm 'x': option\\(s\\) max_steps are set by compare"):
        arm_options(parse_arms([{"name": "x", "objective": "mlm", "max_steps": 5}])[0], {})


# ------------------------------------------------------------------------------------------------ FLOPs


def test_flops_match_a_hand_computation() -> None:
    """BERT-tiny (L2/H128, FFN 512), vocabulary 1000, one block of 128 tokens, 15% masked (docs/compare.md)."""
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=1000, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512
    )
    parts = sequence_flops("mlm", config, block=128, mask_rate=0.15)
    # per layer and token: 4*128*128 (Q, K, V, O) + 2*128*512 (FFN) = 196,608 weights -> 2 FLOPs each,
    # plus attention 4 * 128 (context) * 128 (width) = 65,536; two layers; 128 tokens; training = 3 x forward
    encoder_forward = 128 * 2 * (2 * 196_608 + 65_536)
    assert parts["encoder"] == 3 * encoder_forward == 352_321_536
    # sparse head on 0.15 * 128 = 19.2 positions: dense 128x128 + decoder 128x1000
    assert parts["mlm_head"] == pytest.approx(3 * 19.2 * 2 * (128 * 128 + 128 * 1000))
    assert sum(parts.values()) == pytest.approx(368_954_572.8)
    # CLM on the same stack: a full-vocabulary head on every token instead
    from transformers import GPT2Config

    gpt = GPT2Config(vocab_size=1000, n_embd=128, n_layer=2, n_head=2, n_positions=512)
    clm = sequence_flops("clm", gpt, block=128)
    assert clm["decoder"] == parts["encoder"]
    assert clm["lm_head"] == 3 * 128 * 2 * 128 * 1000


def _linear_weights(module) -> int:
    from torch import nn
    from transformers.pytorch_utils import Conv1D

    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear | Conv1D))


@pytest.mark.parametrize("arch", ["bert", "modernbert", "electra", "gpt2", "llama", "bart", "t5"])
def test_flops_matrix_sizes_match_real_models(arch: str) -> None:
    """The per-layer matmul weights the formula counts are exactly the Linear weights of a real layer."""
    import transformers as tf

    from textssl.compare.flops import _dims
    from textssl.models import build_config

    config = build_config(arch, "tiny", _info(), 128)
    dims = _dims(config)
    model = tf.AutoModel.from_config(config)
    if arch in ("bart", "t5"):
        enc_layer = model.encoder.layers[0] if arch == "bart" else model.encoder.block[0]
        dec_layer = model.decoder.layers[0] if arch == "bart" else model.decoder.block[0]
        assert _linear_weights(enc_layer) == dims["encoder"].matmul_params()
        d, inner = dims["decoder"].d_model, dims["decoder"].d_attn
        # the decoder layer also holds the cross-attention K and V, counted on the encoder tokens (cross_kv)
        assert _linear_weights(dec_layer) == dims["decoder"].matmul_params() + 2 * d * inner
        return
    layers = {
        "bert": lambda m: m.encoder.layer,
        "electra": lambda m: m.encoder.layer,
        "modernbert": lambda m: m.layers,
        "gpt2": lambda m: m.h,
        "llama": lambda m: m.layers,
    }[arch](model)
    assert len(layers) == dims["encoder"].layers
    assert _linear_weights(layers[0]) == dims["encoder"].matmul_params()


def test_electra_generator_width_matches_the_objective() -> None:
    from textssl.compare.flops import electra_generator_width
    from textssl.models import build_config
    from textssl.objectives import build_objective

    config = build_config("electra", "mini", _info(), 64)
    for fraction in (0.25, 0.5):
        pair = build_objective("electra", "electra", generator_fraction=fraction).build_model(config)
        assert pair.generator.config.hidden_size == electra_generator_width(config.hidden_size, fraction)


def test_budgets_convert_to_steps_per_arm() -> None:
    info = _info()
    common = {"size": "tiny", "max_length": 64, "batch_size": 8}
    mlm = arm_flops(arm_options(parse_arms("mlm@bert")[0], common), info)
    electra = arm_flops(arm_options(parse_arms("electra")[0], common), info)
    # ELECTRA runs a generator and a discriminator (same width as BERT) on every token: each step costs more
    assert electra.flops(1) > mlm.flops(1)
    budget = 1e12
    s_mlm, s_electra = mlm.steps_for("flops", budget), electra.steps_for("flops", budget)
    assert s_electra < s_mlm
    # the largest step count that fits: one more step would exceed the budget
    assert mlm.flops(s_mlm) <= budget < mlm.flops(s_mlm + 1)
    assert electra.flops(s_electra) <= budget < electra.flops(s_electra + 1)
    # steps and tokens budgets give every arm (same batch and block) the same steps
    assert mlm.steps_for("steps", 300) == electra.steps_for("steps", 300) == 300
    assert mlm.steps_for("tokens", 8 * 64 * 50) == electra.steps_for("tokens", 8 * 64 * 50) == 50
    # a masking-rate schedule is averaged over the run: 30% -> 15% costs more than a constant 15%
    from textssl.compare.flops import masking_rate
    from textssl.corruption import Linear, TokenMasking

    assert masking_rate(TokenMasking(rate=Linear(0.3, 0.15, 100)), 100) == pytest.approx(0.225, abs=1e-3)
    assert parse_budget("flops:1e13").value == 1e13


# ------------------------------------------------------------------------------------------------ reports


def test_upsert_section_keeps_the_rest_of_the_card() -> None:
    card = "---\nlicense: apache-2.0\n---\n# model\n\n## Usage\n\ncode\n"
    once = upsert_section(card, "textssl compare results", "table 1")
    assert once.startswith(card.rstrip("\n")) and once.endswith("## textssl compare results\n\ntable 1\n")
    twice = upsert_section(once + "\n## Later\n\nkept\n", "textssl compare results", "table 2")
    assert "table 1" not in twice and "table 2" in twice
    assert twice.count("## textssl compare results") == 1 and "## Later\n\nkept" in twice
    assert twice.startswith(card.rstrip("\n"))


def test_lr_grid_picks_the_best_median_per_task() -> None:
    def unit(score: float) -> dict:
        return {"score": score, "main_metric": "accuracy"}

    units = {
        "finetune|m|a|0.0003|0": unit(0.60),
        "finetune|m|a|0.0003|1": unit(0.62),
        "finetune|m|a|0.001|0": unit(0.70),
        "finetune|m|a|0.001|1": unit(0.50),
        "finetune|m|b|0.0003|0": unit(0.40),
        "finetune|m|b|0.0003|1": unit(0.42),
        "finetune|m|b|0.001|0": unit(0.80),
        "finetune|m|b|0.001|1": unit(0.82),
    }
    s = summarize_model(units, "m", ["a", "b"], [3e-4, 1e-3], [0, 1])
    assert s["tasks"]["a"]["lr"] == 3e-4 and s["tasks"]["a"]["median"] == pytest.approx(0.61)
    assert s["tasks"]["b"]["lr"] == 1e-3 and s["tasks"]["b"]["median"] == pytest.approx(0.81)
    assert s["average"]["median"] == pytest.approx(0.71)
    # per-seed averages at the chosen rates: seed 0 (0.60 + 0.80) / 2, seed 1 (0.62 + 0.82) / 2
    assert (s["average"]["min"], s["average"]["max"]) == pytest.approx((0.70, 0.72))
    assert s["average"]["complete"]


# ------------------------------------------------------------------------------------------------ the run


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A tiny comparison (2 arms x 20 steps, evaluated at 50% and 100%, 1 task, 1 seed) killed during the
    second arm's last segment, then rerun to completion. Returns (output dir, state after the kill, log)."""
    import textssl.training.pretrain as pretrain_module

    root = tmp_path_factory.mktemp("compare")
    config = root / "tiny.yaml"
    config.write_text(TINY)
    out = root / "out"
    real = pretrain_module.pretrain

    def killed(cfg):
        if "electra" in cfg.output_dir and cfg.stop_at_step == 20:
            raise KeyboardInterrupt("simulated kill")
        return real(cfg)

    pretrain_module.pretrain = killed
    try:
        with pytest.raises(KeyboardInterrupt):
            main(["compare", "--config", str(config), "--output-dir", str(out), "--no-progress"])
    finally:
        pretrain_module.pretrain = real
    before = json.loads((out / "compare_state.json").read_text())
    weights = out / "arms" / "mlm" / "pretrain" / "model" / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    assert main(["compare", "--config", str(config), "--output-dir", str(out), "--no-progress"]) == 0
    return out, before, mtime


def test_compare_writes_results_for_every_arm_and_the_twins(compared) -> None:
    out, _, _ = compared
    results = json.loads((out / "results.json").read_text())
    assert [a["name"] for a in results["arms"]] == ["mlm", "electra"]
    for arm in results["arms"]:
        assert [p["step"] for p in arm["points"]] == [10, 20]
        for p in arm["points"]:
            assert p["flops"] == pytest.approx(p["step"] * arm["flops_per_step"])
            assert p["tokens"] == p["step"] * 8 * 32
            assert 0 <= p["tasks"]["syn-sst"]["median"] <= 1 and p["average"]["complete"]
            assert p["pretrain_eval"]
    assert set(results["baselines"]) == {"modernbert-tiny", "electra-tiny"}
    md = (out / "results.md").read_text()
    for name in ("| mlm | 50% | 10 |", "| electra | 100% | 20 |", "| random-init (modernbert-tiny) |"):
        assert name in md
    assert "| random-init (electra-tiny) |" in md
    assert (out / "compare.png").stat().st_size > 1000
    # each arm's final checkpoint carries its results in its model card, after what was there
    card = (out / "arms" / "electra" / "pretrain" / "model" / "README.md").read_text()
    assert card.startswith("---") and "## textssl compare results" in card
    assert "| **electra** | 100% | 20 |" in card and "random-init (electra-tiny)" in card
    assert "random-init (modernbert-tiny)" not in card


def test_compare_resumes_after_a_kill_without_retraining(compared) -> None:
    out, before, mtime = compared
    after = json.loads((out / "compare_state.json").read_text())
    # every unit finished before the kill (the whole mlm arm, electra's first half, both twins) is reused
    assert any(k.startswith("pretrain|mlm|") for k in before["units"])
    for key, record in before["units"].items():
        assert after["units"][key] == record, key
    assert (out / "arms" / "mlm" / "pretrain" / "model" / "model.safetensors").stat().st_mtime_ns == mtime
    # electra resumed from its step-10 checkpoint: the last segment ran 10 steps, not 20
    assert "pretrain|electra|20" not in before["units"]
    assert after["units"]["pretrain|electra|20"]["steps_run"] == 10
    # the comparison is complete: 2 arms x 2 points + 2 twins, 1 task x 1 seed each
    assert sum(k.startswith("finetune|") for k in after["units"]) == 6


def test_compare_rerun_refuses_foreign_or_changed_directories(
    compared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, _ = compared
    config = out.parent / "tiny.yaml"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    code = main(["compare", "--config", str(config), "--output-dir", str(foreign)])
    err = capsys.readouterr().err
    assert code == 2 and "is not empty and is not a textssl compare directory" in err
    assert "Traceback" not in err and sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    state = (out / "compare_state.json").read_text()
    code = main(["compare", "--config", str(config), "--output-dir", str(out), "--budget", "steps:30"])
    err = capsys.readouterr().err
    assert code == 2 and "holds a comparison with another plan (changed: budget" in err
    assert (out / "compare_state.json").read_text() == state
    # --overwrite replaces a foreign directory's contents (a fresh comparison), and only with the flag
    from textssl.compare.runner import CompareRun

    cfg = load_compare_config(config)
    assert CompareRun(cfg, out).check_output_dir() is True  # its own: resumed
    assert CompareRun(cfg, foreign, overwrite=True).check_output_dir() is False
    assert not (foreign / "notes.txt").exists()


@pytest.fixture
def beside_shared_data(tmp_path, monkeypatch) -> None:
    """Run from a checkout with ``../shared/data`` beside it (the real-data preset's relative paths), so the
    preset tests pass in a clone without the benchmark data."""
    (tmp_path / "shared" / "data" / "glue").mkdir(parents=True)
    corpus = tmp_path / "shared" / "data" / "corpus" / "nltk"
    corpus.mkdir(parents=True)
    (corpus / "movie_reviews.txt").write_text("a fine film .\n", encoding="utf-8")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")


def test_every_compare_preset_is_valid(beside_shared_data) -> None:
    presets = sorted((Path(__file__).parent.parent / "recipes" / "configs").glob("compare_*.yaml"))
    assert presets
    for path in presets:
        cfg = load_compare_config(path)
        assert cfg.arms and cfg.budget.value > 0
        for arm in cfg.arms:
            assert arm_options(arm, cfg.common)["objective"]


def _point(step: int, flops_per_step: float, gain: float) -> dict:
    return {"step": step, "fraction": step / 800, "flops": step * flops_per_step, "train_seconds": step * 0.1,
            "gain_over_twin": gain}  # fmt: skip


def test_gain_trend_is_a_line_in_log_compute_and_extrapolates_the_budget_for_each_target() -> None:
    # +0.5 at 200 steps, +1.0 at 400, +1.5 at 800: exactly +0.5 per doubling
    arm = {"name": "mlm", "steps": 800, "flops_per_step": 1e9,
           "points": [_point(200, 1e9, 0.5), _point(400, 1e9, 1.0), _point(800, 1e9, 1.5)]}  # fmt: skip
    trend = gain_trend(arm)
    assert trend["points"] == 3 and trend["gain_per_doubling"] == pytest.approx(0.5)
    one, three = trend["crossings"]["1"], trend["crossings"]["3"]
    assert one["budget_multiple"] == pytest.approx(0.5)  # +1 was reached at 400 of 800 steps
    # +3 is three doublings past +1.5: 8x the budget, 6,400 steps at 0.1 s each
    assert three["budget_multiple"] == pytest.approx(8.0) and three["flops"] == pytest.approx(6.4e12)
    assert three["train_minutes"] == pytest.approx(6400 * 0.1 / 60)
    # a gain that shrinks with compute never reaches a target; one point (or one budget) is no trend
    falling = {**arm, "points": [_point(200, 1e9, 1.0), _point(800, 1e9, 0.0)]}
    assert gain_trend(falling)["crossings"] == {"1": None, "3": None}
    assert gain_trend({**arm, "points": [_point(800, 1e9, 1.5)]}) is None
    results = {"tasks": [], "seeds": [0], "budget": "steps:800", "eval_at": [0.25, 0.5, 1.0],
               "finetune": {"batch_size": 32, "epochs": 3, "warmup_ratio": 0.1, "max_length": 128},
               "finetune_lrs": [1e-3], "arms": [{**arm, "objective": "mlm", "baseline": "b", "trend": trend}],
               "baselines": {}, "seconds": 60}  # fmt: skip
    for p in results["arms"][0]["points"]:
        p.update(tokens=p["step"], pretrain_eval={})
    md = results_markdown(results)
    assert "+0.50 points of the average over its random-init twin per doubling of compute" in md
    assert "+1 at 4e11 FLOPs (within the budget)" in md
    assert "+3 at 6.4e12 FLOPs (8.0x the budget, about 11 minutes of pretraining" in md
    # a nearly flat line gives no number of budgets worth printing
    flat = {**arm, "points": [_point(200, 1e9, 0.0), _point(800, 1e9, 0.1)]}
    results["arms"][0]["trend"] = gain_trend(flat)
    assert "+3 only beyond 1,000x the budget (the line is nearly flat)" in results_markdown(results)
    assert "| mlm | 100% | 800 |" in md and "| +1.5 |" in md


def test_the_real_data_preset_is_the_recorded_recipe(beside_shared_data) -> None:
    """recipes/configs/compare_real.yaml is what README and docs/compare.md report: keep them in step."""
    cfg = load_compare_config(Path(__file__).parent.parent / "recipes" / "configs" / "compare_real.yaml")
    assert [a.name for a in cfg.arms] == ["mlm"] and str(cfg.budget) == "steps:27000"
    assert (
        cfg.eval_at == [0.25, 0.5, 1.0] and cfg.tasks == ["sst2", "mrpc", "cola"] and cfg.seeds == [0, 1, 2]
    )
    assert cfg.finetune_lrs == [1e-3, 3e-3] and cfg.finetune["max_train_samples"] == 5000
    assert cfg.common["data"] == "../shared/data/corpus/nltk/m*.txt" and cfg.common["size"] == "tiny"
    assert cfg.train_tokenizer == {"kind": "wordpiece", "vocab_size": 8000}
    # every evaluation point's checkpoint survives the run (save_every divides each point, enough are kept)
    steps = [round(f * 27000) for f in cfg.eval_at]
    assert all(s % cfg.common["save_every"] == 0 for s in steps) and cfg.common["keep_checkpoints"] >= len(
        steps
    )
