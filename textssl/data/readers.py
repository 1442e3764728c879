"""Read corpora into a ``datasets`` dataset with one document per row (one column, ``text``).

Sources (see :func:`load_documents`):

* local plain-text files or directories (``*.txt``, ``*.text``, ``*.tokens``, ``*.raw``), split into documents
  by ``doc_mode``: ``blank_line`` (documents separated by blank lines), ``file`` (one document per file),
  ``line`` (one document per line) or ``wikitext`` (WikiText layout: a ``" = Title = "`` line starts a
  document, ``" = = Sub = = "`` lines do not; chosen automatically for ``*.tokens`` and ``wiki*.raw`` files);
* JSON Lines / JSON, CSV, TSV and Parquet files with a named text column (through ``datasets`` builders);
* a Hugging Face Hub dataset id with ``config`` and ``split`` (e.g. ``Salesforce/wikitext``,
  ``wikitext-103-raw-v1``); WikiText from the Hub (one line per row) is regrouped into articles;
* ``"synthetic"`` or ``"synthetic:N"`` (``"synthetic:N:SEED"``): the embedded synthetic corpus.

Plain text is decoded as UTF-8 (a BOM is dropped); undecodable bytes raise an error naming the file, line and
byte offset unless ``encoding_errors`` is ``"replace"`` (U+FFFD) or ``"skip"`` (drop the line). Lines longer
than ``max_line_chars`` are cut at whitespace into pieces (each piece becomes a line of its own) and counted,
never dropped; reads are bounded, so a file without line breaks cannot exhaust memory.
"""

from __future__ import annotations

import codecs
import glob
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textssl.errors import ConfigError, DataError, InputFileError, MissingKeyError

logger = logging.getLogger(__name__)

READER_VERSION = "1"
DOC_MODES = ("blank_line", "file", "line", "wikitext")
ENCODING_ERRORS = ("strict", "replace", "skip")
DEFAULT_MAX_LINE_CHARS = 100_000
DEFAULT_SYNTHETIC_DOCS = 20_000
TEXT_SUFFIXES = (".txt", ".text", ".tokens", ".raw")
STRUCTURED_SUFFIXES = {
    ".jsonl": "json",
    ".json": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst")


class CorpusError(DataError):
    """The corpus cannot be read as given (empty, undecodable, wrong layout)."""


class ColumnNotFoundError(MissingKeyError):
    """The requested text column does not exist; the message lists the columns that do."""


@dataclass
class ReadStats:
    """What happened while reading: ``split_lines`` long lines were cut, ``skipped_lines`` undecodable lines
    were dropped (``encoding_errors="skip"``), ``empty_files`` empty files inside directories were skipped."""

    files: int = 0
    documents: int = 0
    split_lines: int = 0
    skipped_lines: int = 0
    empty_files: int = 0


# ---------------------------------------------------------------------------------------------- sources
def parse_synthetic(source: str) -> tuple[int, int] | None:
    """``"synthetic"`` / ``"synthetic:N"`` / ``"synthetic:N:SEED"`` -> ``(N, SEED)``; anything else -> None."""
    if not isinstance(source, str) or not (source == "synthetic" or source.startswith("synthetic:")):
        return None
    parts = source.split(":")[1:]
    try:
        n = int(parts[0]) if parts and parts[0] else DEFAULT_SYNTHETIC_DOCS
        seed = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise ConfigError(
            f"bad synthetic source {source!r}; use 'synthetic', 'synthetic:N' or 'synthetic:N:SEED'"
        ) from None
    if n <= 0 or len(parts) > 2:
        raise ConfigError(f"bad synthetic source {source!r}; N must be a positive number of documents")
    return n, seed


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
    return os.path.splitext(name)[1]


def _family(path: Path) -> str:
    suf = _suffix(path)
    if suf in STRUCTURED_SUFFIXES:
        return STRUCTURED_SUFFIXES[suf]
    return "text"


def _looks_local(source: str) -> bool:
    return (
        source.startswith(("/", "./", "../", "~"))
        or os.sep in source.rstrip(os.sep)
        and os.path.exists(source.split(os.sep)[0])
        or _suffix(Path(source)) in (*TEXT_SUFFIXES, *STRUCTURED_SUFFIXES)
        or any(c in source for c in "*?[")
    )


def resolve_files(source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path] | None:
    """Local files named by ``source`` (paths, directories searched recursively, globs), or None for a Hub id.

    Raises FileNotFoundError for a path-like source that does not exist.
    """
    if isinstance(source, (list, tuple)):
        if not source:
            raise CorpusError("no input given: the list of sources is empty")
        out: list[Path] = []
        for s in source:
            files = resolve_files(s)
            if files is None:
                raise InputFileError(f"{s}: no such file or directory")
            out += files
        return out
    raw = os.fspath(source)
    path = Path(raw).expanduser()
    if path.is_dir():
        suffixes = (*TEXT_SUFFIXES, *STRUCTURED_SUFFIXES)
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and _suffix(p) in suffixes
        )
        if not files:
            raise CorpusError(
                f"{raw}: directory has no corpus files (looked for {', '.join(suffixes)} recursively)"
            )
        return files
    if path.is_file():
        return [path]
    if any(c in raw for c in "*?["):
        matches = sorted(
            Path(p) for p in glob.glob(os.path.expanduser(raw), recursive=True) if Path(p).is_file()
        )
        if not matches:
            raise InputFileError(f"{raw}: the pattern matches no files")
        return matches
    if _looks_local(raw):
        raise InputFileError(f"{raw}: no such file or directory")
    return None


