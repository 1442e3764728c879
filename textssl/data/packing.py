"""Tokenize documents once, then pack them into fixed-length blocks.

Tokenization (:func:`tokenize_documents`) splits each document into sentences, tokenizes all sentences of a
``datasets.map`` batch in one fast-tokenizer call (no special tokens), then wraps each document in the
tokenizer's own single-sequence template (WordPiece ``[CLS] ... [SEP]``, byte-level BPE ``<s> ... </s>``,
Unigram ``... </s>``), recording a document-local sentence id per token (-1 on special tokens). The result
is cached by ``datasets`` (fingerprint of input + tokenizer + splitter), so a second run, or the other
processes of a distributed job (``accelerator.main_process_first()``), do not tokenize again.

Packing (:func:`pack`) follows the block contract of ``textssl``: each block is a row with ``input_ids``,
``document_ids`` and ``sentence_ids`` of exactly ``max_length`` tokens.

* ``mode="concat"``: documents are concatenated and cut into blocks (RoBERTa's FULL-SENTENCES, Liu et al.
  2019; Hugging Face's ``group_texts``), carrying the remainder over from one chunk of documents to the next
  instead of dropping each batch's remainder as ``group_texts`` does. Only the end of the whole corpus can
  leave a partial block: it is padded (default) or dropped (``drop_last=True``).
* ``mode="document"``: one document per block, padded; a document longer than a block continues in the
  next block(s).

``document_ids`` are block-local (0, 1, ... in order of appearance; special tokens carry their document's
id); ``sentence_ids`` are block-local, consecutive from 0 over the block's sentences, -1 on special tokens;
padding is -1 in both. A document or sentence cut by a block boundary continues with fresh block-local ids.
Everything is vectorized with numpy over chunks of documents (no Python loop over tokens).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from textssl.atomic import atomic_file
from textssl.data.sentences import SplitFn, get_splitter
from textssl.errors import ConfigError, MissingKeyError
from textssl.tokenization import DocumentTemplate

PACKING_VERSION = "1"
ENCODE_CHUNK = 8192  # sentences per tokenizer call (bounds the Python lists of ids held at once)

PACK_MODES = ("concat", "document")


# ---------------------------------------------------------------------------------------------- tokenization
def _int_list_array(values: np.ndarray, lengths: np.ndarray) -> Any:
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.int32()))


def tokenized_features() -> Any:
    import datasets

    return datasets.Features(
        {
            "input_ids": datasets.List(datasets.Value("int32")),
            "sentence_ids": datasets.List(datasets.Value("int32")),
        }
    )


class DocumentTokenizer:
    """Turn a batch of document strings into template-wrapped token ids with sentence ids.

    Picklable (for ``num_proc`` and DataLoader workers). Called by ``datasets.map`` it returns a
    ``pyarrow.Table`` with ``input_ids`` and ``sentence_ids`` (one row per non-empty document).
    """

    def __init__(self, tokenizer: Any, splitter: str | SplitFn = "rule") -> None:
        self.tokenizer = tokenizer
        self.splitter = splitter
        self.template = DocumentTemplate.from_tokenizer(tokenizer)
        self._split: SplitFn | None = None
        get_splitter(splitter)  # validate early (e.g. punkt without nltk)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_split"] = None
        return state

    def _encode_sentences(self, sentences: list[str]) -> list[list[int]]:
        tok = self.tokenizer
        backend = getattr(tok, "backend_tokenizer", None)
        if backend is not None:
            fn = getattr(backend, "encode_batch_fast", None) or backend.encode_batch
            return [e.ids for e in fn(sentences, add_special_tokens=False)]
        return tok(sentences, add_special_tokens=False)["input_ids"]

    def _encode_flat(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of all sentences as one flat int32 array plus per-sentence lengths. Sentences go to the
        tokenizer in chunks so that Python lists of ids (~40 bytes per token) never hold more than one chunk."""
        flats, lens = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
        for i in range(0, len(sentences), ENCODE_CHUNK):
            encoded = self._encode_sentences(sentences[i : i + ENCODE_CHUNK])
            n = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
            flats.append(np.fromiter(chain.from_iterable(encoded), dtype=np.int32, count=int(n.sum())))
            lens.append(n)
            del encoded
        return np.concatenate(flats), np.concatenate(lens)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(ids, sentence_ids, lengths, num_sentences)``: flat int32 arrays over the kept documents
        (documents without any token are dropped), per-document lengths and sentence counts."""
        if self._split is None:
            self._split = get_splitter(self.splitter)
        split = self._split
        space = self.template.space_between_sentences
        sentences: list[str] = []
        counts = np.zeros(len(texts), dtype=np.int64)
        for d, text in enumerate(texts):
            sents = split(text or "")
            counts[d] = len(sents)
            if space and len(sents) > 1:
                sentences.append(sents[0])
                sentences.extend(" " + s for s in sents[1:])
            else:
                sentences.extend(sents)
        flat, slen = self._encode_flat(sentences)
        total = len(flat)
        sdoc = np.repeat(np.arange(len(texts)), counts)
        keep = slen > 0  # a sentence that tokenizes to nothing gets no id (ids stay consecutive)
        slen, sdoc = slen[keep], sdoc[keep]
        nsent = np.bincount(sdoc, minlength=len(texts))
        first = np.cumsum(nsent) - nsent
        local = np.arange(len(slen)) - np.repeat(first, nsent)
        tok_sent = np.repeat(local, slen).astype(np.int32)
        content = np.bincount(sdoc, weights=slen, minlength=len(texts)).astype(np.int64)
        kept = content > 0
        content, nsent = content[kept], nsent[kept]
        pre, suf = self.template.prefix, self.template.suffix
        p, s = len(pre), len(suf)
        out_len = content + p + s
        out_start = np.cumsum(out_len) - out_len
        ids = np.empty(int(out_len.sum()), dtype=np.int32)
        sent = np.full(len(ids), -1, dtype=np.int32)
        doc_of_tok = np.repeat(np.arange(len(content)), content)
        pos = np.arange(total) + (p + s) * doc_of_tok + p
        ids[pos] = flat
        sent[pos] = tok_sent
        for k, t in enumerate(pre):
            ids[out_start + k] = t
        for k, t in enumerate(suf):
            ids[out_start + p + content + k] = t
        return ids, sent, out_len, nsent

    def __call__(self, batch: dict[str, list]) -> Any:
        import pyarrow as pa

        ids, sent, lengths, _ = self.encode(batch["text"])
        return pa.table(
            {"input_ids": _int_list_array(ids, lengths), "sentence_ids": _int_list_array(sent, lengths)}
        )

    def to_lists(self, batch: dict[str, list]) -> dict[str, list]:
        """Like ``__call__`` but returns Python lists (for ``IterableDataset.map``)."""
        ids, sent, lengths, _ = self.encode(batch["text"])
        cuts = np.cumsum(lengths)[:-1]
        return {
            "input_ids": [a.tolist() for a in np.split(ids, cuts)] if len(lengths) else [],
            "sentence_ids": [a.tolist() for a in np.split(sent, cuts)] if len(lengths) else [],
        }


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A stable hash of everything that determines a tokenizer's output."""
    from datasets.fingerprint import Hasher

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return Hasher.hash(["fast", backend.to_str(), sorted(map(str, tokenizer.all_special_tokens))])
    return Hasher.hash(["slow", tokenizer.name_or_path, sorted(tokenizer.get_vocab().items())])


