"""Model cards and pushing checkpoints to the Hugging Face Hub.

:func:`build_model_card` describes a textssl checkpoint with ``huggingface_hub``'s ``ModelCard``: metadata
(``library_name: transformers``, a ``textssl`` tag, the pretraining datasets, and a ``model-index`` with the
GLUE dev results when there are any) and a short body with the objective, the compute budget and the results
table. :func:`write_model_card` writes it as the checkpoint's ``README.md``; :func:`push_to_hub` uploads a
checkpoint folder with ``HfApi.create_repo`` + ``upload_folder``. Tokens come from the argument, ``HF_TOKEN``
or the stored login, and are never printed or logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textssl.atomic import write_atomic
from textssl.errors import ConfigError, HubError, InputFileError

logger = logging.getLogger(__name__)

TAG = "textssl"
# What a pretraining checkpoint holds besides the model: never uploaded by default.
DEFAULT_IGNORE = (
    ".*",
    "**/.*",
    "*.tmp*",
    "optimizer*.bin",
    "optimizer*.pt",
    "scheduler*.bin",
    "scheduler*.pt",
    "scaler*.pt",
    "random_states_*.pkl",
    "training_state/**",
    "accelerate_state/**",
)
_PIPELINE = {"mlm": "fill-mask", "clm": "text-generation", "seq2seq": "text2text-generation"}
_SLUG = re.compile(r"^[\w.-]+$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _read_config(model_dir: Path | None) -> dict[str, Any]:
    if model_dir is None or not (model_dir / "config.json").is_file():
        return {}
    try:
        return json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _count_parameters(model_dir: Path | None) -> int | None:
    """Parameter count from the safetensors header (no tensor is loaded)."""
    if model_dir is None or not (model_dir / "model.safetensors").is_file():
        return None
    try:
        from safetensors import safe_open

        total = 0
        with safe_open(str(model_dir / "model.safetensors"), framework="pt") as fh:
            for key in fh.keys():
                n = 1
                for dim in fh.get_slice(key).get_shape():
                    n *= dim
                total += n
        return total
    except Exception:  # an unreadable file only costs the card one line
        return None


def _load_results(glue_results: Mapping[str, Any] | str | os.PathLike | None) -> Mapping[str, Any] | None:
    if glue_results is None or isinstance(glue_results, Mapping):
        return glue_results
    path = Path(glue_results)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise InputFileError(f"glue_results {path}: no such file (pass the results.json of `textssl glue`)")
    return json.loads(path.read_text(encoding="utf-8"))


def _eval_results(results: Mapping[str, Any], model_name: str) -> list:
    """One ``EvalResult`` per task and metric: the median over seeds of the pretrained runs."""
    from huggingface_hub import EvalResult

    from textssl.glue import HUB_DATASET, TASKS

    out = []
    for name, task in results.get("tasks", {}).items():
        summary = task.get("summary", {}).get("pretrained")
        if not summary:
            continue
        spec = TASKS.get(name)
        hub_config = spec.hub_config if spec else None
        n = len(summary.get("scores", [])) or len(results.get("seeds", []))
        for metric, value in summary.get("metrics", {}).items():
            out.append(
                EvalResult(
                    task_type="text-classification",
                    task_name="Text Classification"
                    if not spec or not spec.is_regression
                    else "Text Regression",
                    dataset_type=HUB_DATASET if hub_config else f"textssl/{name}",
                    dataset_name=f"GLUE {spec.dir_name}" if hub_config else name,
                    dataset_config=hub_config,
                    dataset_split="validation",
                    metric_type=metric.split("_mismatched")[0],
                    metric_value=round(100 * float(value), 2),
                    metric_name=f"{metric} (dev, x100, median of {n} seed{'s' * (n != 1)})",
                )
            )
    return out


def build_model_card(
    model_dir: str | os.PathLike | None = None,
    *,
    objective: str | None = None,
    datasets: str | Sequence[str] | None = None,
    steps: int | None = None,
    tokens_seen: int | None = None,
    budget: str | Mapping[str, Any] | None = None,
    glue_results: Mapping[str, Any] | str | os.PathLike | None = None,
    base_model: str | None = None,
    model_name: str | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
    language: str | Sequence[str] | None = "en",
    tags: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
):
    """A ``huggingface_hub.ModelCard`` for a textssl checkpoint.

    ``model_dir`` (optional) is read for ``config.json`` and the parameter count; ``objective`` names the
    pretraining objective (``mlm``, ``electra``, ``clm`` ...), ``datasets`` the pretraining data, ``steps`` and
    ``tokens_seen`` how far training got, ``budget`` the compute budget (a string like ``"1 CPU-hour"`` or a
    mapping shown as a table), ``glue_results`` the results of :func:`textssl.training.finetune.run_glue_suite`
    (a dict, a ``results.json`` or its directory) which become the card's ``model-index``, ``base_model`` the
    checkpoint this one continued from, ``details`` any further facts (hyperparameters, corruption strategy)
    listed in the card. ``repo_id`` (``user/name``) is used in the card's usage snippet.
    """
    from huggingface_hub import ModelCard, ModelCardData

    mdir = Path(model_dir) if model_dir is not None else None
    config = _read_config(mdir)
    results = _load_results(glue_results)
    datasets = [datasets] if isinstance(datasets, str) else list(datasets or [])
    name = model_name or (mdir.resolve().name if mdir is not None else "textssl-model")
    architecture = (config.get("architectures") or [config.get("model_type", "")])[0]
    eval_results = _eval_results(results, name) if results else None

    data = ModelCardData(
        library_name="transformers",
        tags=[
            TAG,
            *(t for t in tags if t != TAG),
            *([objective] if objective and _SLUG.match(objective) else []),
        ],
        datasets=datasets or None,
        license=license,
        language=language,
        base_model=base_model,
        model_name=name if eval_results else None,
        pipeline_tag=_PIPELINE.get((objective or "").lower()),
        eval_results=eval_results or None,
    )

    facts: dict[str, Any] = {}
    if objective:
        facts["objective"] = objective
    if architecture:
        facts["architecture"] = f"{architecture} ({config.get('model_type', '?')})"
    for key, label in (
        ("num_hidden_layers", "layers"),
        ("hidden_size", "hidden size"),
        ("vocab_size", "vocabulary"),
    ):
        if key in config:
            facts[label] = config[key]
    params = _count_parameters(mdir)
    if params:
        facts["parameters"] = f"{params / 1e6:.2f}M"
    if datasets:
        facts["pretraining data"] = ", ".join(datasets)
    if steps is not None:
        facts["steps"] = f"{int(steps):,}"
    if tokens_seen is not None:
        facts["tokens seen"] = f"{int(tokens_seen):,}"
    if isinstance(budget, Mapping):
        facts.update({f"budget: {k}": v for k, v in budget.items()})
    elif budget:
        facts["budget"] = budget
    if base_model:
        facts["continued from"] = base_model
    facts.update(details or {})

    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        f"# {name}",
        "",
        "A Transformer language model pretrained with textssl (self-supervised "
        "pretraining with corruption strategies). It is a stock `transformers` model: load it with "
        "`AutoModel.from_pretrained` (no `trust_remote_code`).",
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts.items()),
        "",
    ]
    if results:
        from textssl.training.finetune import results_table

        lines += ["## GLUE-style evaluation (dev sets)", "", results_table(results).rstrip(), ""]
    ref = repo_id or f"path/to/{name}"
    lines += [
        "## Usage",
        "",
        "```python",
        "from transformers import AutoModel, AutoTokenizer",
        "",
        f'tokenizer = AutoTokenizer.from_pretrained("{ref}")',
        f'model = AutoModel.from_pretrained("{ref}")',
        "```",
        "",
        "Finetune on GLUE with `textssl glue --model <this repo or directory> --tasks cola,sst2,mrpc --seeds 3`.",
        "",
    ]
    return ModelCard("\n".join(lines))


def write_model_card(model_dir: str | os.PathLike, **kwargs: Any) -> Path:
    """Write :func:`build_model_card` (same keyword arguments) as ``model_dir/README.md``, atomically."""
    mdir = Path(model_dir)
    if not mdir.is_dir():
        raise InputFileError(f"model card: {mdir} is not a directory")
    card = build_model_card(mdir, **kwargs)
    return write_atomic(mdir / "README.md", str(card))


# --------------------------------------------------------------------------------------------------------------
# Network errors: one line naming what could not be fetched and the local alternative, never the token.

_NETWORK_ERROR_NAMES = {
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionError",
    "ReadTimeout",
    "Timeout",
    "TimeoutException",
    "NetworkError",
    "TransportError",
    "ProxyError",
    "SSLError",
    "gaierror",
}
_NETWORK_PHRASES = (
    "couldn't connect",
    "couldn't reach",
    "offline mode",
    "outgoing traffic has been disabled",
)


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and not any(exc is s for s in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def hub_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the Hub could not be reached at all:
    offline mode (``HF_HUB_OFFLINE=1``), no network, DNS failure, a timeout, or a file not in the local cache."""
    for e in _chain(exc):
        if isinstance(e, (ConnectionError, TimeoutError)) and not isinstance(e, HubError):
            return True
        if any(t.__name__ in _NETWORK_ERROR_NAMES for t in type(e).__mro__):
            return True
        if any(phrase in str(e).lower() for phrase in _NETWORK_PHRASES):
            return True
    return False


