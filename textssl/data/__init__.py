"""Corpora in, packed blocks out: readers, sentence splitting, tokenization, packing, synthetic corpus.

Typical use::

    from textssl.data import get_blocks
    blocks, summary = get_blocks("corpus/", "wordpiece", max_length=128)   # or a prepared directory
    print(summary)

Each block row has ``input_ids``, ``document_ids`` and ``sentence_ids`` (see :mod:`textssl.data.packing`).
Text already in memory goes through the same splitter, tokenizer pass and packer with :func:`blocks_from_texts`::

    from textssl.data import blocks_from_texts
    features = blocks_from_texts(tokenizer, ["One document. Two sentences.", "Another one."], 128)

Modules: ``readers`` (sources, :class:`ReaderOptions`), ``plaintext`` (text files -> documents), ``sentences``
(splitters), ``packing`` (template, tokenizer pass, :class:`Packer`, cached :func:`pack`), ``streaming``
(:func:`stream_blocks`), ``prepare`` (:func:`prepare_dataset`, :func:`get_blocks`, :func:`blocks_from_texts`)
and ``synthetic`` (the embedded corpus and tasks).
"""

from textssl.data.packing import (
    DocumentTemplate,
    DocumentTokenizer,
    Packer,
    PackStats,
    pack,
    tokenize_documents,
)
from textssl.data.prepare import (
    PrepareSummary,
    blocks_from_texts,
    blocks_to_features,
    check_max_length,
    get_blocks,
    is_prepared_dir,
    load_prepared,
    prepare_dataset,
    prepared_info,
    save_prepared,
    unigram_counts,
)
from textssl.data.readers import (
    ColumnNotFoundError,
    CorpusError,
    ReaderOptions,
    ReadStats,
    load_documents,
    read_documents,
    split_text_documents,
)
from textssl.data.sentences import get_splitter, split_sentences
from textssl.data.streaming import stream_blocks
from textssl.data.synthetic import analyze, generate_corpus, write_corpus, write_tasks

__all__ = [
    "ColumnNotFoundError",
    "CorpusError",
    "DocumentTemplate",
    "DocumentTokenizer",
    "PackStats",
    "Packer",
    "PrepareSummary",
    "ReadStats",
    "ReaderOptions",
    "analyze",
    "blocks_from_texts",
    "blocks_to_features",
    "check_max_length",
    "generate_corpus",
    "get_blocks",
    "get_splitter",
    "is_prepared_dir",
    "load_documents",
    "load_prepared",
    "pack",
    "prepare_dataset",
    "prepared_info",
    "read_documents",
    "save_prepared",
    "split_sentences",
    "split_text_documents",
    "stream_blocks",
    "tokenize_documents",
    "unigram_counts",
    "write_corpus",
    "write_tasks",
]