def main_process_first(accelerator: Any | None):
    """``accelerator.main_process_first()`` when an accelerator is given, otherwise a no-op context."""
    if accelerator is None:
        return contextlib.nullcontext()
    return accelerator.main_process_first()


def tokenize_documents(
    ds: Any,
    tokenizer: Any,
    num_proc: int | None = None,
    splitter: str | SplitFn = "rule",
    *,
    batch_size: int = 1000,
    accelerator: Any | None = None,
    load_from_cache_file: bool | None = None,
) -> Any:
    """Tokenize a ``text`` dataset (from :func:`~textssl.data.load_documents`) into ``input_ids`` and
    ``sentence_ids`` per document, through ``datasets.map`` and its cache.

    ``splitter`` is a sentence splitter name (``rule``, ``punkt``, ``line``, ``none``) or a function.
    With ``accelerator``, the main process tokenizes first and the others read its cache.
    An ``IterableDataset`` is mapped lazily (no cache).
    """
    import datasets
    from datasets.fingerprint import Hasher

    if "text" not in (ds.column_names or ["text"]):
        raise MissingKeyError(f"tokenize_documents needs a 'text' column; the dataset has {ds.column_names}")
    encoder = DocumentTokenizer(tokenizer, splitter)
    if isinstance(ds, datasets.IterableDataset):
        return ds.map(
            encoder.to_lists, batched=True, batch_size=batch_size, remove_columns=ds.column_names or ["text"]
        )
    split_id = splitter if isinstance(splitter, str) else Hasher.hash(splitter)
    fingerprint = Hasher.hash(
        ["textssl-tokenize", PACKING_VERSION, ds._fingerprint, tokenizer_fingerprint(tokenizer), split_id]
    )
    with main_process_first(accelerator):
        return ds.map(
            encoder,
            batched=True,
            batch_size=batch_size,
            num_proc=num_proc if num_proc and num_proc > 1 else None,
            remove_columns=ds.column_names,
            features=tokenized_features(),
            new_fingerprint=fingerprint,
            load_from_cache_file=load_from_cache_file,
            desc="Tokenizing",
        )


