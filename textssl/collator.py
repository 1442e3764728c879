"""``Collator``: features in, a corrupted model-ready batch out.

It works as a ``torch.utils.data.DataLoader`` ``collate_fn`` and as a ``transformers.Trainer``
``data_collator``. Features are model-ready rows (special tokens already in place); the Collator adds no
special tokens, it only pads ragged rows and truncates to ``max_length``.

Steps (for rate schedules such as ``Linear(0.30, 0.15, steps)``) are optimizer steps, taken from the first
source that applies:

1. ``_step`` in the features (textssl's own training loop: its sampler gives every row the optimizer step of
   its batch);
2. :meth:`Collator.set_step` (a plain ``DataLoader`` loop calls it before iterating each epoch) or
   :meth:`Collator.trainer_callback` (``transformers.Trainer`` calls it for you): the k-th batch collated after
   ``set_step(n, batches_per_step=a)`` belongs to step ``n + k // a``. In ``DataLoader`` workers ``k`` is
   derived from the round-robin order in which the DataLoader hands batches to its workers, and the step
   lives in shared memory, so any number of workers gives the same steps as none;
3. otherwise the number of batches this Collator has collated. That is only right in a single process, with
   one batch per optimizer step and no evaluation batches through the same Collator, so a strategy with a
   changing schedule warns there, and stops with an error in a DataLoader worker (each worker would count
   only its own batches: with 2 workers a schedule would end at twice its steps).

Seeding: each batch gets its own ``torch.Generator``. When features carry ``_index`` (the dataset row) and
optionally ``_step``, as textssl's training loop provides, the seed is a pure function of ``(seed, step,
rows)``: a resumed run, or the same batch seen by a different worker, is corrupted identically. After
``set_step`` it is a function of ``(seed, epoch, set step, batch position)``, whatever the number of workers.
Otherwise the seed mixes ``seed``, the DataLoader worker id and a per-collator call counter, so different
workers draw different streams.
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textssl.corruption.base import INTERNAL_KEYS, Batch, Constant, Schedule, Strategy
from textssl.corruption.ops import word_starts
from textssl.errors import ConfigError, MissingKeyError
from textssl.tokenization import TokenizerInfo

OPTIONAL_ID_KEYS = ("sentence_ids", "document_ids")


def varying_schedules(strategy: Any) -> list[str]:
    """Names (``"TokenMasking.rate"``) of the schedules in ``strategy`` (members of a Compose included) whose
    value changes with the step, i.e. every :class:`Schedule` that is not a :class:`Constant`."""
    found: list[str] = []

    def walk(obj: Any, depth: int) -> None:
        if depth > 4 or not hasattr(obj, "__dict__"):
            return
        for name, value in vars(obj).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if isinstance(v, Schedule) and not isinstance(v, Constant):
                    found.append(f"{type(obj).__name__}.{name}")
                elif isinstance(v, Strategy):
                    walk(v, depth + 1)

    walk(strategy, 0)
    return found


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
        self._schedules = varying_schedules(strategy)
        self._warned = False
        # The step source set by set_step: [generation (0 = never set), step, batches per step]. In shared
        # memory, so DataLoader workers (forked or spawned, persistent or not) read what the main process set.
        self._step_source = torch.zeros(3, dtype=torch.int64).share_memory_()
        self._position = (0, 0, 0)  # (process id, generation, batches collated since) of this process

    def set_epoch(self, epoch: int) -> None:
        """Start an epoch: batches that carry no ``_index`` are seeded by (seed, epoch, worker, batch number)."""
        self.epoch = int(epoch)
        self.calls = 0

    def set_step(self, step: int, batches_per_step: int = 1) -> None:
        """Say that the next batch this Collator collates belongs to optimizer step ``step``.

        The k-th batch after this call (in the order the DataLoader yields them) gets step
        ``step + k // batches_per_step`` (``batches_per_step`` = gradient accumulation steps). Call it before
        iterating the DataLoader for each epoch (``iter(loader)`` starts the workers; persistent workers see the
        new value too), with the number of optimizer steps taken so far. Evaluation batches collated by the
        same Collator in the main process count as batches: call ``set_step`` again after evaluating, or give
        evaluation its own Collator. ``transformers.Trainer`` users add :meth:`trainer_callback` instead.
        """
        step, batches_per_step = int(step), int(batches_per_step)
        if step < 0 or batches_per_step < 1:
            raise ConfigError(
                f"set_step needs step >= 0 and batches_per_step >= 1, got step={step}, "
                f"batches_per_step={batches_per_step}"
            )
        src = self._step_source
        src[1], src[2] = step, batches_per_step
        src[0] = int(src[0]) + 1  # written last: a reader that sees the new generation sees its values

    def trainer_callback(self) -> Any:
        """A ``transformers.TrainerCallback`` that drives this Collator's step from ``Trainer``'s optimizer
        step: ``Trainer(..., data_collator=collator, callbacks=[collator.trainer_callback()])``.

        At the start of every epoch (before ``Trainer`` starts the DataLoader and its workers) it calls
        ``set_step(state.global_step, args.gradient_accumulation_steps)``; batches collated in the main
        process for evaluation do not advance the training position.
        """
        from transformers import TrainerCallback

        collator = self

        class CollatorStepCallback(TrainerCallback):
            """Sets ``collator.set_step(global_step)`` at each epoch start; evaluation leaves the step alone."""

            saved: tuple[int, int, int] | None = None

            def on_epoch_begin(self, args, state, control, **kwargs):
                collator.set_step(state.global_step, max(int(args.gradient_accumulation_steps), 1))
                self.saved = None

            def on_step_end(self, args, state, control, **kwargs):
                self.saved = collator._position  # evaluation may follow: remember the training position

            def on_evaluate(self, args, state, control, **kwargs):
                if self.saved is not None:
                    collator._position = self.saved

        return CollatorStepCallback()

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

    def _next_position(self) -> tuple[int, int] | None:
        """``(step, k)`` of this batch from the ``set_step`` source (k = its position since), or None if unset.

        DataLoader workers receive batches round-robin (batch k goes to worker ``k % num_workers``), so a
        worker's i-th batch since the source was set is batch ``i * num_workers + worker id``.
        """
        gen, base, per = (int(x) for x in self._step_source.tolist())
        if gen == 0:
            return None
        pid = os.getpid()
        owner, seen, done = self._position
        if (owner, seen) != (pid, gen):  # a new source, or a fresh worker process: count from 0
            done = 0
        self._position = (pid, gen, done + 1)
        worker = torch.utils.data.get_worker_info()
        k = done * worker.num_workers + worker.id if worker is not None else done
        return base + k // per, k

    def _counted_step(self) -> int:
        """The step when nothing gives one: this Collator's batch count (see the module docstring)."""
        if self._schedules:
            worker = torch.utils.data.get_worker_info()
            where = ", ".join(self._schedules)
            how = (
                "call collator.set_step(optimizer_step, batches_per_step=grad_accum) before iterating the "
                "DataLoader each epoch, pass callbacks=[collator.trainer_callback()] to transformers.Trainer, "
                "or give each feature a '_step'"
            )
            if worker is not None:
                raise ConfigError(
                    f"{where} changes with the training step, but this Collator runs in DataLoader worker "
                    f"{worker.id} of {worker.num_workers} with no step source: each worker would count only "
                    f"its own batches and the schedule would run {worker.num_workers}x too slow; {how}"
                )
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"{where} changes with the training step, but the Collator has no step source and counts "
                    "its own calls (evaluation batches and gradient accumulation then shift the schedule); "
                    + how,
                    stacklevel=4,
                )
        return self.calls

    def _generator(self, features: Sequence[dict]) -> tuple[torch.Generator, int]:
        first = features[0]
        position = None if "_step" in first else self._next_position()
        if "_index" in first:
            idx = [int(f["_index"]) for f in features]
            if "_step" in first:
                step = int(first["_step"])
            elif position is not None:
                step = position[0]
            else:
                step = self.epoch
            entropy = [self.seed, step, *idx]
        elif position is not None:
            step, k = position
            entropy = [self.seed, self.epoch, 2**32 + int(self._step_source[1]), k]
        else:
            worker = torch.utils.data.get_worker_info()
            wid = worker.id if worker is not None else 0
            entropy = [self.seed, self.epoch, wid, self.calls]
            step = int(first["_step"]) if "_step" in first else self._counted_step()
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
            batch["word_start"] = torch.from_numpy(word_starts(i, sp, self._word_start_np))
        for key in OPTIONAL_ID_KEYS:
            if key in needs:
                if key not in features[0]:
                    raise MissingKeyError(_missing_ids_message(self.strategy, key, features[0]))
                t = self._stack(features, key, -1)
                batch[key] = torch.where(attn.bool(), t, torch.full_like(t, -1))
        return batch

    def __call__(self, features: Sequence[dict]) -> Batch:
        batch = self.build_batch(features)
        generator, step = self._generator(features)
        out = self.strategy(batch, self.info, generator, step)
        return {k: v for k, v in out.items() if k not in INTERNAL_KEYS or k in self.keep_keys}


def _missing_ids_message(strategy: Strategy, key: str, feature: dict) -> str:
    """Why a feature lacks ``sentence_ids``/``document_ids`` and what to do: most often ``transformers.Trainer``
    removed the column (its default ``remove_unused_columns=True`` keeps only arguments of the model's
    ``forward``), not a data preparation without ``textssl.data``."""
    members = [s for s in getattr(strategy, "strategies", []) if key in getattr(s, "requires", ())]
    name = type(members[0] if members else strategy).__name__
    have = ", ".join(sorted(feature)) or "none"
    trainer = "transformers.trainer" in sys.modules
    trainer_fix = (
        f"transformers.Trainer drops columns the model's forward() does not take, such as '{key}', unless "
        "you pass TrainingArguments(..., remove_unused_columns=False)"
    )
    data_fix = (
        "prepare the data with textssl.data (it records sentence and document ids) or add the key yourself"
    )
    if trainer:
        return f"{name} needs '{key}' in each feature, but the features have only: {have}. Probably {trainer_fix}; otherwise {data_fix}"
    return f"{name} needs '{key}' in each feature, but the features have only: {have}. {data_fix[0].upper()}{data_fix[1:]} (under transformers.Trainer: {trainer_fix})"
