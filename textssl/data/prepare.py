"""The whole data chain in one call: read -> split sentences -> tokenize (cached) -> pack -> (save).

The training loop calls :func:`get_blocks`, which accepts either a raw source (prepared on the fly, cached by
``datasets``) or a directory written by :func:`prepare_dataset` / ``textssl data prepare`` (loaded
memory-mapped, checked against the tokenizer and block length). :func:`blocks_from_texts` runs the same
splitter, tokenizer pass and packer on documents held in memory (previews, tests, benchmarks).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textssl.atomic import atomic_dir
from textssl.data.packing import (
    PACK_MODES,
    DocumentTokenizer,
    Packer,
    main_process_first,
    pack,
    tokenize_documents,
    tokenizer_fingerprint,
)
from textssl.data.readers import ReaderOptions, read_documents
from textssl.data.sentences import SplitFn
from textssl.data.streaming import stream_blocks
from textssl.errors import ConfigError, InputFileError, MissingKeyError

META_FILE = "textssl_data.json"
BLOCK_COLUMNS = ("input_ids", "document_ids", "sentence_ids")


@dataclass
class PrepareSummary:
    """What :func:`prepare_dataset` did. ``packing_efficiency`` = real tokens / block slots."""

    source: str
    tokenizer: str
    mode: str
    max_length: int
    documents: int
    sentences: int
    tokens: int
    blocks: int
    packing_efficiency: float
    dropped_tokens: int = 0
    split_lines: int = 0
    skipped_lines: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        rows = [
            ("source", self.source),
            ("tokenizer", self.tokenizer),
            ("mode", f"{self.mode}, {self.max_length} tokens per block"),
            ("documents", f"{self.documents:,}"),
            ("sentences", f"{self.sentences:,}"),
            ("tokens", f"{self.tokens:,}"),
            ("blocks", f"{self.blocks:,}"),
            ("packing efficiency", f"{100 * self.packing_efficiency:.2f}%"),
        ]
        if self.dropped_tokens:
            rows.append(("dropped tokens (tail)", f"{self.dropped_tokens:,}"))
        rows.append(("split long lines", f"{self.split_lines:,}"))
        if self.skipped_lines:
            rows.append(("skipped undecodable lines", f"{self.skipped_lines:,}"))
        rows.append(("time", f"{self.seconds:.1f} s"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def check_max_length(max_length: int, max_positions: int | None, what: str = "the model") -> int:
    """Raise a clear error when blocks of ``max_length`` tokens cannot fit ``max_positions`` positions."""
    if not isinstance(max_length, (int, np.integer)) or max_length < 2:
        raise ConfigError(f"max_length must be an integer >= 2, got {max_length!r}")
    if max_positions is not None and max_length > max_positions:
        raise ConfigError(
            f"max_length={max_length} is longer than {what}'s {max_positions} position embeddings; "
            f"use --max-length {max_positions} or less (or a model with more positions)"
        )
    return int(max_length)


def _load_tok(tokenizer: Any) -> tuple[Any, str]:
    if isinstance(tokenizer, (str, os.PathLike)):
        from textssl.tokenization import load_tokenizer

        return load_tokenizer(os.fspath(tokenizer)), os.fspath(tokenizer)
    return tokenizer, getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__


def _pad_id(tok: Any, mode: str) -> int | None:
    from textssl.tokenization import TokenizerInfo

    info = TokenizerInfo.from_tokenizer(tok)
    if mode == "document":
        return info.require("pad_id", "document-mode packing")
    return info.pad_id


def prepare_dataset(
    source: Any,
    tokenizer: Any,
    max_length: int,
    mode: str = "concat",
    *,
    reader: ReaderOptions | None = None,
    splitter: str | SplitFn = "rule",
    num_proc: int | None = None,
    drop_last: bool = False,
    output_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    accelerator: Any | None = None,
    max_positions: int | None = None,
    **read_options: Any,
) -> tuple[Any, PrepareSummary]:
    """Read ``source``, tokenize it with ``tokenizer`` and pack it into blocks of ``max_length`` tokens.

    ``source`` and the reading options are those of :func:`~textssl.data.load_documents`: a
    :class:`~textssl.data.ReaderOptions` as ``reader`` and/or its fields as keywords (``text_column=...``,
    ``doc_mode=...``, ``cache_dir=...``; the keywords win). ``tokenizer`` is a
    ``transformers`` tokenizer or a name for :func:`textssl.tokenization.load_tokenizer` (``wordpiece``,
    ``bpe``, ``unigram``, a directory, a Hub id). ``mode`` is ``concat`` (default) or ``document``; see
    :func:`~textssl.data.pack`. Every step is cached by ``datasets`` (in ``cache_dir``), and with an
    ``accelerator`` the main process does the work first while the others wait and read the cache.
    ``output_dir`` saves the blocks with ``save_to_disk`` atomically (temp dir + rename) plus a
    ``textssl_data.json`` with the summary and tokenizer fingerprint. ``max_positions`` checks the block
    length against a model. Returns ``(blocks, summary)``.
    """
    start = time.perf_counter()
    read = ReaderOptions.build(reader, **read_options)
    if read.streaming:
        raise ConfigError(
            "prepare_dataset reads the whole corpus; for streaming use get_blocks(..., streaming=True)"
        )
    if mode not in PACK_MODES:
        raise ConfigError(f"mode={mode!r}; choose one of {', '.join(PACK_MODES)}")
    check_max_length(max_length, max_positions)
    if output_dir is not None:
        sources = source if isinstance(source, (list, tuple)) else [source]
        _check_output(
            Path(output_dir),
            overwrite,
            [("--input", x) for x in sources if isinstance(x, (str, os.PathLike))]
            + ([("--tokenizer", tokenizer)] if isinstance(tokenizer, (str, os.PathLike)) else []),
        )
    tok, tok_name = _load_tok(tokenizer)
    pad_id = _pad_id(tok, mode)
    with main_process_first(accelerator):
        docs, rstats = read_documents(source, read)
        tokenized = tokenize_documents(docs, tok, num_proc=num_proc, splitter=splitter)
        blocks, pstats = pack(tokenized, max_length, mode, pad_id=pad_id, drop_last=drop_last)
    if pstats.blocks == 0:
        raise ConfigError(
            f"{source}: the corpus produced no tokens ({pstats.documents} documents); is it empty after reading?"
            if pstats.tokens == 0
            else f"{source}: {pstats.tokens} tokens do not fill one block of {max_length} and drop_last=True"
        )
    summary = PrepareSummary(
        source=_source_name(source),
        tokenizer=tok_name,
        mode=mode,
        max_length=int(max_length),
        documents=pstats.documents,
        sentences=pstats.sentences,
        tokens=pstats.tokens,
        blocks=pstats.blocks,
        packing_efficiency=pstats.efficiency,
        dropped_tokens=pstats.dropped_tokens,
        split_lines=rstats.split_lines,
        skipped_lines=rstats.skipped_lines,
    )
    if output_dir is not None:
        if accelerator is None or accelerator.is_main_process:
            summary.seconds = time.perf_counter() - start
            save_prepared(blocks, summary, output_dir, tokenizer=tok, overwrite=overwrite)
        if accelerator is not None:
            accelerator.wait_for_everyone()
    summary.seconds = time.perf_counter() - start
    return blocks, summary


def _source_name(source: Any) -> str:
    if isinstance(source, (list, tuple)):
        return ", ".join(os.fspath(s) for s in source)
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else repr(source)


def _check_output(out: Path, overwrite: bool, inputs: list | None = None) -> None:
    """The shared output check (:func:`textssl.atomic.check_output_dir`): refuse a file, a non-empty directory
    without ``overwrite``, and an output that is or contains an input."""
    from textssl.atomic import check_output_dir

    check_output_dir(out, overwrite=overwrite, flag="overwrite=True (--overwrite)", inputs=inputs or ())


def save_prepared(
    blocks: Any,
    summary: PrepareSummary,
    output_dir: str | os.PathLike,
    *,
    tokenizer: Any | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``blocks`` (``save_to_disk``) and ``textssl_data.json`` atomically (:func:`textssl.atomic.atomic_dir`).

    The data goes to a hidden temp directory next to ``output_dir`` that is renamed into place only when
    complete; on any failure (or Ctrl-C) the temp directory is removed and an existing ``output_dir`` is
    untouched. An existing non-empty ``output_dir`` is replaced only with ``overwrite=True``.
    """
    out = Path(output_dir)
    _check_output(out, overwrite)
    with atomic_dir(out) as tmp:
        blocks.save_to_disk(str(tmp))
        meta = {"format": "textssl-blocks", "version": 1, "summary": summary.to_dict()}
        if tokenizer is not None:
            meta["tokenizer_fingerprint"] = tokenizer_fingerprint(tokenizer)
            meta["vocab_size"] = len(tokenizer)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1))
    return out


