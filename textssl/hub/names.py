"""How textssl names models and repositories: Hub repo ids, run names, and the repo id a model card records.

Also the reading side of a model card's text (front matter, sections, the facts table), which both the card
builder (:mod:`textssl.hub.cards`) and :func:`card_repo_id` use. Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textssl.errors import ConfigError, InputFileError

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Folder names that say nothing about the run: a card titled "model" is named after its parent run instead.
_GENERIC_DIRS = {
    "model", "models", "checkpoint", "checkpoints", "final", "best", "last", "output", "outputs", "out",
    "generator", "discriminator", "pretrain", "pretrained", "finetune", "finetuned", "hf", "export",
}  # fmt: skip
_STEP_DIR = re.compile(r"^(step|checkpoint)[-_]?\d+$")
_FILE_SUFFIXES = {
    ".txt", ".text", ".tokens", ".raw", ".json", ".jsonl", ".csv", ".tsv", ".parquet", ".arrow",
    ".gz", ".bz2", ".xz", ".zst", ".zip", ".tar", ".md",
}  # fmt: skip


def is_hub_id(name: Any) -> bool:
    """Whether ``name`` is (conservatively) a Hub repo id: ``owner/name`` form, no file suffix, not a local path.

    ``synthetic:400``, ``corpus.txt``, ``data/wiki.train.tokens`` and any path that exists here are not.
    """
    if not isinstance(name, str) or len(name) > 96 or not REPO_ID.match(name):
        return False
    if ".." in name or "--" in name or Path(name).suffix.lower() in _FILE_SUFFIXES:
        return False
    return not Path(name).exists()


def check_repo_id(repo_id: str | None, option: str = "--repo-id") -> str:
    """``repo_id`` if it has the Hub's ``user-or-org/name`` form, else a :class:`ConfigError` naming ``option``."""
    if not isinstance(repo_id, str) or not REPO_ID.match(repo_id):
        raise ConfigError(f"{option} {repo_id!r}: expected 'user-or-org/name'")
    return repo_id


def run_name(path: str | os.PathLike) -> str:
    """A meaningful name for a checkpoint directory: its own name, or its run's when the folder is generic.

    ``runs/mlm-tiny/model`` -> ``mlm-tiny``; ``runs/mlm-tiny/checkpoints/step_300`` -> ``mlm-tiny``; a
    temporary ``.model.tmpXYZ`` folder (atomic writes) counts as ``model``.
    """
    resolved = Path(path).resolve()
    for part in (resolved, *resolved.parents):
        name = part.name
        if name.startswith(".") and ".tmp" in name:
            name = name[1:].split(".tmp")[0]
        if name and name.lower() not in _GENERIC_DIRS and not _STEP_DIR.match(name.lower()):
            return name
    return "textssl-model"


def card_repo_id(model_dir: str | os.PathLike) -> str | None:
    """The Hub repo id recorded in ``model_dir/README.md`` by an earlier push (``None`` if never pushed)."""
    path = Path(model_dir) / "README.md"
    if not path.is_file():
        return None
    try:
        meta, body = split_card(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError, InputFileError):
        return None
    title, _ = card_preamble(card_sections(body)[0])
    return recorded_repo_id(meta, title)


def display_name(model: str | os.PathLike) -> str:
    """How reports name a model: its Hub id (given, or recorded in its card), else its run's name."""
    text = str(model)
    if Path(text).is_dir():
        return card_repo_id(text) or run_name(text)
    return text


def recorded_repo_id(meta: Mapping[str, Any], title: str | None) -> str | None:
    index = meta.get("model-index")
    candidates = [
        index[0].get("name") if isinstance(index, list) and index and isinstance(index[0], dict) else None
    ]
    candidates.append(title)
    for name in candidates:
        if isinstance(name, str) and REPO_ID.match(name) and not Path(name).exists():
            return name
    return None


def split_card(text: str, source: Path | str) -> tuple[dict[str, Any], str]:
    """``(front matter, body)`` of a model card; a card without front matter is all body."""
    import yaml

    match = re.match(r"^\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, flags=re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InputFileError(
            f"{source}: the model card's front matter is not valid YAML ({str(exc).splitlines()[0]})",
            hint="fix the YAML between the '---' lines, or move the file away to start a fresh card",
        ) from None
    if not isinstance(meta, dict):
        raise InputFileError(
            f"{source}: the model card's front matter is not a mapping of keys",
            hint="fix the YAML between the '---' lines, or move the file away to start a fresh card",
        )
    return meta, text[match.end() :]


def card_sections(body: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split a card body into the lines before the first ``## `` heading and ``(heading, lines)`` sections."""
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_code = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return head, sections


def card_preamble(head: Sequence[str]) -> tuple[str | None, str]:
    """``(title, intro)`` of the lines before the first section."""
    title, rest = None, []
    for line in head:
        if title is None and line.startswith("# "):
            title = line[2:].strip()
        else:
            rest.append(line)
    return title, "\n".join(rest).strip()


def table_rows(lines: Sequence[str]) -> dict[str, str]:
    """The ``| key | value |`` rows of a two-column facts table (header and rule skipped)."""
    rows: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")) or set(line) <= set("|-: "):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows
