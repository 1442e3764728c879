"""textssl: self-supervised pretraining of Transformer language models on text."""

from textssl.collator import Collator
from textssl.tokenization import TokenizerInfo, load_tokenizer, train_tokenizer

__version__ = "0.1.0"
__all__ = ["Collator", "TokenizerInfo", "load_tokenizer", "train_tokenizer", "__version__"]
