"""Plain-text files into documents: bounded line reading, UTF-8 error handling, and ``doc_mode`` grouping.

The layer under :mod:`textssl.data.readers` for ``*.txt`` / ``*.text`` / ``*.tokens`` / ``*.raw`` sources, also
used on in-memory text (:func:`split_text_documents`, e.g. by ``textssl corrupt``) so that a string is cut
into documents exactly as a file with the same content would be.
"""

from __future__ import annotations

import codecs
import logging
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from textssl.errors import ConfigError, DataError

logger = logging.getLogger("textssl.data.readers")

READER_VERSION = "1"
DOC_MODES = ("blank_line", "file", "line", "wikitext")
ENCODING_ERRORS = ("strict", "replace", "skip")
DEFAULT_MAX_LINE_CHARS = 100_000
TEXT_SUFFIXES = (".txt", ".text", ".tokens", ".raw")
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst")


class CorpusError(DataError):
    """The corpus cannot be read as given (empty, undecodable, wrong layout)."""


def file_suffix(path: Path) -> str:
    """The lower-case format suffix of ``path``, looking through a compression suffix (``a.txt.gz`` -> ``.txt``)."""
    name = path.name.lower()
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
    return os.path.splitext(name)[1]


def _is_wikitext_file(path: Path) -> bool:
    suf = file_suffix(path)
    return suf == ".tokens" or (suf == ".raw" and path.name.lower().startswith("wiki"))