def hub_error(what: str, exc: BaseException, hint: str) -> HubError:
    """A one-line :class:`~textssl.errors.HubError`: the Hub is unreachable, so ``what`` failed; ``hint`` names
    the local alternative. Only the exception's class name is kept (its text can hold URLs, never needed here)."""
    names = [type(e).__name__ for e in _chain(exc)]
    cause = next((n for n in names if n in _NETWORK_ERROR_NAMES), names[-1] if names else "error")
    return HubError(
        f"the Hugging Face Hub is unreachable (offline mode or no network; {cause}): could not {what}",
        hint=hint,
    )


def require_online(what: str, hint: str) -> None:
    """Raise the one-line :class:`HubError` at once when offline mode (``HF_HUB_OFFLINE=1``) is on, before any
    work or file write that would only be followed by a failed network call."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:  # read from HF_HUB_OFFLINE when huggingface_hub is imported
        raise HubError(
            f"the Hugging Face Hub is unreachable (offline mode: HF_HUB_OFFLINE is set): could not {what}",
            hint=hint,
        )


def _refused(what: str, exc: BaseException) -> HubError | None:
    """A one-line :class:`HubError` for an HTTP error answer of the Hub (bad token, no access, no such repo)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        return None
    hints = {
        401: "the token was not accepted: set HF_TOKEN to a valid token with write access, or run `hf auth login`",
        403: "the token may not write to this repository: check the name and the token's permissions",
        404: "check the repository id (user-or-org/name)",
    }
    return HubError(
        f"the Hugging Face Hub refused to {what} (HTTP {status} {type(exc).__name__})",
        hint=hints.get(status, "check the repository id and your token, then try again"),
    )


