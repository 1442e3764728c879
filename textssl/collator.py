"""``Collator``: features in, a corrupted model-ready batch out.

It works as a ``torch.utils.data.DataLoader`` ``collate_fn`` and as a ``transformers.Trainer``
``data_collator``. Features are model-ready rows (special tokens already in place); the Collator adds no
special tokens, it only pads ragged rows and truncates to ``max_length``.

Seeding: each batch gets its own ``torch.Generator``. When features carry ``_index`` (the dataset row) and
optionally ``_step`` (the training step), as textssl's training loop provides, the seed is a pure function of
``(seed, step, rows)``: a resumed run, or the same batch seen by a different worker, is corrupted identically.
Otherwise the seed mixes ``seed``, the DataLoader worker id and a per-collator call counter, so different
workers draw different streams.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textssl.corruption.base import INTERNAL_KEYS, Batch, Strategy
from textssl.errors import ConfigError, MissingKeyError
from textssl.tokenization import TokenizerInfo

OPTIONAL_ID_KEYS = ("sentence_ids", "document_ids")


class Collator:
    """Pad, truncate and corrupt a list of features with ``strategy``.

    Args:
        tokenizer: a ``transformers`` tokenizer or a prebuilt :class:`TokenizerInfo`.
        strategy: any corruption strategy (or ``Compose``).
        max_length: rows longer than this are truncated (``None``: no truncation).
        seed: base seed for the per-batch generators.
        pad_to_multiple_of: round the padded length up to a multiple (tensor-core friendly).
        keep_keys: internal keys (e.g. ``"document_ids"``) to keep in the output instead of dropping.
    """

    def __init__(
        self,
        tokenizer: Any,
        strategy: Strategy,
        max_length: int | None = None,
        seed: int = 0,
        pad_to_multiple_of: int | None = None,
        keep_keys: Sequence[str] = (),
    ) -> None:
        self.info = (
            tokenizer if isinstance(tokenizer, TokenizerInfo) else TokenizerInfo.from_tokenizer(tokenizer)
        )
        if self.info.pad_id is None:
            raise ConfigError("Collator needs a tokenizer with a pad token to pad ragged rows")
        if max_length is not None and max_length < 2:
            raise ConfigError(f"max_length must be at least 2, got {max_length}")
        strategy.validate(self.info)
        self._special_np = self.info.special.numpy()
        self._word_start_np = self.info.word_start.numpy()
        self.strategy = strategy
        self.max_length = max_length
        self.seed = int(seed)
        self.pad_to_multiple_of = pad_to_multiple_of
        self.keep_keys = tuple(keep_keys)
        self.calls = 0
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Start an epoch: batches that carry no ``_index`` are seeded by (seed, epoch, worker, batch number)."""
        self.epoch = int(epoch)
        self.calls = 0

    # ------------------------------------------------------------------ conversion
    def _stack(self, features: Sequence[dict], key: str, pad: int) -> torch.Tensor:
        rows = [f[key] for f in features]
        first = rows[0]
        if isinstance(first, torch.Tensor):
            lengths = [r.shape[-1] for r in rows]
            if len(set(lengths)) == 1:
                out = torch.stack(rows).long()
                return self._fit(out, pad)
            rows = [r.numpy() for r in rows]
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        if len(rows) and (lengths == lengths[0]).all():
            if isinstance(first, list):  # flat iteration beats numpy's nested-list parser by ~20%
                flat = np.fromiter(
                    itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum())
                )
                arr = flat.reshape(len(rows), int(lengths[0]))
            else:
                arr = np.asarray(rows, dtype=np.int64)
        else:
            width = int(lengths.max()) if len(rows) else 0
            arr = np.full((len(rows), width), pad, dtype=np.int64)
            flat = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]) if len(rows) else []
            mask = np.arange(width)[None, :] < lengths[:, None]
            arr[mask] = flat
        return self._fit(torch.from_numpy(arr), pad)

    def _fit(self, t: torch.Tensor, pad: int) -> torch.Tensor:
        if t.dim() != 2:
            raise ConfigError(
                f"features must be 1-D token id sequences, got shape {tuple(t.shape[1:])} per row"
            )
        if self.max_length is not None and t.shape[1] > self.max_length:
            t = t[:, : self.max_length]
        m = self.pad_to_multiple_of
        if m and t.shape[1] % m:
            extra = m - t.shape[1] % m
            t = torch.cat([t, torch.full((t.shape[0], extra), pad, dtype=t.dtype)], 1)
        return t

    def _generator(self, features: Sequence[dict]) -> tuple[torch.Generator, int]:
        if "_index" in features[0]:
            idx = [int(f["_index"]) for f in features]
            step = int(features[0].get("_step", self.epoch))
            entropy = [self.seed, step, *idx]
        else:
            worker = torch.utils.data.get_worker_info()
            wid = worker.id if worker is not None else 0
            entropy = [self.seed, self.epoch, wid, self.calls]
            step = self.calls
            self.calls += 1
        seed = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1)
        return torch.Generator().manual_seed(seed), step

    # ------------------------------------------------------------------ main entry
    def build_batch(self, features: Sequence[dict]) -> Batch:
        """Convert features to the uncorrupted strategy input (padded ids, masks, optional id tensors)."""
        if not features:
            raise ConfigError("Collator got an empty list of features")
        if "input_ids" not in features[0]:
            raise MissingKeyError(f"features need an 'input_ids' key; got keys {sorted(features[0])}")
        info = self.info
        ids = self._stack(features, "input_ids", info.pad_id)
        if "attention_mask" in features[0]:
            attn = self._stack(features, "attention_mask", 0)
        else:
            lengths = torch.tensor([min(len(f["input_ids"]), ids.shape[1]) for f in features])
            attn = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()
        if ids.numel() and (int(ids.max()) >= info.vocab_size or int(ids.min()) < 0):
            raise ConfigError(
                f"input_ids contain ids outside the tokenizer's vocabulary [0, {info.vocab_size}); "
                "were the features made with a different tokenizer?"
            )
        # Table lookups in numpy: several times faster than torch indexing for these small int arrays.
        i = ids.numpy()
        sp = self._special_np[i] | (attn.numpy() == 0)
        batch: Batch = {"input_ids": ids, "attention_mask": attn, "special_mask": torch.from_numpy(sp)}
        needs = self.strategy.requires
        if "word_start" in needs:
            ws = self._word_start_np[i]
            ws[:, 0] = True
            ws[:, 1:] |= sp[:, :-1]  # first token after a special token starts a word
            batch["word_start"] = torch.from_numpy(ws & ~sp)
        for key in OPTIONAL_ID_KEYS:
            if key in needs:
                if key not in features[0]:
                    raise MissingKeyError(
                        f"{type(self.strategy).__name__} needs '{key}' in each feature; prepare the data with "
                        "textssl.data (which records sentence and document ids) or add the key yourself"
                    )
                t = self._stack(features, key, -1)
                batch[key] = torch.where(attn.bool(), t, torch.full_like(t, -1))
        return batch

    def __call__(self, features: Sequence[dict]) -> Batch:
        batch = self.build_batch(features)
        generator, step = self._generator(features)
        out = self.strategy(batch, self.info, generator, step)
        return {k: v for k, v in out.items() if k not in INTERNAL_KEYS or k in self.keep_keys}
