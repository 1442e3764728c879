"""Tokenization with templates and sentence ids, packing ids/boundaries, caching, streaming."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textssl.data import DocumentTemplate, DocumentTokenizer, Packer, load_documents, pack, tokenize_documents
from textssl.data.streaming import stream_blocks
from textssl.tokenization import TokenizerInfo, load_tokenizer, train_tokenizer

PAD = 0


@pytest.fixture(scope="module")
def wordpiece():
    return load_tokenizer("wordpiece")


@pytest.fixture(scope="module")
def bpe():
    return load_tokenizer("bpe")


@pytest.fixture(scope="module")
def unigram(tmp_path_factory):
    texts = ["Hello world. This is it. One more sentence here."] * 50 + ["the quick brown fox jumps"] * 50
    return train_tokenizer("unigram", texts, 300, tmp_path_factory.mktemp("uni"), show_progress=False)


def tokenized(docs: list[tuple[list[int], list[int]]]) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"input_ids": [d[0] for d in docs], "sentence_ids": [d[1] for d in docs]}
    )


def rows(ds) -> list[tuple[list[int], list[int], list[int]]]:
    return [(list(r["input_ids"]), list(r["document_ids"]), list(r["sentence_ids"])) for r in ds]


# ------------------------------------------------------------------------------------------- templates
def test_templates(wordpiece, bpe, unigram) -> None:
    wp = DocumentTemplate.from_tokenizer(wordpiece)
    assert wp.prefix == (wordpiece.cls_token_id,) and wp.suffix == (wordpiece.sep_token_id,)
    assert not wp.space_between_sentences
    b = DocumentTemplate.from_tokenizer(bpe)
    assert b.prefix == (bpe.bos_token_id,) and b.suffix == (bpe.eos_token_id,)
    assert b.space_between_sentences  # byte-level BPE: later sentences need their leading space
    u = DocumentTemplate.from_tokenizer(unigram)
    assert u.prefix == () and u.suffix == (unigram.eos_token_id,)
    assert not u.space_between_sentences


@pytest.mark.parametrize("name", ["wordpiece", "bpe", "unigram"])
def test_sentencewise_tokens_equal_whole_document(name, request) -> None:
    tok = request.getfixturevalue(name)
    enc = DocumentTokenizer(tok)
    texts = ["Hello world. This is it.", "", "One more sentence here."]
    ids, sent, lengths, nsent = enc.encode(texts)
    assert lengths.tolist() == [len(tok(texts[0])["input_ids"]), len(tok(texts[2])["input_ids"])]
    assert nsent.tolist() == [2, 1]  # the empty document is dropped
    expected = tok(texts[0])["input_ids"] + tok(texts[2])["input_ids"]
    assert ids.tolist() == expected  # word starts are right: same ids as tokenizing the document at once
    special = TokenizerInfo.from_tokenizer(tok).special[torch.as_tensor(ids.astype(np.int64))].numpy()
    assert (sent[special] == -1).all() and (sent[~special] >= 0).all()
    first_doc = sent[: lengths[0]]
    assert sorted(set(first_doc[first_doc >= 0].tolist())) == [0, 1]
    assert (np.diff(first_doc[first_doc >= 0]) >= 0).all()


def test_wordpiece_sentence_ids_exact(wordpiece) -> None:
    ids, sent, lengths, _ = DocumentTokenizer(wordpiece).encode(["Hello world. This is it.", "One more."])
    tokens = wordpiece.convert_ids_to_tokens(ids.tolist())
    assert tokens == [
        "[CLS]",
        "hello",
        "world",
        ".",
        "this",
        "is",
        "it",
        ".",
        "[SEP]",
        "[CLS]",
        "one",
        "more",
        ".",
        "[SEP]",
    ]
    assert sent.tolist() == [-1, 0, 0, 0, 1, 1, 1, 1, -1, -1, 0, 0, 0, -1]
    assert lengths.tolist() == [9, 5]


def test_bpe_leading_space_on_later_sentences(bpe) -> None:
    ids, sent, _, _ = DocumentTokenizer(bpe).encode(["First one.\n\nSecond one! Third?"])
    tokens = bpe.convert_ids_to_tokens(ids.tolist())
    assert tokens == ["<s>", "First", "Ġone", ".", "ĠSecond", "Ġone", "!", "ĠThird", "?", "</s>"]
    assert sent.tolist() == [-1, 0, 0, 0, 1, 1, 1, 2, 2, -1]


# ------------------------------------------------------------------------------------------- packing
DOCS = [
    ([101, 1, 2, 3, 102], [-1, 0, 0, 1, -1]),
    ([101, 4, 102], [-1, 0, -1]),
    ([101, 5, 6, 7, 8, 102], [-1, 0, 1, 1, 2, -1]),
]


def test_concat_exact() -> None:
    blocks, stats = pack(tokenized(DOCS), 4, "concat", pad_id=PAD)
    assert rows(blocks) == [
        ([101, 1, 2, 3], [0, 0, 0, 0], [-1, 0, 0, 1]),
        ([102, 101, 4, 102], [0, 1, 1, 1], [-1, -1, 0, -1]),
        ([101, 5, 6, 7], [0, 0, 0, 0], [-1, 0, 1, 1]),
        ([8, 102, PAD, PAD], [0, 0, -1, -1], [0, -1, -1, -1]),
    ]
    assert (stats.documents, stats.sentences, stats.tokens, stats.blocks) == (3, 6, 14, 4)
    assert stats.efficiency == pytest.approx(14 / 16)
    dropped, st2 = pack(tokenized(DOCS), 4, "concat", pad_id=PAD, drop_last=True)
    assert rows(dropped) == rows(blocks)[:3] and st2.dropped_tokens == 2 and st2.efficiency == 1.0
    nopad, st3 = pack(tokenized(DOCS), 4, "concat", pad_id=None)  # without a pad token the tail is dropped
    assert len(nopad) == 3 and st3.dropped_tokens == 2


def test_document_exact() -> None:
    blocks, stats = pack(tokenized(DOCS), 4, "document", pad_id=PAD)
    assert rows(blocks) == [
        ([101, 1, 2, 3], [0, 0, 0, 0], [-1, 0, 0, 1]),
        ([102, PAD, PAD, PAD], [0, -1, -1, -1], [-1, -1, -1, -1]),
        ([101, 4, 102, PAD], [0, 0, 0, -1], [-1, 0, -1, -1]),
        ([101, 5, 6, 7], [0, 0, 0, 0], [-1, 0, 1, 1]),
        ([8, 102, PAD, PAD], [0, 0, -1, -1], [0, -1, -1, -1]),
    ]
    assert stats.blocks == 5 and stats.efficiency == pytest.approx(14 / 20)
    with pytest.raises(ValueError, match="pad"):
        pack(tokenized(DOCS), 4, "document", pad_id=None)
    with pytest.raises(ValueError, match="mode='packed'"):
        pack(tokenized(DOCS), 4, "packed", pad_id=PAD)


def test_remainder_is_carried_between_chunks() -> None:
    rng = np.random.default_rng(0)
    docs = []
    for _ in range(40):
        n = int(rng.integers(1, 30))
        sent = np.sort(rng.integers(0, 4, n))
        sent = np.unique(sent, return_inverse=True)[1]
        docs.append(([101, *rng.integers(5, 99, n).tolist(), 102], [-1, *sent.tolist(), -1]))
    whole, s1 = pack(tokenized(docs), 16, pad_id=PAD, chunk_docs=100)
    chunked, s2 = pack(tokenized(docs), 16, pad_id=PAD, chunk_docs=3)
    assert rows(whole) == rows(chunked)
    assert s1.efficiency == s2.efficiency > 0.95  # only the corpus tail is padded


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=25), min_size=1, max_size=12),
    st.integers(2, 12),
    st.sampled_from(["concat", "document"]),
)
def test_block_contract(sentence_lengths, max_length, mode) -> None:
    """Random documents: blocks satisfy the data contract and reproduce the token stream."""
    docs, stream, next_token = [], [], 1000  # content ids never collide with the specials 1 and 2
    for lens in sentence_lengths:
        lens = [n for n in lens if n] or [1]
        ids, sent = [1], [-1]
        for s, n in enumerate(lens):
            ids += list(range(next_token, next_token + n))
            sent += [s] * n
            next_token += n
        ids.append(2)
        sent.append(-1)
        docs.append((ids, sent))
        stream += ids
    blocks, stats = pack(tokenized(docs), max_length, mode, pad_id=PAD)
    ids = np.array(blocks["input_ids"])
    doc = np.array(blocks["document_ids"])
    sent = np.array(blocks["sentence_ids"])
    assert ids.shape == doc.shape == sent.shape == (stats.blocks, max_length)
    real = doc >= 0
    assert ids[real].tolist() == stream  # nothing lost, nothing reordered
    assert (ids[~real] == PAD).all() and (sent[~real] == -1).all()
    assert (ids[real] < 3).tolist() == (sent[real] == -1).tolist()
    for r in range(len(ids)):
        d = doc[r][real[r]]
        assert d[0] == 0 and set(np.diff(d)) <= {0, 1}  # block-local, consecutive, non-decreasing
        if mode == "document":
            assert (d == 0).all()
        s = sent[r][sent[r] >= 0]
        if len(s):
            assert s[0] == 0 and set(np.diff(s)) <= {0, 1}
        assert real[r][: real[r].sum()].all()  # padding only at the end
    assert stats.tokens == len(stream) and stats.packed_tokens == len(stream)


def reference_pack(
    docs: list[tuple[list[int], list[int]]], max_length: int, mode: str, pad: int
) -> list[tuple]:
    """A deliberately simple packer (Python lists, one token at a time), independent of ``Packer``'s numpy code,
    to check it against. ``docs`` are ``(ids, document-local sentence ids)``; returns ``(ids, doc, sent)`` rows."""

    def localize(block: list[tuple[int, int, int]]) -> tuple[list[int], list[int], list[int]]:
        block = block + [(pad, -1, -1)] * (max_length - len(block))
        d0 = min((d for _, d, _ in block if d >= 0), default=0)
        s0 = min((s for _, _, s in block if s >= 0), default=0)
        return (
            [t for t, _, _ in block],
            [d - d0 if d >= 0 else -1 for _, d, _ in block],
            [s - s0 if s >= 0 else -1 for _, _, s in block],
        )

    out = []
    if mode == "concat":  # one stream of (token, global document, global sentence), cut every max_length
        stream, next_sentence = [], 0
        for d, (ids, sent) in enumerate(docs):
            stream += [(t, d, s + next_sentence if s >= 0 else -1) for t, s in zip(ids, sent)]
            next_sentence += max(sent) + 1 if max(sent) >= 0 else 0
        for start in range(0, len(stream), max_length):
            out.append(localize(stream[start : start + max_length]))
    else:  # each document on its own block(s)
        for ids, sent in docs:
            for start in range(0, len(ids), max_length):
                part = zip(ids[start : start + max_length], sent[start : start + max_length])
                out.append(localize([(t, 0, s) for t, s in part]))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=20), min_size=1, max_size=10),
    st.integers(2, 11),
    st.sampled_from(["concat", "document"]),
    st.integers(1, 4),
)
def test_packer_matches_reference(sentence_lengths, max_length, mode, chunk) -> None:
    """The vectorized Packer, fed in chunks of ``chunk`` documents, equals the simple reference packer."""
    docs, next_token = [], 1000
    for lens in sentence_lengths:
        ids, sent = [1], [-1]
        for s, n in enumerate(n for n in lens if n):
            ids += list(range(next_token, next_token + n))
            sent += [s] * n
            next_token += n
        docs.append((ids + [2], sent + [-1]))
    packer = Packer(max_length, mode, pad_id=PAD)
    parts = []
    for i in range(0, len(docs), chunk):
        group = docs[i : i + chunk]
        flat = [np.array([x for d in group for x in d[k]]) for k in range(2)]
        parts.append(packer.add(flat[0], flat[1], np.array([len(d[0]) for d in group])))
    parts.append(packer.finish())
    got = [(a.tolist(), b.tolist(), c.tolist()) for part in parts for a, b, c in zip(*part)]
    assert got == reference_pack(docs, max_length, mode, PAD)


def test_blocks_from_texts_is_the_training_pipeline(tmp_path: Path, bpe) -> None:
    """In-memory blocks equal the cached pipeline's (read a file -> tokenize_documents -> pack)."""
    from textssl.data import blocks_from_texts, split_text_documents
    from textssl.data.synthetic import write_corpus

    path = write_corpus(tmp_path / "corpus.txt", 25, seed=4)
    expected, _ = pack(
        tokenize_documents(load_documents(path, cache_dir=tmp_path / "cache"), bpe),
        48,
        pad_id=bpe.pad_token_id,
    )
    texts = split_text_documents(path.read_text(encoding="utf-8"))
    assert len(texts) == 25
    feats = blocks_from_texts(bpe, texts, 48)
    assert [(f["input_ids"], f["document_ids"], f["sentence_ids"]) for f in feats] == rows(expected)
    trimmed = blocks_from_texts(bpe, texts, 48, trim_padding=True)
    assert [len(f["input_ids"]) for f in trimmed[:-1]] == [48] * (len(feats) - 1)
    assert 0 < len(trimmed[-1]["input_ids"]) < 48 and -1 not in trimmed[-1]["document_ids"]
    dropped = blocks_from_texts(bpe, texts, 48, drop_last=True)
    assert dropped == feats[:-1]
    with pytest.raises(ValueError, match="list of documents, not one string"):
        blocks_from_texts(bpe, texts[0], 48)
    with pytest.raises(ValueError, match="mode='packed'"):
        blocks_from_texts(bpe, texts, 48, mode="packed")


