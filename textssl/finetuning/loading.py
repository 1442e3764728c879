"""Load what a finetuning run starts from: the checkpoint (checked before any work), its tokenizer, a classifier.

Any checkpoint loads through ``AutoModelForSequenceClassification`` (the head is added; ``problem_type=
"regression"`` for STS-B): MLM, ELECTRA-discriminator and causal LM checkpoints alike. A local directory is
checked first (config, weights, a readable safetensors header), so a wrong ``--model`` fails in a line before
the data is read; a ``--model`` that is neither on disk nor reachable on the Hub is a one-line HubError.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from textssl.errors import ConfigError, InputFileError
from textssl.finetuning.tasks import TaskSpec

logger = logging.getLogger(__name__)

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def check_checkpoint(model_name_or_path: str | os.PathLike, need_weights: bool = True) -> None:
    """Fail early, with a fix, when a local checkpoint directory lacks its config or weights."""
    path = Path(model_name_or_path)
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise InputFileError(
                f"--model {path}: the checkpoint directory has no config.json; pass a directory written by "
                "save_pretrained (e.g. a textssl pretrain checkpoint) or a Hub model id"
            )
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(
                f"--model {path}: {config} is not readable JSON ({exc})",
                hint="the checkpoint is damaged; save it again or use another checkpoint",
            ) from None
        if not isinstance(data, dict) or "model_type" not in data:
            raise InputFileError(
                f"--model {path}: {config} has no 'model_type'; it is not a transformers model config",
                hint="pass a directory written by save_pretrained (e.g. a textssl pretrain checkpoint's model/)",
            )
        if need_weights and not any((path / f).is_file() for f in WEIGHT_FILES):
            raise InputFileError(
                f"--model {path}: the checkpoint directory has config.json but no weights "
                f"({' or '.join(WEIGHT_FILES[:2])}); use --baseline random-init / random_init=True to "
                "finetune the architecture from scratch"
            )
        if need_weights and (path / "model.safetensors").is_file():
            _check_safetensors(path / "model.safetensors", path)
    elif path.exists():
        raise InputFileError(
            f"--model {path}: is a file; pass a checkpoint directory (config.json and weights) or a Hub model id"
        )
    elif (
        path.is_absolute()
        or str(model_name_or_path).startswith((".", "~"))
        or str(model_name_or_path).count("/") > 1
    ):
        raise InputFileError(f"--model {model_name_or_path}: no such checkpoint directory")


def _check_safetensors(weights: Path, model: Path) -> None:
    """Read the safetensors header (not the tensors): a truncated or damaged file fails here, before any work."""
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as fh:
            fh.keys()
    except Exception as exc:
        if not _is_load_error(exc):
            raise
        raise InputFileError(
            f"--model {model}: cannot read the weights file {weights} ({_first_line(exc)})",
            hint="the file is damaged or incomplete; save the checkpoint again or use another one",
        ) from None


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's text, cut to ``limit`` characters (one-line errors stay one line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _hub_model_error(model_name_or_path: str | os.PathLike, exc: BaseException):
    """A HubError for a ``--model`` that is not on disk and could not be fetched, else ``None``."""
    from textssl.hub.network import hub_error, hub_unreachable

    if Path(model_name_or_path).exists() or not hub_unreachable(exc):
        return None
    return hub_error(
        f"download the model {str(model_name_or_path)!r} (no local directory of that name exists)",
        exc,
        "pass a local checkpoint directory as --model, e.g. runs/NAME/model",
    )


def load_config(model_name_or_path: str | os.PathLike, **kwargs: Any):
    """``AutoConfig.from_pretrained`` with an error that names the ``--model`` at fault."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(model_name_or_path), **kwargs)
    except (OSError, ValueError) as exc:
        hub = _hub_model_error(model_name_or_path, exc)
        if hub is not None:
            raise hub from None
        raise InputFileError(
            f"--model {model_name_or_path}: could not load its config ({_first_line(exc)})"
        ) from None


def load_tokenizer_for(model_name_or_path: str, tokenizer: str | None = None):
    """The checkpoint's tokenizer (or ``tokenizer``: a shipped name, directory or Hub id), with a pad token."""
    from textssl.tokenization import load_tokenizer

    try:
        tok = load_tokenizer(tokenizer or str(model_name_or_path))
    except (InputFileError, ConfigError) as exc:
        if tokenizer:
            raise
        raise type(exc)(
            f"--model {model_name_or_path}: the checkpoint has no usable tokenizer ({exc.message})",
            hint="pass --tokenizer (the tokenizer used for pretraining)",
        ) from None
    if tok.pad_token is None:  # GPT-2 / Llama tokenizers: pad with EOS (attention mask hides it)
        if tok.eos_token is None:
            raise ConfigError(
                f"tokenizer of {model_name_or_path} has neither a pad nor an EOS token; pass --tokenizer"
            )
        tok.pad_token = tok.eos_token
    return tok


