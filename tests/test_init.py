"""The top-level ``textssl`` namespace: every exported name resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import textssl


def test_every_exported_name_resolves() -> None:
    import textssl.corruption as corruption

    for name in textssl.__all__:
        value = getattr(textssl, name)
        assert value is not None, name
        assert name in dir(textssl)
    assert textssl.Compose is corruption.Compose and textssl.TokenMasking is corruption.TokenMasking
    # every registered strategy class is reachable from the top level
    assert {cls.__name__ for cls in corruption.STRATEGIES.values()} <= set(textssl.__all__)
    from textssl.data import blocks_from_texts, get_blocks
    from textssl.training.config import PretrainConfig

    assert textssl.get_blocks is get_blocks and textssl.blocks_from_texts is blocks_from_texts
    assert textssl.PretrainConfig is PretrainConfig
    assert callable(textssl.pretrain) and callable(textssl.finetune) and callable(textssl.run_glue_suite)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Colator'"):
        textssl.Colator  # noqa: B018
    assert not hasattr(textssl, "nothing_here")


def test_import_is_light() -> None:
    """``import textssl`` loads none of torch, transformers, datasets or the training code."""
    code = (
        "import sys, textssl; heavy = [m for m in ('torch', 'transformers', 'datasets', 'textssl.training', "
        "'textssl.collator') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docstring_example_runs() -> None:
    from textssl import Collator, WholeWordMasking, blocks_from_texts, load_tokenizer

    tokenizer = load_tokenizer("wordpiece")
    blocks = blocks_from_texts(tokenizer, ["One document. Two sentences.", "Another one."], 16)
    batch = Collator(tokenizer, WholeWordMasking(rate=0.15))(blocks)
    assert batch["input_ids"].shape == (1, 16) and "labels" in batch


def test_finetune_is_the_function_and_finetuning_the_package() -> None:
    """``textssl.finetune`` is the function (the package is ``textssl.finetuning``), whatever was imported first."""
    import importlib

    import textssl.finetuning as package
    import textssl.glue
    from textssl.finetuning.loop import finetune

    assert textssl.finetune is finetune and package.finetune is finetune and textssl.finetuning is package
    assert (
        textssl.run_glue_suite is package.run_glue_suite and textssl.FinetuneConfig is package.FinetuneConfig
    )
    assert textssl.glue.trainer_metrics is package.trainer_metrics  # the documented alias of the registry
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("textssl.training.finetune")  # the old home is gone


def test_finetuning_and_hub_packages_import_lazily() -> None:
    """Their names resolve on first use: the registry and the Hub's names load without torch or the loop."""
    code = (
        "import sys; from textssl.finetuning import get_task; from textssl.hub import run_name; "
        "print([m for m in ('torch', 'transformers', 'textssl.finetuning.loop', 'textssl.hub.cards') "
        "if m in sys.modules], get_task('SST-2').name, run_name('runs/x/model'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "sst2", "x"]
