"""Atomic outputs: build in a temporary sibling, then rename over the target.

A run killed at any moment leaves either the previous output or the new one, never half of it. One mechanism
for every directory and small file textssl writes (checkpoints, model directories, tokenizers, task sets,
finetuned models, results, model cards).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
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


def _resolved(path: str | os.PathLike | None) -> Path | None:
    """``path`` resolved when it names something on disk; ``None`` for Hub ids, shipped names and ``None``."""
    if path is None or not str(path):
        return None
    p = Path(path).expanduser()
    return p.resolve() if p.exists() else None


def _overlap(out: Path, source: Path, inside: bool) -> str | None:
    """How the output directory ``out`` would touch ``source`` (both resolved), or ``None``."""
    if out == source:
        return "is"
    if out in source.parents:
        return "contains"
    if inside and source.is_dir() and source in out.parents:
        return "lies inside"
    return None


def _check_writable(out: Path, option: str) -> None:
    """Fail before any work when ``out`` cannot be created: try a temporary directory next to it (in its nearest
    existing ancestor; removed at once), which is where :func:`atomic_dir` builds the output."""
    from textssl.errors import InputFileError

    base = out.absolute().parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise InputFileError(f"{option} {out}: {base} is a file, so the directory cannot be created there")
    try:
        probe = tempfile.mkdtemp(prefix=".textssl-probe-", dir=base)
    except OSError as exc:
        raise InputFileError(
            f"{option} {out}: cannot create a directory in {base} ({exc.strerror or exc})",
            hint="choose a location you can write to",
        ) from None
    os.rmdir(probe)


def check_output_dir(
    target: str | os.PathLike,
    *,
    overwrite: bool = False,
    option: str = "--output",
    flag: str = "--overwrite",
    inputs: Iterable[tuple[str, str | os.PathLike | None]] = (),
    models: Iterable[tuple[str, str | os.PathLike | None]] = (),
    marker: str | None = None,
) -> Path:
    """Refuse to write the directory ``target`` where that would destroy files the command did not create.

    The one check every command that writes a directory runs before any work starts:

    * ``target`` must not be an existing file (never replaced, even with ``overwrite``);
    * ``target`` must not be, or contain, any of ``inputs`` (``(option, path)`` pairs of what the command
      reads; Hub ids and shipped names, which are not on disk, are skipped), nor be, contain or lie inside any
      of ``models`` (model directories the command reads): not even ``overwrite`` allows that;
    * a non-empty ``target`` needs ``overwrite`` -- unless it holds ``marker``, a file the same command wrote
      there on an earlier run (used by ``textssl quickstart`` to rerun into its own output).

    Raises :class:`~textssl.errors.OutputExistsError` naming the directory and the way forward; returns
    ``Path(target)``.
    """
    from textssl.errors import OutputExistsError

    out = Path(target).expanduser()
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"{option} {out}: exists and is a file, not a directory",
            hint="choose a directory path; textssl never replaces a file with a directory",
        )
    resolved = out.resolve()
    for kind, pairs in ((False, inputs), (True, models)):
        for what, path in pairs:
            source = _resolved(path)
            if source is None:
                continue
            how = _overlap(resolved, source, inside=kind)
            if how is not None:
                raise OutputExistsError(
                    f"{option} {out} {how} the input {what} {path}; textssl never writes into what a "
                    "command reads",
                    hint=f"choose another {option} directory, away from {path}; {flag} does not change this",
                )
    if out.is_dir():
        entries = sorted(p.name for p in out.iterdir())
        if entries and not overwrite and not (marker and (out / marker).is_file()):
            shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
            raise OutputExistsError(
                f"{option} {out}: directory exists and is not empty ({shown})",
                hint=f"pass {flag} to replace it, or choose another directory",
            )
    _check_writable(out, option)
    return out
