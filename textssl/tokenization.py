"""Tokenizer training, loading, and :class:`TokenizerInfo`, the per-vocabulary tables strategies need.

Three tokenizer kinds are supported, trained with Hugging Face ``tokenizers`` and saved as ordinary
``transformers`` tokenizer directories (loadable offline with ``AutoTokenizer.from_pretrained``):

* ``wordpiece`` -- BERT style (Devlin et al., 2019), uncased, ``##`` marks word continuations.
* ``bpe`` -- byte-level BPE in GPT-2 / RoBERTa style (Radford et al., 2019; Liu et al., 2019), ``Ġ`` marks a
  word start.
* ``unigram`` -- SentencePiece-style Unigram LM (Kudo, 2018) with T5's ``<extra_id_N>`` sentinels, ``▁`` marks
  a word start.
"""

from __future__ import annotations

import copy
import importlib.resources
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from textssl.atomic import atomic_dir
from textssl.errors import ConfigError

TOKENIZER_KINDS = ("wordpiece", "bpe", "unigram")
NUM_SENTINELS = 100
# Files one of which every saved tokenizer directory holds (fast, WordPiece, BPE and SentencePiece tokenizers).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
)

_SPECIALS = {
    "wordpiece": {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    },
    "bpe": {
        "bos_token": "<s>",
        "pad_token": "<pad>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
        "cls_token": "<s>",
        "sep_token": "</s>",
    },
    "unigram": {
        "pad_token": "<pad>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    },
}


class TokenizerError(ConfigError):
    """A tokenizer lacks something a strategy or objective needs, or cannot be found."""


def _special_list(kind: str) -> list[str]:
    seen: list[str] = []
    for tok in _SPECIALS[kind].values():
        if tok not in seen:
            seen.append(tok)
    if kind == "unigram":
        seen += [f"<extra_id_{i}>" for i in range(NUM_SENTINELS)]
    return seen


def train_tokenizer(
    kind: str,
    texts: Iterable[str],
    vocab_size: int,
    output_dir: str | os.PathLike,
    model_max_length: int = 512,
    show_progress: bool = True,
):
    """Train a tokenizer of ``kind`` on an iterator of texts and save it to ``output_dir``.

    Returns the ``transformers`` fast tokenizer. The directory is written atomically (temp dir + rename).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind not in TOKENIZER_KINDS:
        raise TokenizerError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(TOKENIZER_KINDS)}")
    if vocab_size < 300:
        raise TokenizerError(f"vocab_size={vocab_size} is too small; use at least 300")
    specials = _special_list(kind)
    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=specials, show_progress=show_progress
        )
    elif kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=show_progress,
        )
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>", show_progress=show_progress
        )
    tok.train_from_iterator(_nonempty(texts), trainer=trainer)
    if tok.get_vocab_size() < 50:
        raise TokenizerError("the training text produced almost no vocabulary; is the corpus empty?")

    if kind == "wordpiece":
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
        )
    elif kind == "bpe":
        bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>",
            pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", bos), ("</s>", eos)],
        )
    else:
        eos = tok.token_to_id("</s>")
        tok.post_processor = processors.TemplateProcessing(
            single="$A </s>", pair="$A </s> $B:1 </s>:1", special_tokens=[("</s>", eos)]
        )

    extra = {}
    if kind == "unigram":
        extra["additional_special_tokens"] = [f"<extra_id_{i}>" for i in range(NUM_SENTINELS)]
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=model_max_length, **_SPECIALS[kind], **extra
    )
    _atomic_save(fast, Path(output_dir))
    return fast


def _nonempty(texts: Iterable[str]) -> Iterator[str]:
    for t in texts:
        if t and t.strip():
            yield t


def _atomic_save(tokenizer, output_dir: Path) -> None:
    with atomic_dir(output_dir) as tmp:
        save_tokenizer(tokenizer, tmp)


def save_tokenizer(tokenizer, directory: str | os.PathLike) -> None:
    """Save ``tokenizer`` into a model directory in a form that transformers 4.x and 5.x both load."""
    tokenizer.save_pretrained(str(directory))
    config = Path(directory) / "tokenizer_config.json"
    if config.is_file() and getattr(tokenizer, "backend_tokenizer", None) is not None:
        _portable_config(config)


@dataclass(frozen=True)
class DocumentTemplate:
    """How a tokenizer wraps one sequence, derived by probing the tokenizer (not from its name).

    ``prefix`` / ``suffix``: special token ids around a document. ``space_between_sentences``: whether a
    sentence after the first must be tokenized with a leading space to get the tokens it has inside running
    text (byte-level BPE: ``Ġword``); WordPiece and SentencePiece (prefix ``▁``) do not need it.
    """

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    space_between_sentences: bool

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> DocumentTemplate:
        def enc(text: str, special: bool = False) -> list[int]:
            return list(tokenizer.encode(text, add_special_tokens=special))

        probe = enc("hello")
        full = enc("hello", special=True)
        start = next(
            (i for i in range(len(full) - len(probe) + 1) if full[i : i + len(probe)] == probe), None
        )
        if start is None:
            raise ConfigError(
                "could not find the tokenizer's single-sequence template: encoding 'hello' with special tokens "
                f"gave {full}, without {probe}"
            )
        prefix, suffix = tuple(full[:start]), tuple(full[start + len(probe) :])
        if not prefix and not suffix and getattr(tokenizer, "eos_token_id", None) is not None:
            suffix = (int(tokenizer.eos_token_id),)  # GPT-2 convention: documents end with the eos token
        a, b, b_space, ab = enc("hello"), enc("world"), enc(" world"), enc("hello world")
        space = a + b != ab and a + b_space == ab
        return cls(prefix, suffix, space)


def causal_lm_tokenizer(tokenizer):
    """A copy of ``tokenizer`` that encodes a prompt the way a causal LM trained by textssl continues it.

    Training wraps each document in the tokenizer's own template, ``prefix + text + suffix`` (byte-level BPE:
    ``<s> text </s>``; see :class:`DocumentTemplate`). A prompt is the start of a
    document, so the tokenizer saved with a CLM checkpoint keeps the prefix (a BOS exactly when training put
    one before each document) and drops the end-of-document suffix: ``"The dog"`` -> ``<s> The dog``, and
    ``generate()`` continues the text instead of starting after the end. A pair becomes two documents with
    the second left open (``<s> A </s> <s> B``). Slow tokenizers have no template to rewrite and are returned
    unchanged.
    """
    from tokenizers import processors

    if getattr(tokenizer, "backend_tokenizer", None) is None:
        return tokenizer
    template = DocumentTemplate.from_tokenizer(tokenizer)
    prefix = tokenizer.convert_ids_to_tokens(list(template.prefix))
    suffix = tokenizer.convert_ids_to_tokens(list(template.suffix))
    ids = dict(zip(prefix + suffix, template.prefix + template.suffix))
    out = copy.deepcopy(tokenizer)
    out.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=[*prefix, "$A"],
        pair=[*prefix, "$A", *suffix, *prefix, "$B"],
        special_tokens=sorted(ids.items()),
    )
    return out


def _portable_config(path: Path) -> None:
    """Name the generic fast-tokenizer class, which transformers 4.x and 5.x both load."""
    import json

    config = json.loads(path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def shipped_tokenizer_dir(kind: str) -> Iterator[Path]:
    """The directory of the shipped tokenizer ``kind``, found through ``importlib.resources``.

    The files are package data (``textssl/tokenizer_assets/<kind>``), so this works from a wheel, an editable
    install and a source checkout alike. A zipped install has no directory to hand to ``transformers``, so its
    files are then copied to a temporary directory for the ``with`` block.
    """
    if kind not in TOKENIZER_KINDS:
        raise TokenizerError(
            f"unknown shipped tokenizer {kind!r}; choose one of {', '.join(TOKENIZER_KINDS)}"
        )
    resource = importlib.resources.files("textssl") / "tokenizer_assets" / kind
    if isinstance(resource, Path):
        yield resource
        return
    with tempfile.TemporaryDirectory() as tmp:
        for item in resource.iterdir():
            (Path(tmp) / item.name).write_bytes(item.read_bytes())
        yield Path(tmp)


def _looks_local(name: str) -> bool:
    """Whether ``name`` can only be a filesystem path (a Hub id is ``name`` or ``owner/name``)."""
    return (
        name.startswith(("/", "./", "../", "~", ".\\"))
        or name in (".", "..")
        or name.count("/") > 1
        or "\\" in name
        or Path(name).exists()
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_tokenizer(name_or_path: str = "wordpiece", trust_remote_code: bool = False):
    """Load a tokenizer: a shipped name, a local directory, or a Hub model id (never remote code by default).

    A shipped name (``wordpiece``, ``bpe``, ``unigram``) wins unless a directory of that name exists here.
    A local path that does not exist, is a file or holds no tokenizer raises
    :class:`~textssl.errors.InputFileError`; a Hub id without network :class:`~textssl.errors.HubError`.
    """
    from transformers import AutoTokenizer

    from textssl.errors import InputFileError

    name = str(name_or_path)
    shipped = f"a tokenizer directory, or one of the shipped names: {', '.join(TOKENIZER_KINDS)}"
    path = name
    local = _looks_local(name)
    if local:
        if not Path(path).expanduser().exists():
            raise InputFileError(f"tokenizer {name}: no such directory", hint=f"pass {shipped}")
        if not Path(path).expanduser().is_dir():
            raise InputFileError(
                f"tokenizer {name}: is a file; a tokenizer is a directory (tokenizer.json, "
                "tokenizer_config.json ...)",
                hint=f"pass {shipped}",
            )
        path = str(Path(path).expanduser())
        if not any((Path(path) / f).is_file() for f in TOKENIZER_FILES):
            raise InputFileError(
                f"tokenizer {name}: the directory has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])} ...)",
                hint=f"pass {shipped}",
            )
    try:
        if name_or_path in TOKENIZER_KINDS and not Path(name_or_path).exists():
            with shipped_tokenizer_dir(name_or_path) as shipped_path:
                return AutoTokenizer.from_pretrained(str(shipped_path), trust_remote_code=trust_remote_code)
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        if local or Path(path).is_dir():
            raise InputFileError(
                f"tokenizer {name}: not a usable tokenizer directory ({_first_line(exc)})",
                hint=f"pass {shipped}",
            ) from exc
        from textssl.hub import hub_error, hub_unreachable

        if hub_unreachable(exc):
            raise hub_error(
                f"download the tokenizer {name!r} (no local directory of that name exists)",
                exc,
                f"use {shipped}",
            ) from exc
        raise TokenizerError(
            f"could not load tokenizer {name!r}: {_first_line(exc)}",
            hint=f"pass {shipped}, or a Hub model id (the Hub needs network access)",
        ) from exc


def _word_start_table(tokenizer, vocab_size: int, special: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Boolean table over the vocabulary: does this token begin a word?

    WordPiece marks continuations with ``##``; byte-level BPE marks starts with ``Ġ`` (a leading space);
    SentencePiece marks starts with ``▁``. Special tokens count as word starts (they are words of their own).
    """
    vocab = tokenizer.get_vocab()
    tokens = [""] * vocab_size
    for tok, idx in vocab.items():
        if idx < vocab_size:
            tokens[idx] = tok
    n_hash = sum(t.startswith("##") for t in tokens)
    n_g = sum(t.startswith("Ġ") for t in tokens)
    n_sp = sum(t.startswith("▁") for t in tokens)
    if n_hash >= max(n_g, n_sp) and n_hash > 0:
        kind, table = "wordpiece", [not t.startswith("##") for t in tokens]
    elif n_g >= n_sp and n_g > 0:
        kind, table = "bpe", [t.startswith("Ġ") for t in tokens]
    elif n_sp > 0:
        kind, table = "unigram", [t.startswith("▁") for t in tokens]
    else:  # character-level or unknown scheme: every token is its own word
        kind, table = "unknown", [True] * vocab_size
    out = torch.tensor(table, dtype=torch.bool)
    return out | special, kind