# ---------------------------------------------------------------------------------------------- plain text
def _is_wikitext_file(path: Path) -> bool:
    suf = _suffix(path)
    return suf == ".tokens" or (suf == ".raw" and path.name.lower().startswith("wiki"))


def _cut(text: str, max_chars: int) -> tuple[str, str]:
    """Cut ``text`` (longer than ``max_chars``) at the last whitespace before the limit (hard cut if none)."""
    cut = -1
    for ws in (" ", "\t"):
        cut = max(cut, text.rfind(ws, max_chars // 2, max_chars))
    if cut <= 0:
        return text[:max_chars], text[max_chars:]
    return text[:cut], text[cut + 1 :]


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
                    bad = exc.object[exc.start : exc.start + 4]
                    raise CorpusError(
                        f"{path}: line {lineno}, byte offset {pos}: invalid UTF-8 ({exc.reason}, bytes {bad!r}). "
                        "Fix the file, or pass encoding_errors='replace' (U+FFFD for bad bytes) or 'skip' "
                        "(drop such lines); on the command line --encoding-errors replace|skip"
                    ) from None
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
                line = buf.rstrip("\r\n")
                buf = ""
                while len(line) > max_line_chars:
                    piece, line = _cut(line, max_line_chars)
                    if not line_cut:
                        counts["split_lines"] += 1
                    yield piece, line_cut, not line_cut
                    line_cut = True
                if line or line_cut or ends:
                    yield line, line_cut, False
                line_cut = False
                lineno += 1
                if at_eof:
                    break
            else:
                while len(buf) > max_line_chars:
                    piece, buf = _cut(buf, max_line_chars)
                    if not line_cut:
                        counts["split_lines"] += 1
                    yield piece, line_cut, not line_cut
                    line_cut = True


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


def _gen_text_documents(
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


def _text_fingerprint(files: list[Path], *options: Any) -> str:
    from datasets.fingerprint import Hasher

    stats = []
    for f in files:
        st = f.stat()
        stats.append((str(f.resolve()), st.st_size, st.st_mtime_ns))
    return Hasher.hash(["textssl-read", READER_VERSION, stats, *options])


# ---------------------------------------------------------------------------------------------- synthetic
def _gen_synthetic(shards: list[tuple[int, int]], seed: int) -> Iterator[dict[str, Any]]:
    from textssl.data.synthetic import generate_documents

    for start, count in shards:
        for text in generate_documents(start, count, seed=seed):
            yield {"text": text, "split_lines": 0, "skipped_lines": 0}


# ---------------------------------------------------------------------------------------------- WikiText rows
def _gen_wikitext_rows(rows: Any, column: str) -> Iterator[dict[str, Any]]:
    """Regroup a line-per-row WikiText dataset (as on the Hub) into one row per article."""

    def lines() -> Iterator[tuple[str, bool, bool]]:
        for row in rows:
            for line in (row[column] or "").split("\n"):
                yield line, False, False

    for text, cut in iter_documents_from_lines(lines(), "wikitext"):
        yield {"text": text, "split_lines": cut, "skipped_lines": 0}


# ---------------------------------------------------------------------------------------------- main entry
def _unwrap(exc: BaseException) -> BaseException:
    """``datasets`` wraps errors raised inside generators; surface our own clear ones."""
    cause = exc
    while cause is not None:
        if isinstance(cause, (CorpusError, ColumnNotFoundError, FileNotFoundError)):
            return cause
        cause = cause.__cause__ or cause.__context__
    return exc


def _finish(ds: Any, stats: ReadStats, streaming: bool) -> Any:
    """Sum the per-document counters into ``stats`` and drop them (cheap: no data is rewritten)."""
    extra = [c for c in ("split_lines", "skipped_lines") if c in (ds.column_names or [])]
    if not streaming:
        import pyarrow.compute as pc

        arrow = ds.with_format("arrow")
        for c in extra:
            setattr(stats, c, getattr(stats, c) + int(pc.sum(arrow[c]).as_py() or 0))
        stats.documents = len(ds)
    if extra:
        ds = ds.remove_columns(extra)
    return ds


def _check_text_column(ds: Any, text_column: str, where: str) -> None:
    names = list(ds.column_names or [])
    if not names and getattr(ds, "features", None):
        names = list(ds.features)
    if names and text_column not in names:
        raise ColumnNotFoundError(
            f"{where}: no column {text_column!r}; the columns are: {', '.join(names)}. "
            "Pass text_column=... (on the command line --text-column)"
        )
    feats = getattr(ds, "features", None)
    if feats and text_column in feats:
        dtype = getattr(feats[text_column], "dtype", None)
        if dtype not in ("string", "large_string"):
            raise ColumnNotFoundError(
                f"{where}: column {text_column!r} holds {feats[text_column]!r}, not text; pick a string column "
                f"(the columns are: {', '.join(names)})"
            )


def _rows_to_documents(ds: Any, text_column: str, max_line_chars: int, streaming: bool, where: str) -> Any:
    """Structured rows -> ``text`` column, blank rows dropped, over-long lines cut (and counted)."""
    _check_text_column(ds, text_column, where)
    ds = ds.select_columns([text_column])
    if text_column != "text":
        ds = ds.rename_column(text_column, "text")
    fn = _RowCleaner(max_line_chars)
    if streaming:
        fn = _RowCleaner(max_line_chars, with_counts=False)
        return ds.map(fn, batched=True).filter(_nonblank, batched=True)
    import pyarrow.compute as pc

    col = ds.data.column("text")
    lengths = pc.utf8_length(pc.fill_null(col, ""))
    need_cut = int(pc.max(lengths).as_py() or 0) > max_line_chars
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(pc.fill_null(col, ""))), 0)
    if need_cut or int(pc.sum(blank).as_py() or 0):
        ds = ds.map(fn, batched=True, desc="clean rows")
        ds = ds.filter(_nonblank, batched=True, desc="drop blank rows")
    return ds


def _nonblank(batch: dict[str, list]) -> list[bool]:
    return [bool(t) for t in batch["text"]]


class _RowCleaner:
    """Strip rows, map None to "", cut lines over ``max_line_chars`` (counted in ``split_lines``)."""

    def __init__(self, max_line_chars: int, with_counts: bool = True) -> None:
        self.max_line_chars = max_line_chars
        self.with_counts = with_counts

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        texts, cuts = [], []
        for t in batch["text"]:
            t = (t or "").strip()
            n = 0
            if len(t) > self.max_line_chars:
                lines = []
                for line in t.split("\n"):
                    if len(line) > self.max_line_chars:
                        n += 1
                        while len(line) > self.max_line_chars:
                            piece, line = _cut(line, self.max_line_chars)
                            lines.append(piece)
                    lines.append(line)
                t = "\n".join(lines)
            texts.append(t)
            cuts.append(n)
        return {"text": texts, "split_lines": cuts} if self.with_counts else {"text": texts}


def read_documents(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    text_column: str = "text",
    doc_mode: str = "blank_line",
    config: str | None = None,
    split: str = "train",
    streaming: bool = False,
    encoding_errors: str = "strict",
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Any, ReadStats]:
    """Like :func:`load_documents`, and also return :class:`ReadStats` (counts are filled when not streaming)."""
    import datasets

    if doc_mode not in DOC_MODES:
        raise ConfigError(f"doc_mode={doc_mode!r}; choose one of {', '.join(DOC_MODES)}")
    if encoding_errors not in ENCODING_ERRORS:
        raise ConfigError(f"encoding_errors={encoding_errors!r}; choose one of {', '.join(ENCODING_ERRORS)}")
    if max_line_chars < 16:
        raise ConfigError(f"max_line_chars={max_line_chars} is too small; use at least 16")
    cache = str(cache_dir) if cache_dir is not None else None
    stats = ReadStats()
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "split_lines": datasets.Value("int32"),
            "skipped_lines": datasets.Value("int32"),
        }
    )

    if isinstance(source, (datasets.Dataset, datasets.IterableDataset)):
        streaming = isinstance(source, datasets.IterableDataset)
        ds = _rows_to_documents(source, text_column, max_line_chars, streaming, "the given dataset")
        if doc_mode == "wikitext":
            ds = _regroup_wikitext(ds, streaming, cache)
        if not streaming and len(ds) == 0:
            raise CorpusError(f"the given dataset has no non-blank {text_column!r} values")
        return _finish(ds, stats, streaming), stats

    synthetic = parse_synthetic(source) if isinstance(source, str) else None
    if synthetic is not None:
        n, seed = synthetic
        step = max(1, -(-n // 64))
        shards = [(s, min(step, n - s)) for s in range(0, n, step)]
        if streaming:
            ds = datasets.IterableDataset.from_generator(
                _gen_synthetic, features=features, gen_kwargs={"shards": shards, "seed": seed}
            )
        else:
            from datasets.fingerprint import Hasher

            from textssl.data.synthetic import SYNTHETIC_VERSION

            fp = Hasher.hash(["textssl-synthetic", SYNTHETIC_VERSION, n, seed])
            ds = _from_generator(_gen_synthetic, features, {"shards": shards, "seed": seed}, cache, fp)
        return _finish(ds, stats, streaming), stats

    files = resolve_files(source)
    if files is None:
        return _read_hub(
            str(source), text_column, doc_mode, config, split, streaming, max_line_chars, cache, stats
        )

    families = {_family(f) for f in files}
    if len(families) > 1:
        raise CorpusError(
            f"mixed input formats ({', '.join(sorted(families))}) in {source}; give one kind of file at a time"
        )
    family = families.pop()
    stats.files = len(files)
    explicit = _explicit_flags(source, files)
    if family == "text":
        kwargs = {
            "files": [str(f) for f in files],
            "doc_mode": doc_mode,
            "encoding_errors": encoding_errors,
            "max_line_chars": max_line_chars,
            "explicit": explicit,
        }
        if streaming:
            ds = datasets.IterableDataset.from_generator(
                _gen_text_documents, features=features, gen_kwargs=kwargs
            )
            return _finish(ds, stats, True), stats
        for f, ex in zip(files, explicit):
            if ex and f.stat().st_size == 0:
                raise CorpusError(f"{f}: the file is empty; give a file with text")
        fp = _text_fingerprint(files, doc_mode, encoding_errors, max_line_chars, explicit)
        ds = _from_generator(_gen_text_documents, features, kwargs, cache, fp)
        stats.empty_files = sum(1 for f in files if f.stat().st_size == 0)
        if len(ds) == 0:
            raise CorpusError(f"{source}: the corpus is empty (no non-blank text in {len(files)} file(s))")
        return _finish(ds, stats, False), stats

    builder = "csv" if family == "tsv" else family
    kwargs = {"sep": "\t"} if family == "tsv" else {}
    for f in files:
        if f.stat().st_size == 0:
            raise CorpusError(f"{f}: the file is empty; give a file with rows")
    try:
        ds = datasets.load_dataset(
            builder,
            data_files=[str(f) for f in files],
            split="train",
            streaming=streaming,
            cache_dir=cache,
            **kwargs,
        )
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        inner = _unwrap(exc)
        if inner is not exc:
            raise inner from None
        cause = exc.__cause__ or exc
        raise CorpusError(f"could not read {', '.join(map(str, files))} as {family}: {cause}") from exc
    where = str(files[0]) if len(files) == 1 else f"{source}"
    if streaming and ds.features is None:
        first = next(iter(ds.take(1)), None)
        if first is None:
            raise CorpusError(f"{where}: no rows")
        if text_column not in first:
            raise ColumnNotFoundError(
                f"{where}: no column {text_column!r}; the columns are: {', '.join(first)}. "
                "Pass text_column=... (on the command line --text-column)"
            )
    ds = _rows_to_documents(ds, text_column, max_line_chars, streaming, where)
    if doc_mode == "wikitext":
        ds = _regroup_wikitext(ds, streaming, cache)
    if not streaming and len(ds) == 0:
        raise CorpusError(f"{where}: the corpus is empty (no non-blank {text_column!r} values)")
    return _finish(ds, stats, streaming), stats


def _explicit_flags(source: Any, files: list[Path]) -> list[bool]:
    """Which files were named directly (an empty one is an error) rather than found in a directory."""
    sources = source if isinstance(source, (list, tuple)) else [source]
    named = {
        str(Path(os.fspath(s)).expanduser().resolve())
        for s in sources
        if Path(os.fspath(s)).expanduser().is_file()
    }
    return [str(f.resolve()) in named for f in files]


def _from_generator(gen: Any, features: Any, kwargs: dict, cache: str | None, fingerprint: str) -> Any:
    import datasets

    try:
        return datasets.Dataset.from_generator(
            gen, features=features, gen_kwargs=kwargs, cache_dir=cache, fingerprint=fingerprint
        )
    except Exception as exc:  # noqa: BLE001
        inner = _unwrap(exc)
        if inner is not exc:
            raise inner from None
        if isinstance(exc, ValueError) and "corresponds to no data" in str(exc):
            return datasets.Dataset.from_dict({k: [] for k in features}, features=features)  # no rows
        raise


def _regroup_wikitext(ds: Any, streaming: bool, cache: str | None) -> Any:
    import datasets

    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "split_lines": datasets.Value("int32"),
            "skipped_lines": datasets.Value("int32"),
        }
    )
    split_before = 0
    if "split_lines" in (ds.column_names or []):
        if not streaming:
            import pyarrow.compute as pc

            split_before = int(pc.sum(ds.data.column("split_lines")).as_py() or 0)
        ds = ds.remove_columns(["split_lines"])
    if streaming:
        return datasets.IterableDataset.from_generator(
            _gen_wikitext_rows, features=features, gen_kwargs={"rows": ds, "column": "text"}
        )
    from datasets.fingerprint import Hasher

    fp = Hasher.hash(["textssl-wikitext-rows", READER_VERSION, ds._fingerprint])
    out = _from_generator(_gen_wikitext_rows, features, {"rows": ds, "column": "text"}, cache, fp)
    if split_before and len(out):
        # keep the count of lines cut before regrouping: add it to the first article
        out = out.map(
            lambda r, i: {"split_lines": r["split_lines"] + (split_before if i == 0 else 0)},
            with_indices=True,
        )
    return out


