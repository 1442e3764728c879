"""textssl inside ``transformers.Trainer``: collators for masking, sentence-level and seq2seq strategies, the
GLUE ``compute_metrics`` helper, and rate schedules driven by the optimizer step (any number of workers).

Tiny models built from configs (no network), ``output_dir`` in ``tmp_path``, a few steps on the CPU.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from textssl import Collator, TokenizerInfo, load_tokenizer
from textssl.corruption import (
    Compose,
    Linear,
    SentenceOrder,
    SentencePermutation,
    T5SpanCorruption,
    TextInfilling,
    TokenMasking,
    WholeWordMasking,
)
from textssl.corruption.base import Strategy
from textssl.errors import ConfigError
from textssl.models import build_config

transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")

TINY = {"num_hidden_layers": 1}


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    """Packed blocks from ``textssl.data`` for each shipped tokenizer (input_ids, document_ids, sentence_ids)."""
    from textssl.data import get_blocks

    cache = {}
    root = tmp_path_factory.mktemp("blocks")

    def get(kind: str):
        if kind not in cache:
            ds, _ = get_blocks("synthetic:60", kind, 64, cache_dir=root / kind)
            cache[kind] = ds.select(range(32))
        return cache[kind]

    return get


def _args(tmp_path, **kw):
    base = dict(
        output_dir=str(tmp_path / "out"),
        report_to=[],
        max_steps=3,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
        learning_rate=1e-3,
        disable_tqdm=True,
        seed=0,
    )
    base.update(kw)
    return transformers.TrainingArguments(**base)


def _model(objective: str, arch: str, info: TokenizerInfo):
    from textssl.objectives import build_objective

    torch.manual_seed(0)
    config = build_config(arch, "tiny", info, 64, TINY)
    return build_objective(objective, arch).build_model(config)


CASES = {
    # name: (tokenizer, objective, arch, strategy)
    "mlm": ("wordpiece", "mlm", "bert", lambda: WholeWordMasking(rate=Linear(0.3, 0.15, steps=3))),
    "sop": ("wordpiece", "sop", "bert", lambda: Compose([SentenceOrder(), TokenMasking()])),
    "bart": ("bpe", "seq2seq", "bart", lambda: Compose([SentencePermutation(), TextInfilling(rate=0.3)])),
    "t5": ("unigram", "seq2seq", "t5", lambda: T5SpanCorruption()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_trainer_trains_with_the_collator(tmp_path, blocks, case):
    kind, objective, arch, make = CASES[case]
    tok = load_tokenizer(kind)
    collator = Collator(tok, make(), max_length=64, seed=0)
    model = _model(objective, arch, collator.info)
    trainer = transformers.Trainer(
        model=model,
        args=_args(tmp_path, remove_unused_columns=False),
        train_dataset=blocks(kind),
        data_collator=collator,
        callbacks=[collator.trainer_callback()],
    )
    result = trainer.train()
    assert result.global_step == 3
    assert math.isfinite(result.training_loss) and result.training_loss > 0
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)


def test_trainer_default_remove_unused_columns_gets_a_clear_error(tmp_path, blocks):
    """Trainer's default remove_unused_columns=True strips sentence_ids/document_ids before the collator."""
    tok = load_tokenizer("bpe")
    collator = Collator(tok, Compose([SentencePermutation(), TextInfilling(rate=0.3)]), seed=0)
    model = _model("seq2seq", "bart", collator.info)
    trainer = transformers.Trainer(
        model=model, args=_args(tmp_path), train_dataset=blocks("bpe"), data_collator=collator
    )
    with pytest.raises(KeyError, match=r"remove_unused_columns=False") as err:
        trainer.train()
    assert "SentencePermutation needs 'sentence_ids'" in str(err.value)
    assert "transformers.Trainer" in str(err.value)


def test_sentence_order_label_is_what_the_saved_sop_model_takes(blocks):
    """The sop objective saves BertForPreTraining: its forward takes the SentenceOrder label and returns a loss."""
    tok = load_tokenizer("wordpiece")
    collator = Collator(tok, Compose([SentenceOrder(), TokenMasking()]), seed=0)
    batch = collator([blocks("wordpiece")[i] for i in range(4)])
    model = _model("sop", "bert", collator.info)
    assert type(model).__name__ == "BertForPreTraining"
    with torch.no_grad():
        out = model(**batch)
    assert out.loss is not None and torch.isfinite(out.loss)
    ce = torch.nn.functional.cross_entropy
    mlm = ce(out.prediction_logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100)
    sop = ce(out.seq_relationship_logits, batch["next_sentence_label"], ignore_index=-100)
    assert out.loss.item() == pytest.approx((mlm + sop).item(), rel=1e-5)  # the sentence-order term counts
    # without the key BertForPreTraining computes no loss at all (what Trainer reported before)
    assert model(**{k: v for k, v in batch.items() if k != "next_sentence_label"}).loss is None


