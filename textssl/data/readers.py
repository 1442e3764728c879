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

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from textssl.data.plaintext import (
    DEFAULT_MAX_LINE_CHARS,
    DOC_MODES,
    ENCODING_ERRORS,
    READER_VERSION,
    TEXT_SUFFIXES,
    CorpusError,
    cut_line,
    file_suffix,
    gen_text_documents,
    gen_wikitext_rows,
    text_fingerprint,
)
from textssl.data.plaintext import iter_documents_from_lines as iter_documents_from_lines  # re-exported
from textssl.data.plaintext import iter_file_lines as iter_file_lines  # re-exported
from textssl.data.plaintext import split_text_documents as split_text_documents  # re-exported
from textssl.errors import ConfigError, InputFileError, MissingKeyError

DEFAULT_SYNTHETIC_DOCS = 20_000
STRUCTURED_SUFFIXES = {
    ".jsonl": "json",
    ".json": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}


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


@dataclass(frozen=True)
class ReaderOptions:
    """How a source is read into documents: one object passed through every reader instead of the same ten
    keyword arguments (the meaning of each field is documented in :func:`load_documents`).

    Invalid values are refused when the object is made, so a bad option fails before any file is opened.
    """

    text_column: str = "text"
    doc_mode: str = "blank_line"
    config: str | None = None
    split: str = "train"
    streaming: bool = False
    encoding_errors: str = "strict"
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS
    cache_dir: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        if self.doc_mode not in DOC_MODES:
            raise ConfigError(f"doc_mode={self.doc_mode!r}; choose one of {', '.join(DOC_MODES)}")
        if self.encoding_errors not in ENCODING_ERRORS:
            raise ConfigError(
                f"encoding_errors={self.encoding_errors!r}; choose one of {', '.join(ENCODING_ERRORS)}"
            )
        if self.max_line_chars < 16:
            raise ConfigError(f"max_line_chars={self.max_line_chars} is too small; use at least 16")

    @classmethod
    def build(cls, options: ReaderOptions | None = None, **overrides: Any) -> ReaderOptions:
        """``options`` (default: all defaults) with the given fields replaced; an unknown name is an error."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise ConfigError(
                f"unknown reading option(s) {', '.join(unknown)}; the options are: {', '.join(names)}"
            )
        return replace(options, **overrides) if options is not None else cls(**overrides)

    @property
    def cache(self) -> str | None:
        """``cache_dir`` as the string ``datasets`` wants (None: its default cache)."""
        return str(self.cache_dir) if self.cache_dir is not None else None


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


def _family(path: Path) -> str:
    suf = file_suffix(path)
    if suf in STRUCTURED_SUFFIXES:
        return STRUCTURED_SUFFIXES[suf]
    return "text"


def _looks_local(source: str) -> bool:
    return (
        source.startswith(("/", "./", "../", "~"))
        or os.sep in source.rstrip(os.sep)
        and os.path.exists(source.split(os.sep)[0])
        or file_suffix(Path(source)) in (*TEXT_SUFFIXES, *STRUCTURED_SUFFIXES)
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
            and file_suffix(p) in suffixes
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


# ---------------------------------------------------------------------------------------------- synthetic
def _gen_synthetic(shards: list[tuple[int, int]], seed: int) -> Iterator[dict[str, Any]]:
    from textssl.data.synthetic import generate_documents

    for start, count in shards:
        for text in generate_documents(start, count, seed=seed):
            yield {"text": text, "split_lines": 0, "skipped_lines": 0}


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
                            piece, line = cut_line(line, self.max_line_chars)
                            lines.append(piece)
                    lines.append(line)
                t = "\n".join(lines)
            texts.append(t)
            cuts.append(n)
        return {"text": texts, "split_lines": cuts} if self.with_counts else {"text": texts}


def read_documents(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    options: ReaderOptions | None = None,
    **overrides: Any,
) -> tuple[Any, ReadStats]:
    """Like :func:`load_documents`, and also return :class:`ReadStats` (counts are filled when not streaming).

    Reading options come as a :class:`ReaderOptions`, as keyword arguments (``text_column=...``), or both (the
    keywords win).
    """
    import datasets

    opts = ReaderOptions.build(options, **overrides)
    stats = ReadStats()
    if isinstance(source, (datasets.Dataset, datasets.IterableDataset)):
        streaming = isinstance(source, datasets.IterableDataset)
        ds = _rows_to_documents(source, opts.text_column, opts.max_line_chars, streaming, "the given dataset")
        if opts.doc_mode == "wikitext":
            ds = _regroup_wikitext(ds, streaming, opts.cache)
        if not streaming and len(ds) == 0:
            raise CorpusError(f"the given dataset has no non-blank {opts.text_column!r} values")
        return _finish(ds, stats, streaming), stats

    synthetic = parse_synthetic(source) if isinstance(source, str) else None
    if synthetic is not None:
        return _read_synthetic(*synthetic, opts, stats), stats

    files = resolve_files(source)
    if files is None:
        return _read_hub(str(source), opts, stats), stats
    families = {_family(f) for f in files}
    if len(families) > 1:
        raise CorpusError(
            f"mixed input formats ({', '.join(sorted(families))}) in {source}; give one kind of file at a time"
        )
    family = families.pop()
    stats.files = len(files)
    if family == "text":
        return _read_text_files(source, files, opts, stats), stats
    return _read_structured(source, files, family, opts, stats), stats


def _row_features() -> Any:
    import datasets

    return datasets.Features(
        {
            "text": datasets.Value("string"),
            "split_lines": datasets.Value("int32"),
            "skipped_lines": datasets.Value("int32"),
        }
    )


def _read_synthetic(n: int, seed: int, opts: ReaderOptions, stats: ReadStats) -> Any:
    import datasets

    step = max(1, -(-n // 64))
    shards = [(s, min(step, n - s)) for s in range(0, n, step)]
    if opts.streaming:
        ds = datasets.IterableDataset.from_generator(
            _gen_synthetic, features=_row_features(), gen_kwargs={"shards": shards, "seed": seed}
        )
    else:
        from datasets.fingerprint import Hasher

        from textssl.data.synthetic import SYNTHETIC_VERSION

        fp = Hasher.hash(["textssl-synthetic", SYNTHETIC_VERSION, n, seed])
        ds = _from_generator(
            _gen_synthetic, _row_features(), {"shards": shards, "seed": seed}, opts.cache, fp
        )
    return _finish(ds, stats, opts.streaming)


def _read_text_files(source: Any, files: list[Path], opts: ReaderOptions, stats: ReadStats) -> Any:
    import datasets

    explicit = _explicit_flags(source, files)
    kwargs = {
        "files": [str(f) for f in files],
        "doc_mode": opts.doc_mode,
        "encoding_errors": opts.encoding_errors,
        "max_line_chars": opts.max_line_chars,
        "explicit": explicit,
    }
    if opts.streaming:
        ds = datasets.IterableDataset.from_generator(
            gen_text_documents, features=_row_features(), gen_kwargs=kwargs
        )
        return _finish(ds, stats, True)
    for f, ex in zip(files, explicit):
        if ex and f.stat().st_size == 0:
            raise CorpusError(f"{f}: the file is empty; give a file with text")
    fp = text_fingerprint(files, opts.doc_mode, opts.encoding_errors, opts.max_line_chars, explicit)
    ds = _from_generator(gen_text_documents, _row_features(), kwargs, opts.cache, fp)
    stats.empty_files = sum(1 for f in files if f.stat().st_size == 0)
    if len(ds) == 0:
        raise CorpusError(f"{source}: the corpus is empty (no non-blank text in {len(files)} file(s))")
    return _finish(ds, stats, False)


def _read_structured(
    source: Any, files: list[Path], family: str, opts: ReaderOptions, stats: ReadStats
) -> Any:
    """JSON Lines / JSON, CSV, TSV or Parquet files through the ``datasets`` builders."""
    import datasets

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
            streaming=opts.streaming,
            cache_dir=opts.cache,
            **kwargs,
        )
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        inner = _unwrap(exc)
        if inner is not exc:
            raise inner from None
        cause = exc.__cause__ or exc
        raise CorpusError(f"could not read {', '.join(map(str, files))} as {family}: {cause}") from exc
    where = str(files[0]) if len(files) == 1 else f"{source}"
    text_column = opts.text_column
    if opts.streaming and ds.features is None:
        first = next(iter(ds.take(1)), None)
        if first is None:
            raise CorpusError(f"{where}: no rows")
        if text_column not in first:
            raise ColumnNotFoundError(
                f"{where}: no column {text_column!r}; the columns are: {', '.join(first)}. "
                "Pass text_column=... (on the command line --text-column)"
            )
    ds = _rows_to_documents(ds, text_column, opts.max_line_chars, opts.streaming, where)
    if opts.doc_mode == "wikitext":
        ds = _regroup_wikitext(ds, opts.streaming, opts.cache)
    if not opts.streaming and len(ds) == 0:
        raise CorpusError(f"{where}: the corpus is empty (no non-blank {text_column!r} values)")
    return _finish(ds, stats, opts.streaming)


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

    features = _row_features()
    split_before = 0
    if "split_lines" in (ds.column_names or []):
        if not streaming:
            import pyarrow.compute as pc

            split_before = int(pc.sum(ds.data.column("split_lines")).as_py() or 0)
        ds = ds.remove_columns(["split_lines"])
    if streaming:
        return datasets.IterableDataset.from_generator(
            gen_wikitext_rows, features=features, gen_kwargs={"rows": ds, "column": "text"}
        )
    from datasets.fingerprint import Hasher

    fp = Hasher.hash(["textssl-wikitext-rows", READER_VERSION, ds._fingerprint])
    out = _from_generator(gen_wikitext_rows, features, {"rows": ds, "column": "text"}, cache, fp)
    if split_before and len(out):
        # keep the count of lines cut before regrouping: add it to the first article
        out = out.map(
            lambda r, i: {"split_lines": r["split_lines"] + (split_before if i == 0 else 0)},
            with_indices=True,
        )
    return out


def _read_hub(source: str, opts: ReaderOptions, stats: ReadStats) -> Any:
    import datasets

    config, split, streaming = opts.config, opts.split, opts.streaming
    try:
        ds = datasets.load_dataset(source, config, split=split, streaming=streaming, cache_dir=opts.cache)
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
    ds = _rows_to_documents(ds, opts.text_column, opts.max_line_chars, streaming, where)
    wikitext = opts.doc_mode == "wikitext" or ("wikitext" in source.lower() and opts.doc_mode == "blank_line")
    if wikitext:
        ds = _regroup_wikitext(ds, streaming, opts.cache)
    if not streaming and len(ds) == 0:
        raise CorpusError(
            f"{where}: the corpus is empty (split {split!r} has no non-blank {opts.text_column!r} values)"
        )
    return _finish(ds, stats, streaming)


def load_documents(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    options: ReaderOptions | None = None,
    **overrides: Any,
) -> Any:
    """Read ``source`` into a ``datasets.Dataset`` (or ``IterableDataset`` when ``streaming``) whose single
    column ``text`` holds one document per row.

    Args:
        source: a file, a directory (searched recursively), a glob, a list of those, a Hub dataset id,
            ``"synthetic"`` / ``"synthetic:N"`` / ``"synthetic:N:SEED"``, or a ``datasets`` (Iterable)Dataset
            with a text column.
        options: a :class:`ReaderOptions`; its fields can also be given (or overridden) as keywords:

            * ``text_column``: the column holding text in JSON/CSV/TSV/Parquet/Hub sources.
            * ``doc_mode``: how plain text splits into documents: ``blank_line`` (default; ``*.tokens`` files
              are read as WikiText), ``file``, ``line`` or ``wikitext``. For row sources each row is a document
              unless ``wikitext`` (regroup line-per-row WikiText into articles; automatic for Hub ids
              containing "wikitext").
            * ``config``, ``split``: Hub dataset configuration and split.
            * ``streaming``: return an ``IterableDataset`` that reads lazily (flat memory for any corpus size).
            * ``encoding_errors``: ``strict`` (error naming file, line and byte offset), ``replace`` or ``skip``
              (drop the offending line).
            * ``max_line_chars``: lines longer than this are cut at whitespace into several lines (counted, not
              dropped).
            * ``cache_dir``: ``datasets`` cache directory (default: the ``datasets`` default cache).
    """
    ds, _ = read_documents(source, options, **overrides)
    return ds