def test_packer_validates() -> None:
    with pytest.raises(ValueError, match="max_length must be at least 2"):
        Packer(1)
    with pytest.raises(ValueError, match="lengths must sum"):
        Packer(4, pad_id=0).add(np.array([1, 2]), np.array([0, 0]), np.array([3]))
    with pytest.raises(KeyError, match="sentence_ids"):
        pack(datasets.Dataset.from_dict({"input_ids": [[1, 2]]}), 4, pad_id=0)


# ------------------------------------------------------------------------------------------- caching
def test_tokenize_is_cached(tmp_path: Path, wordpiece, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("One sentence. Two sentences.\n\nAnother document.\n")
    docs = load_documents(corpus, cache_dir=tmp_path / "cache")
    calls = []
    original = DocumentTokenizer.__call__

    def counting(self, batch):
        calls.append(len(batch["text"]))
        return original(self, batch)

    monkeypatch.setattr(DocumentTokenizer, "__call__", counting)
    first = tokenize_documents(docs, wordpiece)
    assert calls == [2] and first.cache_files
    assert str(tmp_path / "cache") in first.cache_files[0]["filename"]
    again = tokenize_documents(load_documents(corpus, cache_dir=tmp_path / "cache"), wordpiece)
    assert calls == [2]  # cache hit: the map function did not run again
    assert again.cache_files == first.cache_files
    other = tokenize_documents(docs, wordpiece, splitter="none")  # another splitter: another fingerprint
    assert calls == [2, 2] and other.cache_files != first.cache_files
    # packing next to the cache is cached too
    b1, s1 = pack(first, 8, pad_id=0)
    b2, s2 = pack(again, 8, pad_id=0)
    assert b1.cache_files == b2.cache_files and rows(b1) == rows(b2)
    assert (s1.tokens, s1.blocks, s1.sentences, s1.dropped_tokens) == (
        s2.tokens,
        s2.blocks,
        s2.sentences,
        s2.dropped_tokens,
    )


def test_main_process_first_and_num_proc(tmp_path: Path, wordpiece) -> None:
    entered = []

    class FakeAccelerator:
        def main_process_first(self):
            import contextlib

            @contextlib.contextmanager
            def ctx():
                entered.append(True)
                yield

            return ctx()

    docs = datasets.Dataset.from_dict({"text": [f"Doc {i}. It has two sentences." for i in range(40)]})
    one = tokenize_documents(docs, wordpiece, accelerator=FakeAccelerator())
    assert entered == [True]
    two = tokenize_documents(docs, wordpiece, num_proc=2, batch_size=10)
    assert one["input_ids"] == two["input_ids"] and one["sentence_ids"] == two["sentence_ids"]


def test_synthetic_concat_efficiency(tmp_path: Path, wordpiece) -> None:
    docs = load_documents("synthetic:400", cache_dir=tmp_path / "cache")
    blocks, stats = pack(tokenize_documents(docs, wordpiece), 128, pad_id=wordpiece.pad_token_id)
    assert stats.efficiency >= 0.99
    assert stats.documents == 400 and stats.blocks == len(blocks)


# ------------------------------------------------------------------------------------------- streaming
def test_stream_blocks_match_in_memory(tmp_path: Path, bpe) -> None:
    from textssl.data.synthetic import write_corpus

    path = write_corpus(tmp_path / "corpus.txt", 60, seed=3)
    docs = load_documents(path, cache_dir=tmp_path / "cache")
    expected, _ = pack(tokenize_documents(docs, bpe), 32, pad_id=bpe.pad_token_id)
    streamed = stream_blocks(path, bpe, 32, shuffle_buffer=0, batch_size=7)
    assert isinstance(streamed, datasets.IterableDataset)
    assert rows(streamed) == rows(expected)
    shuffled = stream_blocks(path, bpe, 32, shuffle_buffer=50, seed=1)
    assert sorted(rows(shuffled)) == sorted(rows(expected)) and rows(shuffled) != rows(expected)


def test_stream_blocks_split_by_node(tmp_path: Path, wordpiece) -> None:
    for i in range(2):
        (tmp_path / f"{i}.txt").write_text(
            "\n\n".join(f"File {i} doc {j}. Second sentence." for j in range(10))
        )
    parts = [stream_blocks(tmp_path, wordpiece, 16, rank=r, world_size=2, shuffle_buffer=0) for r in range(2)]
    got = [rows(p) for p in parts]
    text = [wordpiece.decode([t for blk in g for t in blk[0] if t > 4]) for g in got]
    assert "file 0" in text[0] and "file 1" not in text[0]
    assert "file 1" in text[1] and "file 0" not in text[1]


def test_stream_blocks_in_dataloader_workers(tmp_path: Path, wordpiece) -> None:
    """Every block arrives exactly once when DataLoader workers share the input files."""
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text(
            "\n\n".join(f"File {i} doc {j}. Second sentence." for j in range(20))
        )
    blocks = stream_blocks(tmp_path, wordpiece, 16, shuffle_buffer=0)
    direct = sorted(r[0] for r in rows(blocks))
    loader = torch.utils.data.DataLoader(blocks.with_format("torch"), batch_size=4, num_workers=2)
    via_workers = sorted(row.tolist() for batch in loader for row in batch["input_ids"])
    assert via_workers == direct


def test_blocks_feed_the_collator(tmp_path: Path, wordpiece) -> None:
    from textssl.collator import Collator
    from textssl.corruption.base import Strategy

    class Identity(Strategy):
        requires = ("word_start", "sentence_ids", "document_ids")

        def __call__(self, batch, info, generator, step=0):
            return batch

    docs = load_documents("synthetic:20", cache_dir=tmp_path / "cache")
    blocks, _ = pack(tokenize_documents(docs, wordpiece), 64, pad_id=wordpiece.pad_token_id)
    collate = Collator(wordpiece, Identity(), keep_keys=("sentence_ids", "document_ids"))
    batch = collate([blocks.with_format("torch")[i] for i in range(4)])
    assert batch["input_ids"].shape == (4, 64)
    assert torch.equal(batch["sentence_ids"], torch.tensor(blocks["sentence_ids"][:4]))
    assert torch.equal(batch["document_ids"], torch.tensor(blocks["document_ids"][:4]))