# --------------------------------------------------------------------------- GLUE metrics in Trainer


def _pair_task(tok, n: int = 24):
    rng = np.random.default_rng(0)
    words = "the cat dog sat ran on a mat red green house river walked jumped".split()
    rows = {"sentence1": [], "sentence2": [], "label": []}
    for _ in range(n):
        rows["sentence1"].append(" ".join(rng.choice(words, 6)))
        rows["sentence2"].append(" ".join(rng.choice(words, 5)))
        rows["label"].append(int(rng.integers(0, 2)))
    ds = datasets.Dataset.from_dict(rows)
    return ds.map(lambda b: tok(b["sentence1"], b["sentence2"], truncation=True, max_length=32), batched=True)


def test_trainer_metrics_inside_trainer_evaluate(tmp_path):
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

    from textssl.glue import compute_metrics, trainer_metrics

    tok = load_tokenizer("wordpiece")
    info = TokenizerInfo.from_tokenizer(tok)
    torch.manual_seed(0)
    config = build_config("bert", "tiny", info, 64, {**TINY, "num_labels": 2})
    model = AutoModelForSequenceClassification.from_config(config)
    ds = _pair_task(tok)
    args = _args(tmp_path)
    trainer = transformers.Trainer(
        model=model,
        args=args,
        eval_dataset=ds,
        data_collator=DataCollatorWithPadding(tok),
        compute_metrics=trainer_metrics("mrpc"),
    )
    metrics = trainer.evaluate()
    assert {"eval_accuracy", "eval_f1", "eval_loss"} <= set(metrics)
    pred = trainer.predict(ds)
    want = compute_metrics("mrpc", pred.predictions.argmax(-1), ds["label"])
    assert metrics["eval_accuracy"] == pytest.approx(want["accuracy"])
    assert metrics["eval_f1"] == pytest.approx(want["f1"])
    # a metric-set name works too, and regression outputs are scores
    assert set(trainer_metrics("accuracy")(pred)) == {"accuracy"}
    scores = transformers.EvalPrediction(
        predictions=np.array([[0.1], [0.5], [0.9]]), label_ids=np.array([0, 1, 2.0])
    )
    assert trainer_metrics("stsb")(scores)["spearmanr"] == pytest.approx(1.0)
    # textssl.glue.compute_metrics is not Trainer's compute_metrics: passing it says which one to use
    trainer.compute_metrics = compute_metrics
    with pytest.raises(ValueError, match=r"trainer_metrics\(TASK\)"):
        trainer.evaluate()
    with pytest.raises(ValueError, match="not trainer_metrics itself"):
        trainer_metrics(pred)


# --------------------------------------------------------------------------- rate schedules and steps


class RateProbe(Strategy):
    """Emits the schedule's value at the step the Collator passed (and the step), for every row."""

    def __init__(self, steps: int) -> None:
        self.rate = Linear(0.0, 1.0, steps)

    def __call__(self, batch, info, generator, step=0):
        b = batch["input_ids"].shape[0]
        return {"rate": torch.full((b,), self.rate(step)), "step": torch.full((b,), step)}


def _toy_rows(n: int) -> list[dict]:
    return [{"input_ids": [2, 5 + i % 7, 3]} for i in range(n)]


