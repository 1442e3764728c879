"""textssl: self-supervised pretraining of Transformer language models on text.

The entry points users reach for, importable from the top level::

    from textssl import Collator, WholeWordMasking, blocks_from_texts, load_tokenizer

    tokenizer = load_tokenizer("wordpiece")
    blocks = blocks_from_texts(tokenizer, ["One document. Two sentences.", "Another one."], 16)  # text -> blocks
    batch = Collator(tokenizer, WholeWordMasking(rate=0.15))(blocks)         # blocks -> corrupted batch

Names are imported lazily on first use (PEP 562 ``__getattr__``), so ``import textssl`` stays fast and does not
pull in torch, transformers or datasets; the full API lives in the subpackages (``textssl.corruption``,
``textssl.data``, ``textssl.training``, ...). See docs/architecture.md for how the pieces fit.
"""

from __future__ import annotations

from textssl.lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it (one line per name; the only place to add a top-level export)
_EXPORTS = {
    # corruption: the Collator, every strategy, Compose and the rate schedules
    "Collator": "textssl.collator",
    "Compose": "textssl.corruption",
    "Linear": "textssl.corruption",
    "Constant": "textssl.corruption",
    "TokenMasking": "textssl.corruption",
    "WholeWordMasking": "textssl.corruption",
    "SpanMasking": "textssl.corruption",
    "T5SpanCorruption": "textssl.corruption",
    "TextInfilling": "textssl.corruption",
    "TokenDeletion": "textssl.corruption",
    "TokenInsertion": "textssl.corruption",
    "DocumentRotation": "textssl.corruption",
    "WordReplacement": "textssl.corruption",
    "SentencePermutation": "textssl.corruption",
    "SentenceOrder": "textssl.corruption",
    "NextSentence": "textssl.corruption",
    "CausalLM": "textssl.corruption",
    # data: text -> blocks
    "get_blocks": "textssl.data",
    "blocks_from_texts": "textssl.data",
    # pretraining
    "pretrain": "textssl.training.pretrain",
    "PretrainConfig": "textssl.training.config",
    # finetuning and the GLUE-style suite
    "finetune": "textssl.finetuning.loop",
    "run_glue_suite": "textssl.finetuning.suite",
    "FinetuneConfig": "textssl.finetuning.protocol",
    # tokenizers
    "load_tokenizer": "textssl.tokenization",
    "train_tokenizer": "textssl.tokenization",
    "TokenizerInfo": "textssl.tokenization",
}

__all__ = [*_EXPORTS, "__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