def cut_line(text: str, max_chars: int) -> tuple[str, str]:
    """Cut ``text`` (longer than ``max_chars``) at the last whitespace before the limit (hard cut if none)."""
    cut = -1
    for ws in (" ", "\t"):
        cut = max(cut, text.rfind(ws, max_chars // 2, max_chars))
    if cut <= 0:
        return text[:max_chars], text[max_chars:]
    return text[:cut], text[cut + 1 :]


def _long_line_pieces(
    text: str, max_chars: int, cut: bool, counts: dict[str, int]
) -> Generator[tuple[str, bool, bool], None, tuple[str, bool]]:
    """Yield ``(piece, continued, was_cut)`` while ``text`` is longer than ``max_chars`` (counting a line the
    first time it is cut); return the rest and whether the line has been cut."""
    while len(text) > max_chars:
        piece, text = cut_line(text, max_chars)
        if not cut:
            counts["split_lines"] += 1
        yield piece, cut, not cut
        cut = True
    return text, cut


def _undecodable(path: str | os.PathLike, lineno: int, pos: int, exc: UnicodeDecodeError) -> CorpusError:
    bad = exc.object[exc.start : exc.start + 4]
    return CorpusError(
        f"{path}: line {lineno}, byte offset {pos}: invalid UTF-8 ({exc.reason}, bytes {bad!r}). "
        "Fix the file, or pass encoding_errors='replace' (U+FFFD for bad bytes) or 'skip' "
        "(drop such lines); on the command line --encoding-errors replace|skip"
    )


def iter_file_lines(
    path: str | os.PathLike,
    encoding_errors: str = "strict",
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
    counts: dict[str, int] | None = None,
) -> Iterator[tuple[str, bool, bool]]:
    """Yield ``(line, continued, was_cut)`` for every line of a UTF-8 file, without line terminators.

    Reads are bounded (at most ``4 * max_line_chars`` bytes at a time). A line longer than ``max_line_chars``
    comes out as several pieces: the first with ``was_cut=True``, the rest with ``continued=True``.
    ``counts`` (optional) accumulates ``split_lines`` and ``skipped_lines``.
    """
    if encoding_errors not in ENCODING_ERRORS:
        raise ConfigError(f"encoding_errors={encoding_errors!r}; choose one of {', '.join(ENCODING_ERRORS)}")
    if max_line_chars < 16:
        raise ConfigError(f"max_line_chars={max_line_chars} is too small; use at least 16")
    counts = counts if counts is not None else {}
    counts.setdefault("split_lines", 0)
    counts.setdefault("skipped_lines", 0)
    decoder = codecs.getincrementaldecoder("utf-8")("replace" if encoding_errors == "replace" else "strict")
    cap = max(4 * max_line_chars, 1 << 16)
    offset = 0  # bytes read so far
    lineno = 1
    buf = ""
    line_cut = False  # the current line has already produced pieces
    skipping = False  # dropping the rest of an undecodable line
    first = True
    with open(path, "rb") as fh:
        while True:
            raw = fh.readline(cap)
            at_eof = not raw
            ends = raw.endswith(b"\n")
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(raw, final=at_eof)
            except UnicodeDecodeError as exc:
                pos = offset - pending + exc.start
                if encoding_errors == "strict":
                    raise _undecodable(path, lineno, pos, exc) from None
                decoder.reset()
                if not skipping:
                    counts["skipped_lines"] += 1
                buf, line_cut, skipping = "", False, not ends
                offset += len(raw)
                lineno += ends
                if at_eof:
                    break
                continue
            offset += len(raw)
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            if skipping:
                skipping = not ends
                lineno += ends
                if at_eof:
                    break
                continue
            buf += text
            if ends or at_eof:
                line, line_cut = yield from _long_line_pieces(
                    buf.rstrip("\r\n"), max_line_chars, line_cut, counts
                )
                buf = ""
                if line or line_cut or ends:
                    yield line, line_cut, False
                line_cut = False
                lineno += 1
                if at_eof:
                    break
            else:
                buf, line_cut = yield from _long_line_pieces(buf, max_line_chars, line_cut, counts)


def _wikitext_heading(line: str) -> tuple[int, str] | None:
    """``" = Title = "`` -> (1, "Title"); ``" = = Sub = = "`` -> (2, "Sub"); anything else -> None."""
    s = line.strip()
    if len(s) < 5 or not (s.startswith("= ") and s.endswith(" =")):
        return None
    level = 0
    while s.startswith("= ") and s.endswith(" ="):
        s = s[2:-2].strip()
        level += 1
    return (level, s) if s and "=" not in (s[0], s[-1]) else None


def iter_documents_from_lines(
    lines: Iterator[tuple[str, bool, bool]], doc_mode: str
) -> Iterator[tuple[str, int]]:
    """Group ``(line, continued, was_cut)`` into ``(document, cut_lines)`` according to ``doc_mode``.

    Lines of a document are joined with a line break; WikiText paragraphs and headings with a blank line (a
    paragraph break, which the sentence splitter always treats as a boundary).
    """
    if doc_mode not in DOC_MODES:
        raise ConfigError(f"doc_mode={doc_mode!r}; choose one of {', '.join(DOC_MODES)}")
    joiner = "\n\n" if doc_mode == "wikitext" else "\n"
    doc: list[str] = []
    cut = 0

    def emit() -> tuple[str, int] | None:
        text = joiner.join(doc).strip()
        return (text, cut) if text else None

    for line, continued, was_cut in lines:
        stripped = line.strip()
        if doc_mode == "line":
            if not continued:
                done = emit()
                if done:
                    yield done
                doc, cut = [], 0
            cut += was_cut
            if stripped:
                doc.append(stripped)
        elif doc_mode == "blank_line":
            if not stripped and not continued:
                done = emit()
                if done:
                    yield done
                doc, cut = [], 0
            else:
                cut += was_cut
                doc.append(stripped)
        elif doc_mode == "file":
            cut += was_cut
            doc.append(line.rstrip())
        else:  # wikitext
            heading = None if continued else _wikitext_heading(line)
            if heading is not None and heading[0] == 1:
                done = emit()
                if done:
                    yield done
                doc, cut = [heading[1]], 0
            elif heading is not None:
                doc.append(heading[1])
            elif stripped:
                cut += was_cut
                doc.append(stripped)
    done = emit()
    if done:
        yield done


def gen_text_documents(
    files: list[str],
    doc_mode: str,
    encoding_errors: str,
    max_line_chars: int,
    explicit: list[bool],
) -> Iterator[dict[str, Any]]:
    """Generator behind plain-text sources: rows ``text``, ``split_lines``, ``skipped_lines``.

    Counts are attached to the last document of each file (one document of lookahead), so they survive the
    ``datasets`` cache.
    """
    for file, is_explicit in zip(files, explicit):
        path = Path(file)
        if path.stat().st_size == 0:
            if is_explicit:
                raise CorpusError(f"{file}: the file is empty; give a file with text")
            logger.warning("skipping empty file %s", file)
            continue
        mode = "wikitext" if doc_mode == "blank_line" and _is_wikitext_file(path) else doc_mode
        counts: dict[str, int] = {"split_lines": 0, "skipped_lines": 0}
        lines = iter_file_lines(path, encoding_errors, max_line_chars, counts)
        held: tuple[str, int] | None = None
        given_skipped = 0
        for doc in iter_documents_from_lines(lines, mode):
            if held is not None:
                yield {
                    "text": held[0],
                    "split_lines": held[1],
                    "skipped_lines": counts["skipped_lines"] - given_skipped,
                }
                given_skipped = counts["skipped_lines"]
            held = doc
        if held is None:
            if is_explicit:
                raise CorpusError(
                    f"{file}: no text found (only blank lines{' or undecodable lines' if counts['skipped_lines'] else ''})"
                )
            logger.warning("skipping %s: no text", file)
            continue
        yield {
            "text": held[0],
            "split_lines": held[1],
            "skipped_lines": counts["skipped_lines"] - given_skipped,
        }


def text_fingerprint(files: list[Path], *options: Any) -> str:
    from datasets.fingerprint import Hasher

    stats = []
    for f in files:
        st = f.stat()
        stats.append((str(f.resolve()), st.st_size, st.st_mtime_ns))
    return Hasher.hash(["textssl-read", READER_VERSION, stats, *options])


def gen_wikitext_rows(rows: Any, column: str) -> Iterator[dict[str, Any]]:
    """Regroup a line-per-row WikiText dataset (as on the Hub) into one row per article."""

    def lines() -> Iterator[tuple[str, bool, bool]]:
        for row in rows:
            for line in (row[column] or "").split("\n"):
                yield line, False, False

    for text, cut in iter_documents_from_lines(lines(), "wikitext"):
        yield {"text": text, "split_lines": cut, "skipped_lines": 0}


def split_text_documents(text: str, doc_mode: str = "blank_line") -> list[str]:
    """Split an in-memory string into documents exactly as a plain-text file is split (``doc_mode``)."""
    lines = ((line, False, False) for line in text.splitlines())
    return [doc for doc, _ in iter_documents_from_lines(lines, doc_mode)]
