"""Training FLOPs per step, counted per objective, and the conversion of a budget into a step count.

The count is the usual dense-Transformer estimate (Kaplan et al. 2020, "Scaling Laws for Neural Language
Models", section 2.1), applied to each part of the model on the tokens that part actually processes:

* a forward pass costs ``2`` FLOPs per weight of every matrix multiplication per token that goes through it
  (embedding lookups are free), plus the attention scores and the weighted sum, ``4 * ctx * d_attn`` per token
  per layer (``ctx`` = the context attended over, the full block also for causal attention, as Kaplan counts);
* training costs 3x the forward pass (backward = 2x forward);
* heads are counted where they run: the sparse MLM head (dense ``d x d`` transform + ``d x V`` decoder) only on
  the predicted positions (``rate x block`` per row), a full-vocabulary head (CLM, seq2seq) on every output
  token, ELECTRA's discriminator head on every token;
* ELECTRA = generator (its own width, on every token, plus its head on the masked positions) + discriminator;
* seq2seq = encoder on the input length + decoder (self-attention, cross-attention, FFN) on the target length,
  with the cross-attention keys/values projected from every input token in every decoder layer. T5 lengths
  follow its span rule; BART's encoder is counted at the full block (infilling shortens it by a few percent).

Layer norms, biases, activations, softmax and the loss are left out (a few percent at these widths, the same
convention for every arm). ``docs/compare.md`` walks through a hand computation; ``tests/test_compare.py``
checks the formula against it and the matrix sizes against real ``transformers`` models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from textssl.errors import ConfigError

TRAIN_MULTIPLIER = 3  # forward + backward (2x forward)


@dataclass(frozen=True)
class Stack:
    """A stack of Transformer layers, as far as matmul FLOPs are concerned."""

    layers: int
    d_model: int
    d_attn: int  # heads x head_dim (query and output projections)
    d_ff: int
    glu: bool = False  # gated FFN: three d x d_ff matrices instead of two
    d_kv: int | None = None  # key/value width (grouped-query attention); default d_attn
    cross: bool = False  # decoder layer with cross-attention

    def matmul_params(self) -> int:
        """Weights of the per-token matrix multiplications of one layer (cross-attention Q and O included)."""
        kv = self.d_kv if self.d_kv is not None else self.d_attn
        attn = 2 * self.d_model * self.d_attn + 2 * self.d_model * kv
        ffn = (3 if self.glu else 2) * self.d_model * self.d_ff
        cross = 2 * self.d_model * self.d_attn if self.cross else 0
        return attn + ffn + cross

    def forward_per_token(self, ctx: int, cross_ctx: int = 0) -> float:
        """Forward FLOPs per token through the whole stack: matmuls + attention over ``ctx`` (+ ``cross_ctx``)."""
        per_layer = 2 * self.matmul_params() + 4 * ctx * self.d_attn
        if self.cross:
            per_layer += 4 * cross_ctx * self.d_attn
        return self.layers * per_layer


def masking_rate(strategy: Any, steps: int) -> float:
    """Mean fraction of positions with an MLM target over ``steps`` steps (0 when the strategy masks nothing).

    Looks through a ``Compose`` for its masking member; a rate schedule (e.g. ``Linear(0.3, 0.15, n)``) is
    averaged over up to 256 evenly spaced steps of the run.
    """
    from textssl.corruption import SpanMasking, TokenMasking, WholeWordMasking
    from textssl.corruption.masking import rate_at

    members = getattr(strategy, "strategies", [strategy])
    masking = [s for s in members if isinstance(s, (TokenMasking, WholeWordMasking, SpanMasking))]
    if not masking:
        return 0.0
    rate = masking[-1].rate
    n = max(1, min(int(steps), 256))
    points = [round(i * max(steps - 1, 0) / max(n - 1, 1)) for i in range(n)]
    return sum(rate_at(rate, p) for p in points) / len(points)


def t5_lengths(block: int, noise_density: float, mean_span_length: float) -> tuple[int, int]:
    """(encoder input, decoder target) lengths of a T5 span-corrupted block of ``block`` tokens."""
    noise = min(max(round(block * noise_density), 1), block - 1)
    spans = min(max(round(noise / mean_span_length), 1), block - noise)
    return block - noise + spans + 1, noise + spans + 1


def _dims(config) -> dict[str, Any]:
    """Widths of a ``transformers`` config, whatever the architecture calls them."""
    t = config.model_type
    if t in ("bert", "roberta", "electra", "modernbert"):
        stack = Stack(
            layers=config.num_hidden_layers,
            d_model=config.hidden_size,
            d_attn=config.hidden_size,
            d_ff=config.intermediate_size,
            glu=t == "modernbert",
        )
        return {
            "encoder": stack,
            "vocab": config.vocab_size,
            "embedding": getattr(config, "embedding_size", None),
        }
    if t == "gpt2":
        d = config.n_embd
        stack = Stack(config.n_layer, d, d, config.n_inner or 4 * d)
        return {"encoder": stack, "vocab": config.vocab_size}
    if t == "llama":
        d = config.hidden_size
        head = getattr(config, "head_dim", None) or d // config.num_attention_heads
        stack = Stack(
            config.num_hidden_layers,
            d,
            head * config.num_attention_heads,
            config.intermediate_size,
            glu=True,
            d_kv=head * (config.num_key_value_heads or config.num_attention_heads),
        )
        return {"encoder": stack, "vocab": config.vocab_size}
    if t == "bart":
        d = config.d_model
        enc = Stack(config.encoder_layers, d, d, config.encoder_ffn_dim)
        dec = Stack(config.decoder_layers, d, d, config.decoder_ffn_dim, cross=True)
        return {"encoder": enc, "decoder": dec, "vocab": config.vocab_size}
    if t == "t5":
        d, inner = config.d_model, config.d_kv * config.num_heads
        glu = str(config.feed_forward_proj).startswith("gated")
        enc = Stack(config.num_layers, d, inner, config.d_ff, glu=glu)
        dec = Stack(
            config.num_decoder_layers or config.num_layers, d, inner, config.d_ff, glu=glu, cross=True
        )
        return {"encoder": enc, "decoder": dec, "vocab": config.vocab_size}
    raise ConfigError(f"FLOPs counting does not know model type {t!r}")


def electra_generator_width(hidden: int, generator_fraction: float) -> int:
    """The generator width ``ReplacedTokenDetection.build_model`` uses (a multiple of 64, at least 64)."""
    return max(64, int(hidden * generator_fraction) // 64 * 64)


def sequence_flops(
    objective: str,
    config,
    block: int,
    mask_rate: float = 0.15,
    objective_args: Mapping[str, Any] | None = None,
    strategy: Any = None,
) -> dict[str, float]:
    """Training FLOPs for one block of ``block`` tokens, by part (forward x 3).

    ``config`` is the model's ``transformers`` config (the discriminator's for ELECTRA); ``mask_rate`` the
    fraction of positions with an MLM target (:func:`masking_rate`).
    """
    dims = _dims(config)
    enc: Stack = dims["encoder"]
    vocab, d = dims["vocab"], enc.d_model
    masked = mask_rate * block
    fwd: dict[str, float] = {}
    if objective in ("mlm", "sop", "nsp"):
        fwd["encoder"] = block * enc.forward_per_token(block)
        fwd["mlm_head"] = masked * 2 * (d * d + d * vocab)
        if objective in ("sop", "nsp"):
            fwd["sentence_head"] = 2 * (d * d + 2 * d)  # pooler + 2-way classifier, once per row
    elif objective == "electra":
        args = dict(objective_args or {})
        g = electra_generator_width(d, float(args.get("generator_fraction", 0.25)))
        emb = dims.get("embedding") or d
        gen = Stack(enc.layers, g, g, 4 * g)
        fwd["generator"] = block * (gen.forward_per_token(block) + (2 * emb * g if emb != g else 0))
        fwd["generator_head"] = masked * 2 * (g * emb + emb * vocab)
        fwd["discriminator"] = block * (enc.forward_per_token(block) + (2 * emb * d if emb != d else 0))
        fwd["discriminator_head"] = block * 2 * (d * d + d)
    elif objective == "clm":
        fwd["decoder"] = block * enc.forward_per_token(block)
        fwd["lm_head"] = block * 2 * d * vocab
    elif objective == "seq2seq":
        dec: Stack = dims["decoder"]
        if config.model_type == "t5":
            density = getattr(strategy, "noise_density", 0.15)
            span = getattr(strategy, "mean_span_length", 3.0)
            n_in, n_out = t5_lengths(block, density, span)
        else:
            n_in, n_out = block, block
        fwd["encoder"] = n_in * enc.forward_per_token(n_in)
        fwd["decoder"] = n_out * dec.forward_per_token(n_out, cross_ctx=n_in)
        fwd["cross_kv"] = n_in * dec.layers * 2 * 2 * d * dec.d_attn
        fwd["lm_head"] = n_out * 2 * d * vocab
    else:
        raise ConfigError(f"FLOPs counting does not know objective {objective!r}")
    return {k: TRAIN_MULTIPLIER * v for k, v in fwd.items()}


@dataclass
class ArmFlops:
    """An arm's training cost: FLOPs per sequence by part (at a given masking rate) and rows per step."""

    objective: str
    config: Any  # the model's transformers config
    block: int
    rows_per_step: int
    strategy: Any = None
    objective_args: dict[str, Any] = field(default_factory=dict)

    def parts(self, mask_rate: float | None = None) -> dict[str, float]:
        """Training FLOPs per sequence by part; ``mask_rate`` defaults to the strategy's rate at step 0."""
        rate = masking_rate(self.strategy, 1) if mask_rate is None else mask_rate
        return sequence_flops(
            self.objective, self.config, self.block, rate, self.objective_args, self.strategy
        )

    @property
    def tokens_per_step(self) -> int:
        return self.rows_per_step * self.block

    def flops(self, steps: int) -> float:
        """Training FLOPs of the first ``steps`` steps (a masking-rate schedule is averaged over them)."""
        if steps <= 0:
            return 0.0
        per_sequence = sum(self.parts(masking_rate(self.strategy, steps)).values())
        return float(steps) * self.rows_per_step * per_sequence

    def steps_for(self, kind: str, value: float) -> int:
        """Steps that spend a budget of ``value`` ``kind`` (steps, tokens or flops)."""
        return steps_for_budget(kind, value, self.flops, self.tokens_per_step)


def arm_flops(options: Mapping[str, Any], info, world_size: int = 1) -> ArmFlops:
    """The cost model of an arm (its PretrainConfig options) with tokenizer ``info`` (for the vocabulary).

    Builds the arm's ``transformers`` config the way pretraining does (no weights are allocated).
    """
    from textssl.compare.arms import strategy_of
    from textssl.models import build_config

    max_length = int(options.get("max_length", 128))
    config = build_config(
        options["arch"], options.get("size", "tiny"), info, max_length, options.get("model_overrides") or {}
    )
    return ArmFlops(
        objective=options.get("objective", "mlm"),
        config=config,
        block=max_length,
        rows_per_step=rows_per_step(options, world_size),
        strategy=strategy_of(options),
        objective_args=dict(options.get("objective_args") or {}),
    )


def rows_per_step(options: Mapping[str, Any], world_size: int = 1) -> int:
    """Sequences per optimizer step: batch x accumulation x processes."""
    return int(options.get("batch_size", 32)) * int(options.get("grad_accum", 1)) * int(world_size)


def steps_for_budget(kind: str, value: float, cost_of_steps, tokens_per_step: int) -> int:
    """The step count that spends ``value`` of ``kind`` (``steps``, ``tokens`` or ``flops``).

    ``cost_of_steps(n)`` gives the training FLOPs of the first ``n`` steps (it may depend on ``n`` through a
    masking-rate schedule), so a FLOPs budget is solved by bisection for the largest ``n`` that fits.
    """
    if kind == "steps":
        return int(value)
    if kind == "tokens":
        return int(value // tokens_per_step)
    if kind != "flops":
        raise ConfigError(f"unknown budget kind {kind!r}; use flops:N, tokens:N or steps:N")
    lo, hi = 0, max(1, int(value // max(cost_of_steps(1), 1.0)) * 2 + 2)
    while cost_of_steps(hi) <= value:  # a schedule that makes later steps cheaper
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cost_of_steps(mid) <= value:
            lo = mid
        else:
            hi = mid
    return lo


def human(x: float) -> str:
    """``1.234e13`` -> ``'1.23e13'``; small integers stay as they are."""
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) < 1e5 and float(x).is_integer():
        return str(int(x))
    exp = int(math.floor(math.log10(abs(x))))
    return f"{x / 10**exp:.3g}e{exp}"
