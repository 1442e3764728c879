"""Model configs (``textssl.models``): every architecture at every size preset, overrides, bad values."""

from __future__ import annotations

import pytest

from textssl import TokenizerInfo, load_tokenizer
from textssl.models import ARCHITECTURES, SIZES, build_config, max_positions


@pytest.fixture(scope="module")
def info() -> TokenizerInfo:
    return TokenizerInfo.from_tokenizer(load_tokenizer("wordpiece"))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_architecture_builds_at_tiny(arch):
    tok = load_tokenizer(
        "unigram" if arch == "t5" else "bpe" if arch in ("gpt2", "llama", "bart") else "wordpiece"
    )
    info = TokenizerInfo.from_tokenizer(tok)
    cfg = build_config(arch, "tiny", info, max_length=128)
    assert cfg.vocab_size == info.vocab_size
    hidden = getattr(cfg, "hidden_size", None) or getattr(cfg, "d_model", None) or cfg.n_embd
    assert hidden == 128
    limit = max_positions(cfg)
    assert limit is None or limit >= 128


def test_size_presets_follow_turc_et_al(info):
    expected = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768)}
    for name, (layers, hidden) in expected.items():
        cfg = build_config("bert", name, info)
        assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (
            layers,
            hidden,
            hidden // 64,
        )
    assert set(SIZES) == set(expected)


def test_overrides_and_bad_values(info):
    cfg = build_config("bert", "tiny", info, overrides={"num_hidden_layers": 3, "hidden_dropout_prob": 0.0})
    assert cfg.num_hidden_layers == 3 and cfg.hidden_dropout_prob == 0.0
    with pytest.raises(ValueError, match="not a field of BertConfig"):
        build_config("bert", "tiny", info, overrides={"num_layerz": 3})
    with pytest.raises(ValueError, match="unknown model size 'huge'.*tiny, mini"):
        build_config("bert", "huge", info)
    with pytest.raises(ValueError, match="unknown architecture 'xlnet'"):
        build_config("xlnet", "tiny", info)


def test_each_architecture_keeps_its_own_fields(info):
    """The per-architecture builders' own choices, pinned (a table edit must not move them)."""
    got = {arch: build_config(arch, "tiny", info, max_length=128) for arch in ARCHITECTURES}
    assert got["bert"].max_position_embeddings == 512
    assert got["roberta"].max_position_embeddings == 514  # RoBERTa's positions start at padding_idx + 1
    assert got["electra"].embedding_size == 128
    assert (got["modernbert"].classifier_pooling, got["modernbert"].sparse_prediction) == ("mean", True)
    assert (got["modernbert"].cls_token_id, got["modernbert"].sep_token_id) == (info.cls_id, info.sep_id)
    assert (got["gpt2"].n_positions, got["gpt2"].n_head) == (512, 2)
    assert (got["llama"].intermediate_size, got["llama"].num_key_value_heads) == (336, 2)
    assert got["llama"].tie_word_embeddings
    assert got["bart"].decoder_start_token_id == got["bart"].forced_eos_token_id == info.eos_id
    assert (got["bart"].encoder_ffn_dim, got["bart"].decoder_layers) == (512, 2)
    assert (got["t5"].d_kv, got["t5"].feed_forward_proj, got["t5"].decoder_start_token_id) == (
        64,
        "gated-gelu",
        info.pad_id,
    )
    assert build_config("bert", "tiny", info, max_length=1024).max_position_embeddings == 1024
