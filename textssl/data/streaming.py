"""Blocks as a ``datasets.IterableDataset``: read lazily, tokenize and pack on the fly (flat memory).

The same :class:`~textssl.data.packing.DocumentTokenizer` and :class:`~textssl.data.packing.Packer` as the
cached path (:func:`~textssl.data.pack`), fed one batch of documents at a time; each input shard (file) is
packed on its own so that DataLoader workers and processes can split the files between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from textssl.data.packing import DocumentTokenizer, Packer, block_features
from textssl.data.sentences import SplitFn

STREAM_BATCH_CHARS = 1_000_000  # tokenize at most about this many characters at a time


def _gen_stream_blocks(
    shards: list[Any],
    encoder: DocumentTokenizer,
    max_length: int,
    mode: str,
    pad_id: int | None,
    drop_last: bool,
    batch_size: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Read, tokenize and pack a list of document streams; memory holds one batch plus the carry."""

    def rows(arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        ids, doc, sent = arrays
        for i in range(len(ids)):
            yield {"input_ids": ids[i], "document_ids": doc[i], "sentence_ids": sent[i]}

    for shard in shards:
        packer = Packer(max_length, mode, pad_id, drop_last)
        batch: list[str] = []
        chars = 0
        # ``IterableDataset.iter`` (not ``for row in shard``): inside a DataLoader worker, ``__iter__`` would
        # split this inner dataset between the workers a second time and silently skip part of it
        for texts in shard.iter(batch_size=64):
            for text in texts["text"]:
                batch.append(text)
                chars += len(text)
                if len(batch) >= batch_size or chars >= STREAM_BATCH_CHARS:
                    ids, sent, lengths, _ = encoder.encode(batch)
                    batch, chars = [], 0
                    yield from rows(packer.add(ids, sent, lengths))
        if batch:
            ids, sent, lengths, _ = encoder.encode(batch)
            yield from rows(packer.add(ids, sent, lengths))
        yield from rows(packer.finish())


def stream_blocks(
    source: Any,
    tokenizer: Any,
    max_length: int,
    mode: str = "concat",
    *,
    rank: int = 0,
    world_size: int = 1,
    shuffle_buffer: int = 10_000,
    seed: int = 0,
    splitter: str | SplitFn = "rule",
    drop_last: bool = False,
    batch_size: int = 256,
    reader: Any | None = None,
    **read_kwargs: Any,
) -> Any:
    """Blocks as a ``datasets.IterableDataset``: read lazily, tokenize and pack on the fly (flat memory).

    ``source`` is anything :func:`~textssl.data.load_documents` accepts (read with ``streaming=True``; reading
    options as a ``ReaderOptions`` in ``reader`` and/or as keywords), or a ``text`` IterableDataset. For multi-process training, each process passes its ``rank`` and
    ``world_size`` (``datasets.distributed.split_dataset_by_node``: whole files per process when the file
    count divides evenly, otherwise every ``world_size``-th document). Each input shard (file) is packed on
    its own, so DataLoader workers split the files between them. Blocks go through a shuffle buffer of
    ``shuffle_buffer`` blocks (0: no shuffling; call ``set_epoch`` on the result to reshuffle per epoch).
    """
    import datasets
    from datasets.distributed import split_dataset_by_node

    from textssl.data.readers import load_documents
    from textssl.tokenization import TokenizerInfo

    if isinstance(source, datasets.IterableDataset):
        docs = source
    else:
        docs = load_documents(source, reader, **{**read_kwargs, "streaming": True})
    n = max(1, docs.n_shards)
    if world_size > 1 and n % world_size == 0:  # whole files per process
        shards = [docs.shard(num_shards=n, index=i) for i in range(rank, n, world_size)]
    elif world_size > 1:  # every world_size-th document
        shards = [split_dataset_by_node(docs, rank=rank, world_size=world_size)]
    else:
        shards = [docs.shard(num_shards=n, index=i) for i in range(n)] if n > 1 else [docs]
    info = TokenizerInfo.from_tokenizer(tokenizer)
    pad_id = info.pad_id
    if mode == "document":
        pad_id = info.require("pad_id", "document-mode packing")
    blocks = datasets.IterableDataset.from_generator(
        _gen_stream_blocks,
        features=block_features(max_length),
        gen_kwargs={
            "shards": shards,
            "encoder": DocumentTokenizer(tokenizer, splitter),
            "max_length": max_length,
            "mode": mode,
            "pad_id": pad_id,
            "drop_last": drop_last,
            "batch_size": batch_size,
        },
    )
    if shuffle_buffer and shuffle_buffer > 1:
        blocks = blocks.shuffle(seed=seed, buffer_size=shuffle_buffer)
    return blocks
