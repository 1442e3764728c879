"""Atomic outputs: build in a temporary sibling, then rename over the target.

A run killed at any moment leaves either the previous output or the new one, never half of it. One mechanism
for every directory and small file textssl writes (checkpoints, model directories, tokenizers, task sets,
finetuned models, results, model cards).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_permissions(path: str | os.PathLike) -> None:
    """Give a ``tempfile.mkdtemp``/``mkstemp`` result (0700/0600) the permissions a plain mkdir/open would."""
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~_umask())


def replace_dir(src: Path, target: Path) -> None:
    """Rename ``src`` to ``target``, moving an existing ``target`` aside first (each rename is atomic)."""
    old = target.parent / f".{target.name}.old"
    if target.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(src, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``target``; on success it replaces ``target``.

    On an exception the temporary directory is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp", dir=target.parent))
    default_permissions(tmp)
    try:
        yield tmp
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path next to ``target`` (same suffix); on success it replaces ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.tmp", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    default_permissions(tmp)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(target: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``target`` atomically; return the path."""
    with atomic_file(target) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(target)
