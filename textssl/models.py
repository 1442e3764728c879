"""Size presets x architectures -> a stock ``transformers`` config and model.

Sizes follow Turc et al. (2019), "Well-Read Students Learn Better": tiny (L2/H128), mini (L4/H256),
small (L4/H512), medium (L8/H512), base (L12/H768), with 64-dimensional heads and a 4x feed-forward.
Every model is a stock ``transformers`` class, loadable with ``AutoModel*.from_pretrained`` and no remote code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textssl.errors import ConfigError
from textssl.tokenization import TokenizerInfo


@dataclass(frozen=True)
class Size:
    layers: int
    hidden: int

    @property
    def heads(self) -> int:
        return max(1, self.hidden // 64)

    @property
    def intermediate(self) -> int:
        return 4 * self.hidden


SIZES: dict[str, Size] = {
    "tiny": Size(2, 128),
    "mini": Size(4, 256),
    "small": Size(4, 512),
    "medium": Size(8, 512),
    "base": Size(12, 768),
}


def _special_ids(info: TokenizerInfo) -> dict[str, Any]:
    return {
        "pad_token_id": info.pad_id,
        "bos_token_id": info.bos_id,
        "eos_token_id": info.eos_id,
    }


def _encoder_fields(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    """The BERT-style field names shared by the encoder configs (BERT, RoBERTa, ELECTRA, ModernBERT)."""
    return dict(
        vocab_size=info.vocab_size,
        hidden_size=s.hidden,
        num_hidden_layers=s.layers,
        num_attention_heads=s.heads,
        intermediate_size=s.intermediate,
        max_position_embeddings=positions,
        **_special_ids(info),
    )


def _bert(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    return _encoder_fields(s, info, positions)


def _roberta(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    # RoBERTa offsets its positions by padding_idx + 1: two extra slots for the same usable length.
    return _encoder_fields(s, info, positions + 2)


def _electra(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    return dict(embedding_size=s.hidden, **_encoder_fields(s, info, positions))


def _modernbert(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    return dict(
        _encoder_fields(s, info, positions),
        cls_token_id=info.cls_id,
        sep_token_id=info.sep_id,
        sparse_prediction=True,
        # MLM never trains the [CLS] position; a sequence classifier finetuned from a short
        # pretraining run does much better from the mean of all positions (README, quickstart)
        classifier_pooling="mean",
    )


def _gpt2(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    return dict(
        vocab_size=info.vocab_size,
        n_embd=s.hidden,
        n_layer=s.layers,
        n_head=s.heads,
        n_positions=positions,
        **_special_ids(info),
    )


def _llama(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    return dict(
        _encoder_fields(s, info, positions),
        num_key_value_heads=s.heads,
        # SwiGLU's three matrices: 2/3 of the 4x feed-forward, rounded down to a multiple of 8
        intermediate_size=int(s.hidden * 8 / 3) // 8 * 8,
        tie_word_embeddings=True,
    )


def _bart(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    return dict(
        vocab_size=info.vocab_size,
        d_model=s.hidden,
        encoder_layers=s.layers,
        decoder_layers=s.layers,
        encoder_attention_heads=s.heads,
        decoder_attention_heads=s.heads,
        encoder_ffn_dim=s.intermediate,
        decoder_ffn_dim=s.intermediate,
        max_position_embeddings=positions,
        decoder_start_token_id=info.eos_id,
        forced_eos_token_id=info.eos_id,
        **_special_ids(info),
    )


def _t5(s: Size, info: TokenizerInfo, positions: int) -> dict[str, Any]:
    del positions  # relative position buckets: no position table to size
    return dict(
        vocab_size=info.vocab_size,
        d_model=s.hidden,
        d_kv=64,
        d_ff=s.intermediate,
        num_layers=s.layers,
        num_decoder_layers=s.layers,
        num_heads=s.heads,
        feed_forward_proj="gated-gelu",
        decoder_start_token_id=info.pad_id,
        pad_token_id=info.pad_id,
        eos_token_id=info.eos_id,
        # Tied input/output embeddings with the decoder output scaled by d_model**-0.5 (original T5).
        # transformers 5.x always ties T5's embeddings and reads tie_word_embeddings=False as "do
        # not scale": tied std-1 embeddings then give logits ~sqrt(d_model) too large (first loss
        # ~72 instead of ln V). Asking for the tie gets the same tied, scaled model in 4.x and 5.x.
        tie_word_embeddings=True,
    )


# Architecture -> (stock ``transformers`` config class name, its constructor fields for a size preset).
# A new architecture is one builder above and one row here.
_ARCH_BUILDERS: dict[str, tuple[str, Callable[[Size, TokenizerInfo, int], dict[str, Any]]]] = {
    "bert": ("BertConfig", _bert),
    "roberta": ("RobertaConfig", _roberta),
    "modernbert": ("ModernBertConfig", _modernbert),
    "electra": ("ElectraConfig", _electra),
    "gpt2": ("GPT2Config", _gpt2),
    "llama": ("LlamaConfig", _llama),
    "bart": ("BartConfig", _bart),
    "t5": ("T5Config", _t5),
}

ARCHITECTURES = tuple(_ARCH_BUILDERS)


def build_config(
    arch: str,
    size: str,
    info: TokenizerInfo,
    max_length: int = 128,
    overrides: dict[str, Any] | None = None,
):
    """Build the ``transformers`` config for ``arch`` at preset ``size``; ``overrides`` set any config field."""
    import transformers as tf

    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}")
    if size not in SIZES:
        raise ConfigError(f"unknown model size {size!r}; choose one of: {', '.join(SIZES)}")
    class_name, fields = _ARCH_BUILDERS[arch]
    cls = getattr(tf, class_name)
    # Positions: at least 512 so finetuning can use longer inputs than pretraining did.
    kwargs = fields(SIZES[size], info, max(512, max_length))
    overrides = dict(overrides or {})
    if overrides:
        defaults = cls()
        unknown = [k for k in overrides if not hasattr(defaults, k)]
        if unknown:
            raise ConfigError(f"model override {unknown[0]!r} is not a field of {cls.__name__}")
    # Overrides go through the constructor, so derived fields (e.g. ModernBERT's layer_types) follow them.
    config = cls(**{**kwargs, **overrides})
    if arch == "t5" and not t5_scales_tied_logits(config):
        raise ConfigError(
            "model overrides give a T5 config with untied or unscaled output embeddings "
            f"(tie_word_embeddings={config.tie_word_embeddings}, "
            f"scale_decoder_outputs={getattr(config, 'scale_decoder_outputs', None)}); its first loss would be "
            "far above ln(vocabulary size). Drop the tie_word_embeddings / scale_decoder_outputs overrides."
        )
    return config


def t5_scales_tied_logits(config) -> bool:
    """Whether a T5 config ties input and output embeddings and scales the decoder output by d_model**-0.5.

    transformers 4.x scales exactly when the embeddings are tied; 5.x always ties and keeps the scaling in
    ``scale_decoder_outputs``. textssl builds only this combination: it starts training at loss ~ln V.
    """
    return bool(config.tie_word_embeddings) and bool(getattr(config, "scale_decoder_outputs", True))


def max_positions(config) -> int | None:
    """The longest input a config supports (``None`` for relative-position models like T5)."""
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if value:
            return int(value) - (2 if config.model_type == "roberta" else 0)
    return None


def count_parameters(model) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