def _resolve_token(token: str | None) -> str:
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise ConfigError(
            "no Hugging Face token: pass token=..., set the HF_TOKEN environment variable, or run `hf auth login`"
        )
    return found


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload model trained with textssl",
    *,
    endpoint: str | None = None,
    ignore_patterns: Sequence[str] | None = DEFAULT_IGNORE,
    exist_ok: bool = True,
) -> str:
    """Create ``repo_id`` (if needed) and upload ``folder`` to it; return the commit URL.

    The token comes from ``token``, else ``HF_TOKEN``, else the stored ``hf auth login``; it is passed to
    ``HfApi`` only and never logged. ``ignore_patterns`` (default :data:`DEFAULT_IGNORE`) keeps optimizer and
    training state out of the upload. ``endpoint`` overrides the Hub URL (default: ``HF_ENDPOINT``).
    """
    from huggingface_hub import HfApi

    path = Path(folder)
    if not path.is_dir():
        raise InputFileError(f"push: {path} is not a directory")
    if not _REPO_ID.match(repo_id or ""):
        raise ConfigError(f"--repo-id {repo_id!r}: expected 'user-or-org/name'")
    require_online(f"push {path} to {repo_id}", "unset HF_HUB_OFFLINE and connect to the network to push")
    if not (path / "README.md").is_file():
        logger.warning("%s has no README.md model card; write one with textssl.hub.write_model_card", path)
    api = HfApi(endpoint=endpoint, token=_resolve_token(token))
    step = f"create the repository {repo_id}"
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=exist_ok, repo_type="model")
        logger.info("uploading %s to %s", path, url)
        step = f"upload {path} to {repo_id}"
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(path),
            commit_message=commit_message,
            repo_type="model",
            ignore_patterns=list(ignore_patterns) if ignore_patterns else None,
        )
    except Exception as exc:  # network and HTTP errors become one line; anything else is a bug
        if hub_unreachable(exc):
            raise hub_error(
                step,
                exc,
                "connect to the network and unset HF_HUB_OFFLINE to push; the folder stays as it is",
            ) from None
        refused = _refused(step, exc)
        if refused is not None:
            raise refused from None
        raise
    commit_url = getattr(info, "commit_url", None) or str(info)
    logger.info("pushed %s -> %s", path, commit_url)
    return commit_url
