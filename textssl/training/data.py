"""The training data plumbing: packed blocks -> a seeded, resumable sampler -> Collator -> DataLoaders.

The loop owns its data position. The EpochSampler serves each process its share of a seeded permutation per
epoch, starting at ``(epoch, batch_in_epoch)`` from the checkpoint, and corruption is seeded by (seed, step,
rows), so a resumed run sees exactly the batches it would have seen. Neither DataLoader goes through
``accelerator.prepare``: its wrapper keeps its own epoch counter, which restarts at 0 after a resume.
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from textssl.collator import Collator
from textssl.errors import CheckpointError, ConfigError
from textssl.tokenization import TokenizerInfo
from textssl.training.config import PretrainConfig

BLOCK_COLUMNS = ("input_ids", "document_ids", "sentence_ids")


class EpochSampler(Sampler):
    """This process's micro-batches of a seeded permutation per epoch, as lists of ``(row, step)`` pairs.

    An epoch is a whole number of optimizer steps: the permutation is cut to ``steps_per_epoch`` steps of
    ``batch_size x grad_accum x num_processes`` rows, and micro-batch ``b`` of the epoch goes to process
    ``b % num_processes``. ``set_position(epoch, start_batch)`` makes the next iteration yield only the
    batches from ``start_batch`` on, so a resumed run continues exactly where the checkpoint was written.
    ``step`` is the optimizer step the row's batch belongs to; the Collator uses it for rate schedules and,
    with the row ids, for the batch's seed, so corruption does not depend on workers or on resuming.
    """

    def __init__(
        self,
        num_rows: int,
        seed: int,
        batch_size: int,
        grad_accum: int = 1,
        num_processes: int = 1,
        rank: int = 0,
    ) -> None:
        self.num_rows, self.seed, self.batch_size = num_rows, seed, batch_size
        self.grad_accum, self.num_processes, self.rank = grad_accum, num_processes, rank
        self.rows_per_step = batch_size * grad_accum * num_processes
        self.steps_per_epoch = num_rows // self.rows_per_step
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"{num_rows} training blocks are fewer than one optimizer step "
                f"(batch_size {batch_size} x grad_accum {grad_accum} x {num_processes} processes); "
                "use more data or a smaller batch_size/grad_accum"
            )
        self.batches_per_epoch = self.steps_per_epoch * grad_accum  # per process
        self.epoch, self.start_batch = 0, 0

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        """Where the next iteration starts: ``start_batch`` micro-batches into ``epoch`` (per process)."""
        if not 0 <= start_batch <= self.batches_per_epoch:
            raise CheckpointError(
                f"checkpoint position batch {start_batch} of epoch {epoch} is outside the epoch's "
                f"{self.batches_per_epoch} batches; was the checkpoint written with other data?"
            )
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def set_epoch(self, epoch: int) -> None:
        self.set_position(epoch, 0)

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.num_rows, generator=g)[: self.steps_per_epoch * self.rows_per_step]
        mine = order.view(-1, self.num_processes, self.batch_size)[:, self.rank]  # (batches_per_epoch, batch)
        base = self.epoch * self.steps_per_epoch
        for b in range(self.start_batch, self.batches_per_epoch):
            step = base + b // self.grad_accum
            yield [(row, step) for row in mine[b].tolist()]


def eval_batches(num_rows: int, batch_size: int, max_batches: int, num_processes: int, rank: int) -> list:
    """This process's evaluation batches: every process gets the same number, so DDP never waits on one."""
    batches = [list(range(i, min(i + batch_size, num_rows))) for i in range(0, num_rows, batch_size)]
    if not batches:
        return []
    per_rank = min(max_batches, max(1, len(batches) // num_processes))
    return [batches[(rank + j * num_processes) % len(batches)] for j in range(per_rank)]


class Blocks(Dataset):
    """Packed blocks (a ``datasets.Dataset``) served as features with ``_index`` and ``_step`` keys."""

    def __init__(self, ds, columns: tuple[str, ...]) -> None:
        self.ds = ds.with_format("numpy", columns=list(columns))
        self.columns = columns

    def __len__(self) -> int:
        return len(self.ds)

    def __getitems__(self, keys: list) -> list[dict[str, Any]]:
        keys = [k if isinstance(k, tuple) else (k, 0) for k in keys]
        rows = [k[0] for k in keys]
        cols = self.ds[rows]
        return [
            {**{c: cols[c][i] for c in self.columns}, "_index": r, "_step": s}
            for i, (r, s) in enumerate(keys)
        ]

    def __getitem__(self, key) -> dict[str, Any]:
        return self.__getitems__([key])[0]


def load_blocks(cfg: PretrainConfig, tokenizer, accelerator, positions: int | None):
    """Train and eval blocks, tokenized once (cached; the main process goes first, the others hit the cache)."""
    from textssl.data import get_blocks

    # In concat mode the corpus's last, partial block is dropped (as group_texts does): a near-empty padded
    # block is useless for training and too short for span corruption. data_args can override it.
    options = {"drop_last": cfg.pack_mode == "concat", **cfg.data_args}

    def blocks(source: str):
        ds, summary = get_blocks(
            source,
            tokenizer,
            cfg.max_length,
            mode=cfg.pack_mode,
            max_positions=positions,
            accelerator=accelerator,
            **options,
        )
        if summary is not None:
            accelerator.print(summary)
        return ds

    import datasets

    train = blocks(cfg.data)
    if isinstance(train, datasets.IterableDataset):
        # Streaming: hold out the first blocks of this process's stream for evaluation.
        if cfg.eval_data:
            evals = blocks(cfg.eval_data)
            if isinstance(evals, datasets.IterableDataset):
                evals = datasets.Dataset.from_list(list(evals.take(cfg.eval_batches * cfg.batch_size)))
        else:
            held = cfg.eval_batches * cfg.batch_size
            evals = datasets.Dataset.from_list(list(train.take(held)))
            train = train.skip(held)
        return train, evals
    if cfg.eval_data:
        evals = blocks(cfg.eval_data)
    else:
        split = train.train_test_split(test_size=cfg.eval_fraction, seed=cfg.seed, shuffle=True)
        train, evals = split["train"], split["test"]
    rows_per_step = cfg.batch_size * cfg.grad_accum * accelerator.num_processes
    if len(train) < rows_per_step:
        raise ConfigError(
            f"data {cfg.data!r} gave {len(train)} training blocks, fewer than one optimizer step "
            f"(batch_size {cfg.batch_size} x grad_accum {cfg.grad_accum} x {accelerator.num_processes} "
            "processes); use more data or a smaller batch_size/grad_accum"
        )
    return train, evals


@dataclass
class Loaders:
    """The run's data: the training blocks and loader (with its sampler, None when streaming), the training
    Collator (the loop sets its epoch and, when streaming, its step) and the evaluation loader."""

    train_blocks: Any
    sampler: EpochSampler | None
    train: DataLoader
    collator: Collator
    eval: DataLoader


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make_loaders(
    cfg: PretrainConfig, accelerator, tokenizer, info: TokenizerInfo, strategy, positions
) -> Loaders:
    """Blocks -> seeded sampler -> Collator (corruption runs in DataLoader workers), for training and eval."""
    train_blocks, eval_blocks = load_blocks(cfg, tokenizer, accelerator, positions)
    streaming = not isinstance(train_blocks, Sized)
    if "unigram" in str(cfg.strategy_args.get("source", "")):
        if streaming:
            raise ConfigError(
                "strategy_args source='unigram' needs a map-style corpus; drop streaming or use 'uniform'"
            )
        from textssl.data import unigram_counts

        info.set_unigram_counts(unigram_counts(train_blocks, info.vocab_size))
    columns = tuple(c for c in BLOCK_COLUMNS if c in eval_blocks.column_names)
    collator = Collator(info, strategy, max_length=cfg.max_length, seed=cfg.seed)
    # Evaluation has its own Collator, so its batches never advance the training Collator's step counter.
    eval_collator = Collator(info, strategy, max_length=cfg.max_length, seed=cfg.seed)
    # Own generators: creating a DataLoader iterator must not draw from the global RNG, which is checkpointed.
    # Neither loader goes through accelerator.prepare: the loop owns the data position (see the EpochSampler)
    # and moves batches to the device itself.
    world, rank = accelerator.num_processes, accelerator.process_index
    eval_loader = DataLoader(
        Blocks(eval_blocks, columns),
        batch_sampler=eval_batches(len(eval_blocks), cfg.batch_size, cfg.eval_batches, world, rank),
        collate_fn=eval_collator,
        num_workers=cfg.num_workers,
        generator=_generator(cfg.seed + 1),
    )
    if streaming:
        # The stream is already split per process (split_dataset_by_node); its batches are seeded by
        # (seed, epoch, worker, batch number), and a resumed epoch skips the batches already trained on.
        sampler = None
        train_loader = DataLoader(
            train_blocks,
            batch_size=cfg.batch_size,
            collate_fn=collator,
            num_workers=cfg.num_workers,
            generator=_generator(cfg.seed),
        )
    else:
        sampler = EpochSampler(len(train_blocks), cfg.seed, cfg.batch_size, cfg.grad_accum, world, rank)
        train_loader = DataLoader(
            Blocks(train_blocks, columns),
            batch_sampler=sampler,
            collate_fn=collator,
            num_workers=cfg.num_workers,
            generator=_generator(cfg.seed),
        )
    return Loaders(train_blocks, sampler, train_loader, collator, eval_loader)
