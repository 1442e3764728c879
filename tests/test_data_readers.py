"""Corpus readers: document modes, formats, Hub routing, bad input, long lines, streaming, caching."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from textssl.data import ColumnNotFoundError, CorpusError, load_documents, read_documents
from textssl.data.readers import iter_file_lines


def docs(ds) -> list[str]:
    return list(ds["text"]) if isinstance(ds, datasets.Dataset) else [r["text"] for r in ds]


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "cache")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


TEXT = "First doc line one.\nline two.\n\n\n  Second doc.  \n\nThird doc\n"


def test_doc_modes(tmp_path: Path, cache: str) -> None:
    f = write(tmp_path / "a.txt", TEXT)
    ds = load_documents(str(f), cache_dir=cache)
    assert ds.column_names == ["text"]
    assert docs(ds) == ["First doc line one.\nline two.", "Second doc.", "Third doc"]
    assert docs(load_documents(f, doc_mode="line", cache_dir=cache)) == [
        "First doc line one.",
        "line two.",
        "Second doc.",
        "Third doc",
    ]
    (only,) = docs(load_documents(f, doc_mode="file", cache_dir=cache))
    assert only == "First doc line one.\nline two.\n\n\n  Second doc.\n\nThird doc"
    with pytest.raises(ValueError, match="doc_mode='pages'"):
        load_documents(f, doc_mode="pages", cache_dir=cache)


def test_crlf_and_bom(tmp_path: Path, cache: str) -> None:
    f = write(tmp_path / "w.txt", "\ufeffOne.\r\nStill one.\r\n\r\nTwo.\r\n".encode())
    assert docs(load_documents(f, cache_dir=cache)) == ["One.\nStill one.", "Two."]


WIKI = "\n".join(
    [
        " ",
        " = Alpha = ",
        " ",
        " Alpha is a letter . It is first . ",
        " ",
        " = = History = = ",
        " ",
        " It was used long ago . ",
        " ",
        " = Beta = ",
        " ",
        " Beta comes second . ",
        "",
    ]
)


def test_wikitext_auto_for_tokens_files(tmp_path: Path, cache: str) -> None:
    f = write(tmp_path / "wiki.valid.tokens", WIKI)
    got = docs(load_documents(f, cache_dir=cache))
    assert got == [
        "Alpha\n\nAlpha is a letter . It is first .\n\nHistory\n\nIt was used long ago .",
        "Beta\n\nBeta comes second .",
    ]
    # the same text under another name needs doc_mode="wikitext"
    g = write(tmp_path / "wiki.txt", WIKI)
    assert docs(load_documents(g, doc_mode="wikitext", cache_dir=cache)) == got
    assert len(docs(load_documents(g, cache_dir=cache))) == 6  # blank-line mode: every paragraph


def test_directory_glob_and_list(tmp_path: Path, cache: str) -> None:
    write(tmp_path / "c" / "b.txt", "B doc.")
    write(tmp_path / "c" / "sub" / "a.txt", "A doc.\n\nA2.")
    write(tmp_path / "c" / ".hidden" / "x.txt", "hidden")
    write(tmp_path / "c" / "notes.md", "ignored")
    assert docs(load_documents(tmp_path / "c", cache_dir=cache)) == ["B doc.", "A doc.", "A2."]
    assert docs(load_documents(str(tmp_path / "c" / "**" / "*.txt"), cache_dir=cache)) == [
        "B doc.",
        "A doc.",
        "A2.",
    ]
    both = [tmp_path / "c" / "sub" / "a.txt", tmp_path / "c" / "b.txt"]
    assert docs(load_documents(both, cache_dir=cache)) == ["A doc.", "A2.", "B doc."]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "parquet"])
def test_structured_formats(tmp_path: Path, cache: str, fmt: str) -> None:
    rows = [{"id": 1, "body": "Hello there. Second."}, {"id": 2, "body": "  "}, {"id": 3, "body": "Another."}]
    path = tmp_path / f"data.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    elif fmt == "parquet":
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    else:
        sep = "," if fmt == "csv" else "\t"
        path.write_text("id" + sep + "body\n" + "".join(f"{r['id']}{sep}{r['body']}\n" for r in rows))
    ds = load_documents(path, text_column="body", cache_dir=cache)
    assert ds.column_names == ["text"]
    assert docs(ds) == ["Hello there. Second.", "Another."]
    with pytest.raises(ColumnNotFoundError, match="no column 'text'; the columns are: id, body") as err:
        load_documents(path, cache_dir=cache)
    assert str(path) in str(err.value)
    with pytest.raises(ColumnNotFoundError, match="not text"):
        load_documents(path, text_column="id", cache_dir=cache)
    stream = load_documents(path, text_column="body", streaming=True, cache_dir=cache)
    assert isinstance(stream, datasets.IterableDataset)
    assert docs(stream) == ["Hello there. Second.", "Another."]


def test_hub_id_is_routed_to_load_dataset(monkeypatch: pytest.MonkeyPatch, cache: str) -> None:
    calls = []
    lines = [
        " = Title = \n",
        " \n",
        " Some text . \n",
        " = = Sub = = \n",
        " More . \n",
        " = Next = \n",
        " X . \n",
    ]

    def fake_load_dataset(path, name=None, split=None, streaming=False, cache_dir=None, **kw):
        calls.append((path, name, split, streaming))
        return datasets.Dataset.from_dict({"text": lines, "other": list(range(len(lines)))})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ds = load_documents(
        "Salesforce/wikitext", config="wikitext-103-raw-v1", split="validation", cache_dir=cache
    )
    assert calls == [("Salesforce/wikitext", "wikitext-103-raw-v1", "validation", False)]
    assert docs(ds) == ["Title\n\nSome text .\n\nSub\n\nMore .", "Next\n\nX ."]
    # any other Hub id: one document per row, text column checked
    ds = load_documents("someone/corpus", cache_dir=cache)
    assert len(ds) == 6 and calls[-1] == ("someone/corpus", None, "train", False)  # the blank row is dropped
    with pytest.raises(ColumnNotFoundError, match="the columns are: text, other"):
        load_documents("someone/corpus", text_column="body", cache_dir=cache)


def test_hub_failure_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a, **k):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", boom)
    with pytest.raises(CorpusError, match="could not load Hub dataset 'org/name'.*network"):
        load_documents("org/name")


def test_synthetic_source(cache: str) -> None:
    from textssl.data.synthetic import generate_corpus

    ds = load_documents("synthetic:30", cache_dir=cache)
    assert docs(ds) == generate_corpus(30)
    assert docs(load_documents("synthetic:5:7", cache_dir=cache)) == generate_corpus(5, seed=7)
    assert docs(load_documents("synthetic:12", streaming=True)) == generate_corpus(12)
    with pytest.raises(ValueError, match="bad synthetic source"):
        load_documents("synthetic:abc")


def test_missing_and_empty_inputs(tmp_path: Path, cache: str) -> None:
    with pytest.raises(FileNotFoundError, match="nope.txt: no such file"):
        load_documents(tmp_path / "nope.txt", cache_dir=cache)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_documents(str(tmp_path / "missing_dir") + "/", cache_dir=cache)
    empty = write(tmp_path / "empty.txt", "")
    with pytest.raises(CorpusError, match="empty.txt: the file is empty"):
        load_documents(empty, cache_dir=cache)
    blank = write(tmp_path / "blank.txt", "\n  \n\t\n")
    with pytest.raises(CorpusError, match="blank.txt: no text found"):
        load_documents(blank, cache_dir=cache)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(CorpusError, match="directory has no corpus files"):
        load_documents(tmp_path / "nothing", cache_dir=cache)
    # inside a directory an empty file is skipped, but an all-empty corpus is an error
    write(tmp_path / "d" / "a.txt", "")
    write(tmp_path / "d" / "b.txt", "Text.")
    assert docs(load_documents(tmp_path / "d", cache_dir=cache)) == ["Text."]
    write(tmp_path / "e" / "a.txt", "")
    with pytest.raises(CorpusError, match="corpus is empty"):
        load_documents(tmp_path / "e", cache_dir=cache)
    j = write(tmp_path / "e.jsonl", "")
    with pytest.raises(CorpusError, match="e.jsonl: the file is empty"):
        load_documents(j, cache_dir=cache)


def test_undecodable_bytes(tmp_path: Path, cache: str) -> None:
    f = write(tmp_path / "bad.txt", b"Good line.\nBad \xff byte here.\n\nNext doc.\n")
    with pytest.raises(CorpusError, match=r"bad.txt: line 2, byte offset 15: invalid UTF-8.*encoding_errors"):
        load_documents(f, cache_dir=cache)
    assert docs(load_documents(f, encoding_errors="replace", cache_dir=cache)) == [
        "Good line.\nBad \ufffd byte here.",
        "Next doc.",
    ]
    ds, stats = read_documents(f, encoding_errors="skip", cache_dir=cache)
    assert docs(ds) == ["Good line.", "Next doc."]
    assert stats.skipped_lines == 1
    with pytest.raises(ValueError, match="encoding_errors='ignore'"):
        load_documents(f, encoding_errors="ignore", cache_dir=cache)


def test_multibyte_character_across_read_boundary(tmp_path: Path) -> None:
    # max_line_chars=16 -> reads of 64 KiB; put a 3-byte character across such a boundary
    text = "a" * (65536 - 1) + "\u20ac" + "b" * 10 + "\n"
    f = write(tmp_path / "mb.txt", text)
    pieces = [p for p, _, _ in iter_file_lines(f, max_line_chars=1_000_000)]
    assert "".join(pieces) == text.rstrip("\n")


def test_long_lines_are_split_and_counted(tmp_path: Path, cache: str) -> None:
    long_line = " ".join(f"w{i:04d}" for i in range(600))  # 2999 characters
    f = write(tmp_path / "long.txt", f"Short.\n{long_line}\n\n{'x' * 250}\n")
    ds, stats = read_documents(f, max_line_chars=100, cache_dir=cache)
    assert stats.split_lines == 2
    first, second = docs(ds)
    lines = first.split("\n")
    assert lines[0] == "Short." and all(len(line) <= 100 for line in lines)
    assert " ".join(lines[1:]).split() == long_line.split()  # nothing lost, cut at whitespace
    assert second.replace("\n", "") == "x" * 250  # no whitespace: hard cuts
    # line mode keeps the pieces of one line in one document
    ds, stats = read_documents(f, doc_mode="line", max_line_chars=100, cache_dir=cache)
    assert len(ds) == 3 and stats.split_lines == 2
    with pytest.raises(ValueError, match="max_line_chars"):
        load_documents(f, max_line_chars=3)


def test_long_rows_in_structured_sources(tmp_path: Path, cache: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "word " * 100}) + "\n" + json.dumps({"text": "fine"}) + "\n")
    ds, stats = read_documents(path, max_line_chars=64, cache_dir=cache)
    assert stats.split_lines == 1 and len(ds) == 2
    assert all(len(line) <= 64 for line in ds[0]["text"].split("\n"))


def test_streaming_matches_and_splits_by_node(tmp_path: Path, cache: str) -> None:
    from datasets.distributed import split_dataset_by_node

    for i in range(4):
        write(tmp_path / "s" / f"{i}.txt", f"Doc {i}a.\n\nDoc {i}b.\n")
    full = docs(load_documents(tmp_path / "s", cache_dir=cache))
    stream = load_documents(tmp_path / "s", streaming=True)
    assert stream.n_shards == 4
    assert docs(stream) == full
    parts = [docs(split_dataset_by_node(stream, rank=r, world_size=2)) for r in range(2)]
    assert sorted(parts[0] + parts[1]) == sorted(full)
    assert not set(parts[0]) & set(parts[1])


def test_read_is_cached_and_invalidated_by_changes(tmp_path: Path, cache: str) -> None:
    f = write(tmp_path / "c.txt", "One.\n\nTwo.\n")
    a = load_documents(f, cache_dir=cache)
    b = load_documents(f, cache_dir=cache)
    assert a._fingerprint == b._fingerprint and a.cache_files == b.cache_files
    write(f, "One.\n\nTwo.\n\nThree, now longer.\n")
    c = load_documents(f, cache_dir=cache)
    assert c._fingerprint != a._fingerprint and len(c) == 3


def test_dataset_objects_as_source() -> None:
    ds = datasets.Dataset.from_dict({"body": ["First doc.", "  ", "Second doc."], "n": [1, 2, 3]})
    assert docs(load_documents(ds, text_column="body")) == ["First doc.", "Second doc."]
    assert docs(load_documents(ds.to_iterable_dataset(), text_column="body")) == ["First doc.", "Second doc."]
    with pytest.raises(ColumnNotFoundError, match="the columns are: body, n"):
        load_documents(ds)


# ---------------------------------------------------------------------------------------------- ReaderOptions
def test_reader_options_object_and_keywords_agree(tmp_path: Path, cache: str) -> None:
    from textssl.data import ReaderOptions

    f = write(tmp_path / "a.txt", TEXT)
    opts = ReaderOptions(doc_mode="line", cache_dir=cache)
    by_object = docs(load_documents(f, opts))
    assert by_object == docs(load_documents(f, doc_mode="line", cache_dir=cache))
    assert len(by_object) == 4
    # keywords override the object's fields
    assert docs(load_documents(f, opts, doc_mode="blank_line")) == docs(load_documents(f, cache_dir=cache))
    ds, stats = read_documents(f, ReaderOptions.build(opts, doc_mode="file"))
    assert len(docs(ds)) == 1 and stats.files == 1 and stats.documents == 1


def test_reader_options_refuse_bad_values_before_reading(tmp_path: Path) -> None:
    from textssl.data import ReaderOptions

    with pytest.raises(ValueError, match="doc_mode='pages'; choose one of blank_line"):
        ReaderOptions(doc_mode="pages")
    with pytest.raises(ValueError, match="max_line_chars=3 is too small"):
        ReaderOptions(max_line_chars=3)
    with pytest.raises(ValueError, match="encoding_errors='ignore'"):
        ReaderOptions.build(encoding_errors="ignore")
    with pytest.raises(ValueError, match=r"unknown reading option\(s\) colum; the options are: text_column"):
        load_documents(tmp_path / "never_read.txt", colum="text")


def test_prepare_refuses_streaming_with_a_pointer(tmp_path: Path) -> None:
    from textssl.data import prepare_dataset

    f = write(tmp_path / "a.txt", TEXT)
    with pytest.raises(ValueError, match=r"get_blocks\(\.\.\., streaming=True\)"):
        prepare_dataset(f, "wordpiece", 16, streaming=True)


def test_in_memory_text_splits_like_a_file(tmp_path: Path, cache: str) -> None:
    from textssl.data import split_text_documents

    text = "A first doc.\nStill first.\n \n\nSecond one.\n\n\n= not wiki =\n"
    f = write(tmp_path / "same.txt", text)
    for mode in ("blank_line", "line", "file"):
        assert split_text_documents(text, mode) == docs(load_documents(f, doc_mode=mode, cache_dir=cache)), (
            mode
        )
