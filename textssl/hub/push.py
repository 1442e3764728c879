"""Push a checkpoint folder to the Hugging Face Hub, its model card first stamped with the repo id.

:func:`push_to_hub` merges the repo id into the folder's card (title, usage snippet, ``model-index`` name; see
:mod:`textssl.hub.cards`) and uploads the folder with ``HfApi.create_repo`` + ``upload_folder``; a failed push
restores the card. Tokens come from the argument, ``HF_TOKEN`` or the stored login, and are never printed or
logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from textssl.atomic import write_atomic
from textssl.errors import ConfigError, InputFileError
from textssl.hub.cards import write_model_card
from textssl.hub.names import REPO_ID
from textssl.hub.network import hub_error, hub_unreachable, refused, require_online, resolve_token

logger = logging.getLogger(__name__)

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
    update_card: bool = True,
) -> str:
    """Create ``repo_id`` (if needed) and upload ``folder`` to it; return the commit URL.

    The token comes from ``token``, else ``HF_TOKEN``, else the stored ``hf auth login``; it is passed to
    ``HfApi`` only and never logged. ``ignore_patterns`` (default :data:`DEFAULT_IGNORE`) keeps optimizer and
    training state out of the upload. ``endpoint`` overrides the Hub URL (default: ``HF_ENDPOINT``). With
    ``update_card`` (default) the folder's ``README.md`` is first merged with the repo id (title, usage
    snippet, ``model-index`` name; :func:`write_model_card`), so the local and the uploaded card agree.
    """
    from huggingface_hub import HfApi

    path = Path(folder)
    if not path.is_dir():
        raise InputFileError(f"push: {path} is not a directory")
    if not REPO_ID.match(repo_id or ""):
        raise ConfigError(f"--repo-id {repo_id!r}: expected 'user-or-org/name'")
    require_online(f"push {path} to {repo_id}", "unset HF_HUB_OFFLINE and connect to the network to push")
    if not (path / "README.md").is_file():
        logger.warning("%s has no README.md model card; write one with textssl.hub.write_model_card", path)
    api = HfApi(endpoint=endpoint, token=resolve_token(token))
    card = path / "README.md"
    old_card = card.read_bytes() if card.is_file() else None
    if update_card and old_card is not None:
        write_model_card(path, repo_id=repo_id)
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
        if old_card is not None and card.read_bytes() != old_card:
            write_atomic(card, old_card)  # a failed push leaves the folder as it was
        if hub_unreachable(exc):
            raise hub_error(
                step,
                exc,
                "connect to the network and unset HF_HUB_OFFLINE to push; the folder stays as it is",
            ) from None
        answer = refused(step, exc)
        if answer is not None:
            raise answer from None
        raise
    commit_url = getattr(info, "commit_url", None) or str(info)
    logger.info("pushed %s -> %s", path, commit_url)
    return commit_url