@pytest.mark.parametrize("accum", [1, 2])
def test_linear_schedule_follows_the_optimizer_step_with_two_workers(accum):
    """With 2 DataLoader workers, persistent or not, over 2 epochs: batch k of the run has step k // accum."""
    info = TokenizerInfo.from_tokenizer(load_tokenizer("wordpiece"))
    steps_per_epoch = 6 // accum
    for persistent in (False, True):
        collator = Collator(info, RateProbe(steps=2 * steps_per_epoch), seed=0)
        loader = DataLoader(
            _toy_rows(12), batch_size=2, collate_fn=collator, num_workers=2, persistent_workers=persistent
        )
        seen, step = [], 0
        for _ in range(2):
            collator.set_step(step, batches_per_step=accum)
            for i, batch in enumerate(loader):
                seen.append((int(batch["step"][0]), float(batch["rate"][0])))
                step += (i + 1) % accum == 0
        want_steps = [k // accum for k in range(12)]
        assert [s for s, _ in seen] == want_steps
        assert [r for _, r in seen] == pytest.approx([s / (2 * steps_per_epoch) for s in want_steps])
        assert seen[-1][1] < 1.0 and RateProbe(2 * steps_per_epoch).rate(step) == 1.0


def test_after_set_step_batches_do_not_depend_on_the_number_of_workers():
    tok = load_tokenizer("wordpiece")
    rows = [{"input_ids": tok(f"the cat number {i} sat on the mat")["input_ids"]} for i in range(12)]
    runs = []
    for workers in (0, 1, 2):
        collator = Collator(tok, WholeWordMasking(rate=Linear(0.5, 0.1, 6)), seed=4)
        collator.set_step(0)
        runs.append(
            [b["input_ids"] for b in DataLoader(rows, batch_size=2, collate_fn=collator, num_workers=workers)]
        )
    assert len(runs[0]) == 6
    for other in runs[1:]:
        assert all(torch.equal(x, y) for x, y in zip(runs[0], other))


def test_workers_without_a_step_source_refuse_a_changing_schedule():
    info = TokenizerInfo.from_tokenizer(load_tokenizer("wordpiece"))
    loader = DataLoader(_toy_rows(8), batch_size=2, collate_fn=Collator(info, RateProbe(4)), num_workers=2)
    with pytest.raises(ValueError, match=r"RateProbe.rate changes with the training step.*set_step"):
        list(loader)
    # a constant rate needs no step source, and the main process counts its own calls (with a warning)
    const = Collator(info, TokenMasking(rate=0.15))
    assert len(list(DataLoader(_toy_rows(8), batch_size=2, collate_fn=const, num_workers=2))) == 4
    collator = Collator(info, RateProbe(4))
    with pytest.warns(UserWarning, match="no step source"):
        steps = [int(b["step"][0]) for b in DataLoader(_toy_rows(8), batch_size=2, collate_fn=collator)]
    assert steps == [0, 1, 2, 3]


def test_set_step_rejects_bad_values():
    info = TokenizerInfo.from_tokenizer(load_tokenizer("wordpiece"))
    collator = Collator(info, RateProbe(4))
    with pytest.raises(ConfigError, match="batches_per_step >= 1"):
        collator.set_step(0, batches_per_step=0)


class StepCounter(Strategy):
    """TokenMasking with a Linear rate that also counts, in shared memory, how many training batches (4 rows;
    evaluation batches have 3) got each step."""

    def __init__(self, counts: torch.Tensor, steps: int) -> None:
        self.inner = TokenMasking(rate=Linear(0.3, 0.15, steps))
        self._counts = counts

    def __call__(self, batch, info, generator, step=0):
        if batch["input_ids"].shape[0] == 4:
            self._counts[min(step, len(self._counts) - 1)] += 1
        return self.inner(batch, info, generator, step)


@pytest.mark.parametrize("workers", [0, 2])
def test_trainer_callback_drives_the_schedule(tmp_path, blocks, workers):
    """Trainer with gradient accumulation 2, an evaluation after every step and 2 epochs, in the main process
    or in 2 workers: the batches of every optimizer step are collated with that step (2 each)."""
    tok = load_tokenizer("wordpiece")
    counts = torch.zeros(16, dtype=torch.int64).share_memory_()
    collator = Collator(tok, StepCounter(counts, steps=6), max_length=64, seed=0)
    train = blocks("wordpiece").select(range(16))  # 4 batches of 4 = 2 optimizer steps per epoch
    trainer = transformers.Trainer(
        model=_model("mlm", "bert", collator.info),
        args=_args(
            tmp_path,
            max_steps=4,
            gradient_accumulation_steps=2,
            per_device_eval_batch_size=3,
            remove_unused_columns=False,
            dataloader_num_workers=workers,
            eval_strategy="steps",
            eval_steps=1,
        ),
        train_dataset=train,
        eval_dataset=blocks("wordpiece").select(range(16, 24)),
        data_collator=collator,
        callbacks=[collator.trainer_callback()],
    )
    trainer.train()
    assert trainer.state.global_step == 4
    assert counts.tolist() == [2, 2, 2, 2] + [0] * 12