def _read_hub(
    source: str,
    text_column: str,
    doc_mode: str,
    config: str | None,
    split: str,
    streaming: bool,
    max_line_chars: int,
    cache: str | None,
    stats: ReadStats,
) -> tuple[Any, ReadStats]:
    import datasets

    try:
        ds = datasets.load_dataset(source, config, split=split, streaming=streaming, cache_dir=cache)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - shown with the dataset id and what to do
        raise CorpusError(
            f"could not load Hub dataset {source!r} (config={config!r}, split={split!r}): {exc}. "
            "Loading from the Hub needs network access (or a warm datasets cache); for local data pass a "
            "file or directory path"
        ) from exc
    if isinstance(ds, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        raise CorpusError(f"Hub dataset {source!r} has several splits ({', '.join(ds)}); pass split=...")
    where = f"Hub dataset {source!r}" + (f" ({config})" if config else "")
    ds = _rows_to_documents(ds, text_column, max_line_chars, streaming, where)
    wikitext = doc_mode == "wikitext" or ("wikitext" in source.lower() and doc_mode == "blank_line")
    if wikitext:
        ds = _regroup_wikitext(ds, streaming, cache)
    if not streaming and len(ds) == 0:
        raise CorpusError(
            f"{where}: the corpus is empty (split {split!r} has no non-blank {text_column!r} values)"
        )
    return _finish(ds, stats, streaming), stats


def load_documents(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    text_column: str = "text",
    doc_mode: str = "blank_line",
    config: str | None = None,
    split: str = "train",
    streaming: bool = False,
    encoding_errors: str = "strict",
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
    cache_dir: str | os.PathLike | None = None,
) -> Any:
    """Read ``source`` into a ``datasets.Dataset`` (or ``IterableDataset`` when ``streaming``) whose single
    column ``text`` holds one document per row.

    Args:
        source: a file, a directory (searched recursively), a glob, a list of those, a Hub dataset id,
            ``"synthetic"`` / ``"synthetic:N"`` / ``"synthetic:N:SEED"``, or a ``datasets`` (Iterable)Dataset
            with a text column.
        text_column: the column holding text in JSON/CSV/TSV/Parquet/Hub sources.
        doc_mode: how plain text splits into documents: ``blank_line`` (default; ``*.tokens`` files are read as
            WikiText), ``file``, ``line`` or ``wikitext``. For row sources each row is a document unless
            ``wikitext`` (regroup line-per-row WikiText into articles; automatic for Hub ids containing
            "wikitext").
        config, split: Hub dataset configuration and split.
        streaming: return an ``IterableDataset`` that reads lazily (flat memory for any corpus size).
        encoding_errors: ``strict`` (error naming file, line and byte offset), ``replace`` or ``skip`` (drop the
            offending line).
        max_line_chars: lines longer than this are cut at whitespace into several lines (counted, not dropped).
        cache_dir: ``datasets`` cache directory (default: the ``datasets`` default cache).
    """
    ds, _ = read_documents(
        source,
        text_column=text_column,
        doc_mode=doc_mode,
        config=config,
        split=split,
        streaming=streaming,
        encoding_errors=encoding_errors,
        max_line_chars=max_line_chars,
        cache_dir=cache_dir,
    )
    return ds