# ---------------------------------------------------------------------------------------------- packing
@dataclass
class PackStats:
    """Counts from packing: ``efficiency`` = real tokens / block slots (padding is the waste)."""

    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    blocks: int = 0
    max_length: int = 0
    dropped_tokens: int = 0

    @property
    def slots(self) -> int:
        return self.blocks * self.max_length

    @property
    def packed_tokens(self) -> int:
        return self.tokens - self.dropped_tokens

    @property
    def efficiency(self) -> float:
        return self.packed_tokens / self.slots if self.slots else 0.0


def _localize(
    ids: np.ndarray, doc: np.ndarray, sent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global document / sentence numbers (-1 = none) -> block-local ids starting at 0 in every block."""
    big = np.iinfo(np.int64).max
    dmin = np.where(doc >= 0, doc, big).min(axis=1, keepdims=True)
    smin = np.where(sent >= 0, sent, big).min(axis=1, keepdims=True)
    doc_l = np.where(doc >= 0, doc - np.minimum(dmin, big - 1), -1)
    sent_l = np.where(sent >= 0, sent - np.minimum(smin, big - 1), -1)
    return ids.astype(np.int32), doc_l.astype(np.int32), sent_l.astype(np.int32)


class Packer:
    """Stateful packer: feed chunks of tokenized documents, get full blocks back; the partial block at the
    end of a chunk is carried into the next (nothing is lost between chunks).

    ``add(ids, sentence_ids, lengths)`` takes flat arrays (document-local sentence ids, -1 on specials) and
    returns ``(input_ids, document_ids, sentence_ids)`` as ``[blocks, max_length]`` int32 arrays.
    """

    def __init__(
        self, max_length: int, mode: str = "concat", pad_id: int | None = None, drop_last: bool = False
    ):
        if mode not in PACK_MODES:
            raise ConfigError(f"mode={mode!r}; choose one of {', '.join(PACK_MODES)}")
        if max_length < 2:
            raise ConfigError(f"max_length must be at least 2, got {max_length}")
        if mode == "document" and pad_id is None:
            raise ConfigError("mode='document' pads every block: the tokenizer needs a pad token")
        self.max_length = int(max_length)
        self.mode = mode
        self.pad_id = pad_id
        self.drop_last = drop_last or pad_id is None
        self.stats = PackStats(max_length=self.max_length)
        self._next_doc = 0
        self._next_sent = 0
        self._carry = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def _empty(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = np.zeros((0, self.max_length), dtype=np.int32)
        return z, z.copy(), z.copy()

    def add(
        self, ids: np.ndarray, sent: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int64)
        sent = np.asarray(sent, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.sum() != len(ids) or len(sent) != len(ids):
            raise ConfigError(
                "packer input: lengths must sum to the number of ids, and ids/sentence_ids must match"
            )
        nz = lengths > 0
        lengths = lengths[nz]
        if not len(lengths):
            return self._empty()
        starts = np.cumsum(lengths) - lengths
        nsent = np.maximum.reduceat(sent, starts) + 1  # sentences per document (ids are 0..n-1)
        nsent = np.maximum(nsent, 0)
        st = self.stats
        st.documents += len(lengths)
        st.sentences += int(nsent.sum())
        st.tokens += len(ids)
        if self.mode == "document":
            return self._add_documents(ids, sent, lengths, starts)
        L = self.max_length
        doc_g = np.repeat(np.arange(self._next_doc, self._next_doc + len(lengths)), lengths)
        sent_off = np.cumsum(nsent) - nsent + self._next_sent
        sent_g = np.where(sent >= 0, sent + np.repeat(sent_off, lengths), -1)
        self._next_doc += len(lengths)
        self._next_sent += int(nsent.sum())
        c_ids, c_doc, c_sent = self._carry
        ids = np.concatenate([c_ids, ids])
        doc_g = np.concatenate([c_doc, doc_g])
        sent_g = np.concatenate([c_sent, sent_g])
        n_full = len(ids) // L
        cut = n_full * L
        self._carry = (ids[cut:], doc_g[cut:], sent_g[cut:])
        if not n_full:
            return self._empty()
        st.blocks += n_full
        return _localize(
            ids[:cut].reshape(n_full, L), doc_g[:cut].reshape(n_full, L), sent_g[:cut].reshape(n_full, L)
        )

    def _add_documents(self, ids, sent, lengths, starts):
        L = self.max_length
        nb = -(-lengths // L)
        total = int(nb.sum())
        out_ids = np.full((total, L), self.pad_id, dtype=np.int64)
        out_doc = np.full((total, L), -1, dtype=np.int64)
        out_sent = np.full((total, L), -1, dtype=np.int64)
        offset = np.arange(len(ids)) - np.repeat(starts, lengths)
        row = np.repeat(np.cumsum(nb) - nb, lengths) + offset // L
        col = offset % L
        out_ids[row, col] = ids
        out_doc[row, col] = 0
        out_sent[row, col] = sent
        self.stats.blocks += total
        return _localize(out_ids, out_doc, out_sent)

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The last partial block of a concat stream: padded, or dropped when ``drop_last`` (or no pad)."""
        c_ids, c_doc, c_sent = self._carry
        self._carry = (c_ids[:0], c_doc[:0], c_sent[:0])
        if not len(c_ids):
            return self._empty()
        if self.drop_last:
            self.stats.dropped_tokens += len(c_ids)
            return self._empty()
        L = self.max_length
        pad = L - len(c_ids)
        ids = np.concatenate([c_ids, np.full(pad, self.pad_id)])[None]
        doc = np.concatenate([c_doc, np.full(pad, -1)])[None]
        sent = np.concatenate([c_sent, np.full(pad, -1)])[None]
        self.stats.blocks += 1
        return _localize(ids, doc, sent)


def block_features(max_length: int) -> Any:
    import datasets

    col = datasets.List(datasets.Value("int32"), length=max_length)
    return datasets.Features({"input_ids": col, "document_ids": col, "sentence_ids": col})


def _blocks_table(ids: np.ndarray, doc: np.ndarray, sent: np.ndarray) -> Any:
    import pyarrow as pa

    L = ids.shape[1]

    def col(a: np.ndarray) -> Any:
        return pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1), type=pa.int32()), L)

    return pa.table({"input_ids": col(ids), "document_ids": col(doc), "sentence_ids": col(sent)})