def is_prepared_dir(path: Any) -> bool:
    """Is ``path`` a directory written by ``save_to_disk`` (e.g. by ``textssl data prepare``)?"""
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = Path(path)
    return p.is_dir() and (p / "state.json").is_file() and (p / "dataset_info.json").is_file()


def prepared_info(path: str | os.PathLike) -> dict[str, Any]:
    """The ``textssl_data.json`` metadata of a prepared directory (empty dict if absent)."""
    meta = Path(path) / META_FILE
    return json.loads(meta.read_text()) if meta.is_file() else {}


def load_prepared(path: str | os.PathLike) -> Any:
    """Load a prepared blocks directory (memory-mapped). Raises if it is not one."""
    import datasets

    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{path}: no such prepared dataset directory")
    if not is_prepared_dir(p):
        raise ConfigError(
            f"{path}: not a prepared dataset (no state.json / dataset_info.json from save_to_disk)"
        )
    ds = datasets.load_from_disk(str(p))
    if isinstance(ds, datasets.DatasetDict):
        raise ConfigError(f"{path}: holds several splits ({', '.join(ds)}); give the directory of one split")
    missing = [c for c in BLOCK_COLUMNS if c not in ds.column_names]
    if missing:
        raise MissingKeyError(
            f"{path}: missing columns {missing} (have {ds.column_names}); prepare it with `textssl data prepare`"
        )
    return ds