@dataclass
class TokenizerInfo:
    """Everything a corruption strategy needs to know about a vocabulary, computed once as tensors.

    ``word_start[v]`` says whether token ``v`` begins a word; ``special[v]`` marks special tokens (never
    corrupted); ``replace_ids`` lists the ids random replacement may draw (all non-special tokens);
    ``sentinel_ids`` are T5's ``<extra_id_N>`` in order (empty when the tokenizer has none).
    """

    vocab_size: int
    pad_id: int | None
    mask_id: int | None
    cls_id: int | None
    sep_id: int | None
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    special: torch.Tensor
    word_start: torch.Tensor
    replace_ids: torch.Tensor
    sentinel_ids: torch.Tensor
    kind: str = "unknown"
    unigram_probs: torch.Tensor | None = field(default=None, repr=False)

    @classmethod
    def from_tokenizer(cls, tokenizer) -> TokenizerInfo:
        """Collect special ids and the per-vocabulary tables from a ``transformers`` tokenizer."""
        vocab_size = len(tokenizer)
        special = torch.zeros(vocab_size, dtype=torch.bool)
        special_ids = [i for i in tokenizer.all_special_ids if i is not None and 0 <= i < vocab_size]
        special[special_ids] = True
        vocab = tokenizer.get_vocab()
        sentinels = []
        for i in range(NUM_SENTINELS):
            idx = vocab.get(f"<extra_id_{i}>")
            if idx is None:
                break
            sentinels.append(idx)
            special[idx] = True
        word_start, kind = _word_start_table(tokenizer, vocab_size, special)

        def tid(name: str) -> int | None:
            return getattr(tokenizer, f"{name}_token_id", None)

        replace_ids = torch.nonzero(~special).flatten()
        return cls(
            vocab_size=vocab_size,
            pad_id=tid("pad"),
            mask_id=tid("mask"),
            cls_id=tid("cls") if tid("cls") is not None else tid("bos"),
            sep_id=tid("sep") if tid("sep") is not None else tid("eos"),
            bos_id=tid("bos") if tid("bos") is not None else tid("cls"),
            eos_id=tid("eos") if tid("eos") is not None else tid("sep"),
            unk_id=tid("unk"),
            special=special,
            word_start=word_start,
            replace_ids=replace_ids,
            sentinel_ids=torch.tensor(sentinels, dtype=torch.long),
            kind=kind,
        )

    def require(self, attr: str, strategy: str) -> int:
        """Return the id named ``attr`` (e.g. ``"mask_id"``) or raise an error naming ``strategy``."""
        value = getattr(self, attr)
        if value is None:
            token = attr.removesuffix("_id")
            raise TokenizerError(
                f"{strategy} needs a {token} token; this tokenizer has none. "
                f"Use a tokenizer with a {token} token (e.g. the shipped 'wordpiece', 'bpe' or 'unigram')."
            )
        return int(value)

    def require_sentinels(self, n: int, strategy: str) -> torch.Tensor:
        """Return the first ``n`` sentinel ids or raise if the tokenizer has fewer."""
        if len(self.sentinel_ids) < n:
            raise TokenizerError(
                f"{strategy} needs {n} sentinel tokens (<extra_id_0>...); this tokenizer has "
                f"{len(self.sentinel_ids)}. Use the shipped 'unigram' tokenizer or a T5 tokenizer."
            )
        return self.sentinel_ids[:n]

    def set_unigram_counts(self, counts: torch.Tensor) -> None:
        """Set corpus unigram frequencies (length ``vocab_size``) for frequency-based replacement."""
        counts = counts.to(torch.float64).clone()
        if counts.numel() != self.vocab_size:
            raise ConfigError(
                f"unigram counts have {counts.numel()} entries, vocabulary has {self.vocab_size}"
            )
        counts[self.special] = 0
        if counts.sum() <= 0:
            raise ConfigError("unigram counts are all zero outside special tokens")
        self.unigram_probs = (counts / counts.sum()).to(torch.float32)