def _iter_tokenized_chunks(
    tokenized: Any, chunk_docs: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Flat ``(ids, sentence_ids, lengths)`` numpy arrays over chunks of a tokenized Dataset (arrow, no copy
    per token through Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = {"input_ids", "sentence_ids"} - set(tokenized.column_names)
    if missing:
        raise MissingKeyError(
            f"pack needs columns input_ids and sentence_ids (from tokenize_documents); missing {sorted(missing)}, "
            f"have {tokenized.column_names}"
        )
    arrow = tokenized.with_format("arrow")
    for start in range(0, len(tokenized), chunk_docs):
        table = arrow[start : start + chunk_docs]
        cols = []
        for name in ("input_ids", "sentence_ids"):
            c = table.column(name)
            c = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
            cols.append(c)
        lengths = pc.list_value_length(cols[0]).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        ids = pc.list_flatten(cols[0]).to_numpy(zero_copy_only=False)
        sent = pc.list_flatten(cols[1]).to_numpy(zero_copy_only=False)
        yield ids, sent, lengths


def _stats_from_datasets(tokenized: Any, blocks: Any, max_length: int) -> PackStats:
    """Recompute :class:`PackStats` for cached blocks (one vectorized pass over both datasets)."""
    import pyarrow.compute as pc

    st = PackStats(max_length=max_length, blocks=len(blocks))
    for ids, sent, lengths in _iter_tokenized_chunks(tokenized, 50_000):
        lengths = lengths[lengths > 0]
        if not len(lengths):
            continue
        starts = np.cumsum(lengths) - lengths
        st.documents += len(lengths)
        st.sentences += int(np.maximum(np.maximum.reduceat(sent.astype(np.int64), starts) + 1, 0).sum())
        st.tokens += len(ids)
    packed = 0
    arrow = blocks.with_format("arrow")
    for start in range(0, len(blocks), 50_000):
        col = arrow[start : start + 50_000].column("document_ids")
        packed += int(pc.sum(pc.greater_equal(pc.list_flatten(col), 0)).as_py() or 0)
    st.dropped_tokens = st.tokens - packed
    return st


def pack(
    tokenized: Any,
    max_length: int,
    mode: str = "concat",
    *,
    pad_id: int | None = None,
    drop_last: bool = False,
    chunk_docs: int = 10_000,
    accelerator: Any | None = None,
) -> tuple[Any, PackStats]:
    """Pack a tokenized ``Dataset`` (columns ``input_ids``, ``sentence_ids``) into blocks of ``max_length``.

    Returns ``(blocks, stats)``; ``blocks`` has ``input_ids``, ``document_ids``, ``sentence_ids`` as
    fixed-length int32 lists. When ``tokenized`` lives in the ``datasets`` cache, the blocks are written next
    to it (atomically, keyed by a fingerprint) and memory-mapped, so memory stays flat and a second call is
    a cache hit; otherwise they are built in memory. ``pad_id`` pads ``document`` mode and the corpus tail
    in ``concat`` mode (without one, the tail is dropped and counted in ``stats.dropped_tokens``).
    """
    import datasets
    from datasets.fingerprint import Hasher

    if isinstance(tokenized, datasets.IterableDataset):
        raise TypeError("pack() takes a Dataset; for an IterableDataset use stream_blocks()")
    if mode not in PACK_MODES:
        raise ConfigError(f"mode={mode!r}; choose one of {', '.join(PACK_MODES)}")
    if mode == "document" and pad_id is None:
        raise ConfigError("mode='document' pads every block: pass pad_id (the tokenizer needs a pad token)")
    features = block_features(max_length)
    cache_files = tokenized.cache_files
    target = None
    if cache_files:
        fp = Hasher.hash(
            ["textssl-pack", PACKING_VERSION, tokenized._fingerprint, max_length, mode, pad_id, drop_last]
        )
        target = Path(cache_files[0]["filename"]).parent / f"textssl-blocks-{fp}.arrow"
    with main_process_first(accelerator):
        if target is not None and target.exists():
            blocks = datasets.Dataset.from_file(str(target))
            blocks._fingerprint = fp
            return blocks, _stats_from_datasets(tokenized, blocks, max_length)
        packer = Packer(max_length, mode, pad_id, drop_last)
        if target is None:
            import pyarrow as pa

            tables = []
            for arrays in _iter_tokenized_chunks(tokenized, chunk_docs):
                tables.append(_blocks_table(*packer.add(*arrays)))
            tables.append(_blocks_table(*packer.finish()))
            table = pa.concat_tables(tables).cast(features.arrow_schema)
            from datasets.table import InMemoryTable

            return datasets.Dataset(
                InMemoryTable(table), info=datasets.DatasetInfo(features=features)
            ), packer.stats
        from datasets.arrow_writer import ArrowWriter

        with atomic_file(target) as tmp:
            writer = ArrowWriter(features=features, path=str(tmp))
            for arrays in _iter_tokenized_chunks(tokenized, chunk_docs):
                writer.write_table(_blocks_table(*packer.add(*arrays)))
            writer.write_table(_blocks_table(*packer.finish()))
            writer.finalize()
            writer.close()
        blocks = datasets.Dataset.from_file(str(target))
        blocks._fingerprint = fp
        return blocks, packer.stats