def get_blocks(
    source: Any,
    tokenizer: Any,
    max_length: int,
    mode: str = "concat",
    *,
    streaming: bool = False,
    max_positions: int | None = None,
    accelerator: Any | None = None,
    rank: int | None = None,
    world_size: int | None = None,
    shuffle_buffer: int = 10_000,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[Any, PrepareSummary | None]:
    """One entry point for training: blocks from a raw source or a prepared directory.

    * a prepared directory (``save_to_disk`` layout): loaded; its block length must equal ``max_length`` and
      its tokenizer must match ``tokenizer`` (when it recorded one);
    * ``streaming=True``: :func:`~textssl.data.stream_blocks` (lazy, flat memory; ``rank``/``world_size``
      default to the accelerator's process index / count); the summary is None;
    * anything else: :func:`prepare_dataset` (cached).
    """
    check_max_length(max_length, max_positions)
    tok, _ = _load_tok(tokenizer)
    if is_prepared_dir(source):
        ds = load_prepared(source)
        width = len(ds[0]["input_ids"]) if len(ds) else max_length
        if width != max_length:
            raise ConfigError(
                f"{source}: prepared with blocks of {width} tokens, but max_length={max_length}; re-run "
                f"`textssl data prepare --max-length {max_length}` or use max_length={width}"
            )
        meta = prepared_info(source)
        fp = meta.get("tokenizer_fingerprint")
        if fp is not None and fp != tokenizer_fingerprint(tok):
            raise ConfigError(
                f"{source}: prepared with a different tokenizer ({meta.get('summary', {}).get('tokenizer')}); "
                "prepare it again with this tokenizer"
            )
        summary = meta.get("summary")
        return ds, PrepareSummary(**summary) if summary else None
    if streaming:
        if kwargs.pop("output_dir", None) is not None:
            raise ConfigError("streaming blocks are not saved: drop output_dir, or prepare without streaming")
        kwargs.pop("num_proc", None)  # streaming tokenizes inside the DataLoader workers
        kwargs.pop("overwrite", None)
        if rank is None:
            rank = accelerator.process_index if accelerator is not None else 0
        if world_size is None:
            world_size = accelerator.num_processes if accelerator is not None else 1
        blocks = stream_blocks(
            source,
            tok,
            max_length,
            mode,
            rank=rank,
            world_size=world_size,
            shuffle_buffer=shuffle_buffer,
            seed=seed,
            **kwargs,
        )
        return blocks, None
    return prepare_dataset(source, tok, max_length, mode, accelerator=accelerator, **kwargs)


def blocks_to_features(
    ids: np.ndarray, document_ids: np.ndarray, sentence_ids: np.ndarray, trim_padding: bool = False
) -> list[dict[str, list[int]]]:
    """``[blocks, max_length]`` arrays (as :class:`~textssl.data.Packer` returns them) -> one feature per block,
    the dict of int lists a blocks ``Dataset`` yields and :class:`textssl.Collator` takes.

    ``trim_padding`` cuts each block after its last real token (padding is only ever at the end of a block),
    so the Collator pads it again with ``attention_mask`` 0 instead of attending to pad tokens.
    """
    width = ids.shape[1]
    lengths = (document_ids >= 0).sum(axis=1) if trim_padding else np.full(len(ids), width)
    return [
        {
            "input_ids": ids[r, :n].tolist(),
            "document_ids": document_ids[r, :n].tolist(),
            "sentence_ids": sentence_ids[r, :n].tolist(),
        }
        for r, n in enumerate(lengths.tolist())
    ]


def blocks_from_texts(
    tokenizer: Any,
    texts: Sequence[str],
    max_length: int,
    mode: str = "concat",
    *,
    splitter: str | SplitFn = "rule",
    drop_last: bool = False,
    trim_padding: bool = False,
) -> list[dict[str, list[int]]]:
    """Blocks from documents held in memory, made exactly as training makes them.

    ``texts`` holds one document per string (cut a longer text with
    :func:`~textssl.data.split_text_documents`, as a file would be cut). They go through the pipeline's own
    sentence splitter (``splitter``), tokenizer pass (:class:`~textssl.data.DocumentTokenizer`) and packer
    (:class:`~textssl.data.Packer`), so the result equals ``pack(tokenize_documents(...))`` on the same
    documents. ``mode``, ``drop_last`` and the padding of the last block follow :func:`prepare_dataset`;
    ``trim_padding`` cuts the padding off (see :func:`blocks_to_features`). Returns a list of features with
    ``input_ids``, ``document_ids`` and ``sentence_ids``; used by ``textssl corrupt``, the benchmarks and
    the tests.
    """
    if mode not in PACK_MODES:
        raise ConfigError(f"mode={mode!r}; choose one of {', '.join(PACK_MODES)}")
    check_max_length(max_length, None)
    if isinstance(texts, str):
        raise ConfigError("texts must be a list of documents, not one string; wrap it in a list")
    tok, _ = _load_tok(tokenizer)
    packer = Packer(max_length, mode, _pad_id(tok, mode), drop_last)
    ids, sent, lengths, _ = DocumentTokenizer(tok, splitter).encode(list(texts))
    parts = [packer.add(ids, sent, lengths), packer.finish()]
    arrays = (np.concatenate([part[k] for part in parts]) for k in range(3))
    return blocks_to_features(*arrays, trim_padding=trim_padding)


def unigram_counts(dataset: Any, vocab_size: int, max_rows: int | None = None) -> torch.Tensor:
    """Token frequencies over a blocks (or tokenized) dataset as an int64 tensor of length ``vocab_size``.

    Padding (``document_ids == -1``) is not counted. Vectorized with ``numpy.bincount`` over chunks of rows;
    an ``IterableDataset`` is read for at most ``max_rows`` rows (default 10,000). Feed the result to
    ``TokenizerInfo.set_unigram_counts`` for WordReplacement's unigram source.
    """
    import datasets
    import pyarrow.compute as pc

    counts = np.zeros(vocab_size, dtype=np.int64)

    def add(ids: np.ndarray, doc: np.ndarray | None) -> None:
        if doc is not None:
            ids = ids[doc >= 0]
        if len(ids) and (ids.max() >= vocab_size or ids.min() < 0):
            raise ConfigError(
                f"token ids outside [0, {vocab_size}): was the dataset made with another tokenizer?"
            )
        counts[:] += np.bincount(ids, minlength=vocab_size)[:vocab_size]

    if isinstance(dataset, datasets.IterableDataset):
        limit = 10_000 if max_rows is None else max_rows
        for i, row in enumerate(dataset):
            if i >= limit:
                break
            doc = np.asarray(row["document_ids"]) if "document_ids" in row else None
            add(np.asarray(row["input_ids"], dtype=np.int64), doc)
        return torch.from_numpy(counts)
    has_doc = "document_ids" in dataset.column_names
    arrow = dataset.with_format("arrow")
    n = len(dataset) if max_rows is None else min(max_rows, len(dataset))
    for start in range(0, n, 20_000):
        table = arrow[start : min(n, start + 20_000)]
        ids = pc.list_flatten(table.column("input_ids")).to_numpy(zero_copy_only=False).astype(np.int64)
        doc = (
            pc.list_flatten(table.column("document_ids")).to_numpy(zero_copy_only=False) if has_doc else None
        )
        add(ids, doc)
    return torch.from_numpy(counts)