def load_classifier(
    model_name_or_path: str | os.PathLike,
    spec: TaskSpec,
    tokenizer,
    random_init: bool = False,
    trust_remote_code: bool = False,
    pooling: str = "auto",
):
    """An ``AutoModelForSequenceClassification`` for ``spec`` from a checkpoint (or its config, if random_init).

    Works for MLM, ELECTRA-discriminator and causal LM checkpoints alike: the classification head is new
    (``num_labels``, ``problem_type``); CLMs get ``pad_token_id`` set so they can find each row's last token.
    """
    from transformers import AutoModelForSequenceClassification

    path = str(model_name_or_path)
    check_checkpoint(path, need_weights=not random_init)
    labels = spec.labels or ()
    kwargs: dict[str, Any] = {
        "num_labels": spec.num_labels,
        "problem_type": "regression" if spec.is_regression else "single_label_classification",
    }
    if labels:
        kwargs["id2label"] = dict(enumerate(labels))
        kwargs["label2id"] = {name: i for i, name in enumerate(labels)}
    config = load_config(path, trust_remote_code=trust_remote_code, **kwargs)
    set_pooling(config, pooling, path)
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = tokenizer.pad_token_id
    check_vocab(config, tokenizer, path)
    with _quiet_transformers():
        if random_init:
            return AutoModelForSequenceClassification.from_config(config, trust_remote_code=trust_remote_code)
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path,
                config=config,
                trust_remote_code=trust_remote_code,
                ignore_mismatched_sizes=True,
                output_loading_info=True,
            )
        except Exception as exc:  # a damaged or truncated weights file: name it; anything else is a bug
            weights = next((Path(path) / f for f in WEIGHT_FILES if (Path(path) / f).is_file()), None)
            hub = _hub_model_error(path, exc)
            if hub is not None:
                raise hub from None
            if weights is None or not _is_load_error(exc):
                raise
            raise InputFileError(
                f"--model {path}: cannot read the weights file {weights} ({_first_line(exc)})",
                hint="the file is damaged or incomplete; save the checkpoint again or use another one",
            ) from None
    new = sorted(
        set(info.get("missing_keys", ()))
        | {k[0] if isinstance(k, tuple) else k for k in info.get("mismatched_keys", ())}
    )
    logger.info(
        "loaded %s as %s; new weights: %s; unused checkpoint weights: %d",
        path,
        type(model).__name__,
        ", ".join(new) or "none",
        len(info.get("unexpected_keys", ())),
    )
    return model


def _is_load_error(exc: BaseException) -> bool:
    """Errors a damaged weights file causes: safetensors' header errors, torch.load's zip/pickle errors."""
    import pickle

    if any(t.__name__ == "SafetensorError" for t in type(exc).__mro__):
        return True
    if isinstance(exc, (OSError, EOFError, pickle.UnpicklingError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("pytorchstreamreader", "zip archive", "checkpoint file")
    )


def set_pooling(config, pooling: str, path: str) -> None:
    """Apply ``pooling`` (``auto``, ``cls`` or ``mean``) to a classifier config, or say why it cannot be."""
    if pooling == "auto":
        return
    if not hasattr(config, "classifier_pooling"):
        raise ConfigError(
            f"--pooling {pooling}: the {getattr(config, 'model_type', '?')} classifier of {path} has a fixed "
            "pooling; only architectures with a classifier_pooling option (modernbert) can change it",
            hint="use --pooling auto for this model",
        )
    config.classifier_pooling = pooling


def check_vocab(config, tokenizer, path: str) -> None:
    """The tokenizer must not produce ids beyond the model's embedding table."""
    vocab = getattr(config, "vocab_size", None)
    if vocab is not None and len(tokenizer) > vocab:
        raise ConfigError(
            f"--model {path}: the tokenizer has {len(tokenizer)} tokens but the model's vocabulary has {vocab}; "
            "the tokenizer does not belong to this checkpoint (pass the pretraining tokenizer with --tokenizer)"
        )


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' per-load report and progress bar (we log one line of our own instead)."""
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def usable_max_length(config, max_length: int) -> int:
    """``max_length`` clipped to the model's position embeddings (RoBERTa reserves pad_token_id + 1 of them)."""
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if positions is None:
        return max_length
    if "roberta" in getattr(config, "model_type", ""):
        positions -= (config.pad_token_id or 0) + 1
    return min(max_length, positions)
