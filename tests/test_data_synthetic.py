"""The embedded synthetic corpus and its GLUE-style tasks."""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

import pytest

from textssl.data import synthetic as S
from textssl.data.sentences import split_sentences


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return S.generate_corpus(300, seed=0)


def test_determinism_and_sharding(corpus: list[str]) -> None:
    assert S.generate_corpus(300, seed=0) == corpus
    other = S.generate_corpus(300, seed=1)
    assert other != corpus and sum(a == b for a, b in zip(other, corpus)) < 5
    assert list(S.generate_documents(120, 30, seed=0)) == corpus[120:150]
    assert S.generate_corpus(0) == []
    with pytest.raises(ValueError):
        S.generate_corpus(-1)


def test_fast_enough() -> None:
    start = time.perf_counter()
    S.generate_corpus(1000, seed=5)
    assert time.perf_counter() - start < 3.0  # thousands of documents per second (lenient on a busy machine)


def test_every_sentence_is_grammatical(corpus: list[str]) -> None:
    sentences = [s for d in corpus for s in split_sentences(d)]
    assert 5 * len(corpus) < len(sentences) < 20 * len(corpus)
    bad = [(s, S.analyze(s)) for s in sentences if S.analyze(s)]
    assert bad == []
    # the corpus exercises the structures the tasks test
    assert sum(" that " in s for s in sentences) > len(corpus) // 2
    assert sum(" by the " in s for s in sentences) > len(corpus) // 10
    assert sum(" because " in s for s in sentences) > len(corpus) // 4
    assert sum(" and " in s for s in sentences) > len(corpus) // 10  # same-polarity coordination


def test_analyzer_catches_violations() -> None:
    assert S.analyze("The dog that the cats chase sleeps.") == []
    assert S.analyze("The dogs that the cat chases sleep.") == []
    assert S.analyze("Then the bakers go to the market.") == []
    assert S.analyze("The dog that the cats chase sleep.")[0].startswith("agreement: main")
    assert S.analyze("The dog that the cats chases sleeps.")[0].startswith("agreement: relative-clause")
    assert S.analyze("The stone that the dog carries thinks.") == ["selection: 'stone' cannot think"]
    assert S.analyze("The children eat the chairs.")[0].startswith("syntax")  # not a word of the language
    assert S.analyze("The children eat the stones.") == ["selection: cannot eat 'stone'"]
    assert S.analyze("The cup is hungry.") == ["selection: 'cup' cannot be hungry"]
    assert S.analyze("The cakes are fresh and sweet.") == []
    assert S.analyze("The cake is fresh and rotten.") == ["polarity: 'fresh' and 'rotten' disagree"]
    assert S.analyze("The cake is fresh and hungry.") == ["selection: 'cake' cannot be hungry"]


def test_documents_are_topic_coherent_and_ordered(corpus: list[str]) -> None:
    coherent = 0
    for doc in corpus:
        topics = Counter()
        for word in doc.lower().replace(".", " ").replace(",", " ").split():
            if word in S.INDEX.noun_form:
                for t in S.INDEX.noun_form[word][0].topics:
                    topics[t] += 1
        top = topics.most_common(1)[0][1] if topics else 0
        nouns = sum(1 for w in doc.lower().split() if w.strip(".,") in S.INDEX.noun_form)
        coherent += top >= 0.6 * nouns
    assert coherent > 0.8 * len(corpus)
    # the daily script keeps its order: "wake up" before "go to bed", "leave home" before "come home"
    order_ok = total = 0
    for doc in corpus:
        low = doc.lower()
        for first, second in (
            (" up.", "to bed."),
            ("leave home.", "come home."),
            ("leaves home.", "comes home."),
        ):
            if first in low and second in low:
                total += 1
                order_ok += low.index(first) < low.index(second)
    assert total > 50 and order_ok == total


def read_tsv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def tasks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tasks")
    S.write_tasks(out, seed=0, train_size=200, dev_size=120)
    return out


def test_task_layouts(tasks: Path) -> None:
    cola = read_tsv(tasks / "SYN-CoLA" / "train.tsv")
    assert len(cola) == 200 and all(len(r) == 4 for r in cola)  # headerless, 4 columns, like CoLA
    assert all((r[1], r[2]) in (("1", ""), ("0", "*")) for r in cola)
    assert read_tsv(tasks / "SYN-CoLA" / "test.tsv")[0] == ["index", "sentence"]
    sst = read_tsv(tasks / "SYN-SST" / "dev.tsv")
    assert sst[0] == ["sentence", "label"] and len(sst) == 121 and all(len(r) == 2 for r in sst)
    raw = (tasks / "SYN-MRPC" / "train.tsv").read_bytes()
    assert raw.startswith(
        "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n".encode()
    )  # like MRPC, BOM included
    mrpc = read_tsv(tasks / "SYN-MRPC" / "train.tsv")
    assert all(len(r) == 5 for r in mrpc) and len(mrpc) == 201
    assert read_tsv(tasks / "SYN-MRPC" / "test.tsv")[0][0] == "index"
    sts = read_tsv(tasks / "SYN-STS" / "train.tsv")
    assert sts[0] == "index genre filename year old_index source1 source2 sentence1 sentence2 score".split()
    assert all(len(r) == 10 for r in sts) and all(0.0 <= float(r[9]) <= 5.0 for r in sts[1:])
    assert len(read_tsv(tasks / "SYN-STS" / "test.tsv")[0]) == 9
    # the files also load with pandas the way GLUE loaders read them
    import pandas as pd

    frame = pd.read_csv(tasks / "SYN-SST" / "train.tsv", sep="\t", quoting=csv.QUOTE_NONE)
    assert list(frame.columns) == ["sentence", "label"] and len(frame) == 200


def test_tasks_are_deterministic(tasks: Path, tmp_path: Path) -> None:
    S.write_tasks(tmp_path, seed=0, train_size=200, dev_size=120, tasks=["SYN-CoLA", "SYN-STS"])
    for task in ("SYN-CoLA", "SYN-STS"):
        assert (tmp_path / task / "dev.tsv").read_bytes() == (tasks / task / "dev.tsv").read_bytes()
    assert S.make_task("SYN-SST", "train", 50, seed=1) != S.make_task("SYN-SST", "train", 50, seed=0)
    with pytest.raises(ValueError, match="unknown synthetic task"):
        S.make_task("SYN-QQP", "train", 10)


@pytest.mark.parametrize("task", ["SYN-CoLA", "SYN-SST", "SYN-MRPC"])
def test_labels_balanced(task: str) -> None:
    for split, n in (("train", 500), ("dev", 301)):
        labels = Counter(r["label"] for r in S.make_task(task, split, n))
        assert abs(labels[0] - labels[1]) <= 1


def test_cola_labels_match_the_grammar() -> None:
    rows = S.make_task("SYN-CoLA", "train", 400) + S.make_task("SYN-CoLA", "dev", 200)
    for r in rows:
        errors = S.analyze(r["sentence"])
        assert (errors == []) == (r["label"] == 1), (r, errors)
        assert not any(e.startswith("syntax") for e in errors)  # every negative is well-formed text
    kinds = Counter(
        S.analyze(r["sentence"])[0].split(":")[0]
        + (":rc" if "relative" in S.analyze(r["sentence"])[0] else "")
        for r in rows
        if not r["label"]
    )
    # the violations follow the task's mixture (COLA_KINDS): mostly selection, some agreement
    negatives = sum(kinds.values())
    agree = (S.COLA_KINDS["agree_main"] + S.COLA_KINDS["agree_rc"]) / sum(S.COLA_KINDS.values())
    assert abs((kinds["agreement"] + kinds["agreement:rc"]) / negatives - agree) < 0.08
    assert kinds["selection"] / negatives > 0.6
    # no lexical giveaway: every frequent word is about as common in acceptable as in unacceptable sentences
    many = S.make_task("SYN-CoLA", "train", 2000, seed=3)
    pos = Counter(w for r in many if r["label"] for w in r["sentence"].lower().rstrip(".").split())
    neg = Counter(w for r in many if not r["label"] for w in r["sentence"].lower().rstrip(".").split())
    shares = {w: neg[w] / (pos[w] + neg[w]) for w in set(pos) | set(neg) if pos[w] + neg[w] >= 40}
    assert len(shares) > 50 and all(0.15 < v < 0.85 for v in shares.values()), shares
    # agreement across clauses: the frame (which structure) is independent of the label
    frames = Counter((r["source"], r["label"]) for r in rows)
    for frame in ("syn_orc", "syn_src", "syn_pp", "syn_simple"):
        assert abs(frames[(frame, 0)] - frames[(frame, 1)]) < 0.35 * (frames[(frame, 0)] + frames[(frame, 1)])


def test_dev_uses_heldout_words() -> None:
    def nouns(rows, key="sentence"):
        return {
            S.INDEX.noun_form[w][0].key
            for r in rows
            for w in r[key].lower().rstrip(".").split()
            if w in S.INDEX.noun_form
        }

    train, dev = S.make_task("SYN-CoLA", "train", 300), S.make_task("SYN-CoLA", "dev", 300)
    assert nouns(train) <= S.SEEN_NOUNS
    assert nouns(dev) & S.HELDOUT_NOUNS and nouns(dev) & S.SEEN_NOUNS
    assert not S.SEEN_NOUNS & S.HELDOUT_NOUNS
    dev_all_seen = S.make_task("SYN-CoLA", "dev", 100, heldout=0.0)
    assert nouns(dev_all_seen) <= S.SEEN_NOUNS
    # every held-out noun is in the pretraining corpus
    corpus_words = {w.strip(".,") for d in S.generate_corpus(2000) for w in d.lower().split()}
    for key in S.HELDOUT_NOUNS:
        assert any(f in corpus_words for pair in S.NOUNS[key].forms for f in pair), key


def test_sst_labels_follow_predicate_and_negation() -> None:
    for r in S.make_task("SYN-SST", "dev", 200):
        words = r["sentence"].lower().rstrip(".").split()
        adj = S.INDEX.adj_form[words[-1]]
        negated = words[-2] == "not"
        assert (adj.valence * (-1 if negated else 1) > 0) == (r["label"] == 1)
        assert S.analyze(r["sentence"]) == []
    labels_by_neg = Counter(
        (r["sentence"].count(" not "), r["label"]) for r in S.make_task("SYN-SST", "train", 400)
    )
    # "not" alone says nothing about the label: both labels are common with and without it
    assert min(labels_by_neg[(1, 0)], labels_by_neg[(1, 1)]) > 40
    assert min(labels_by_neg[(0, 0)], labels_by_neg[(0, 1)]) > 100


def _meaning(sentence: str) -> tuple:
    words = sentence.lower().rstrip(".").split()
    if "by" in words:  # passive: the patient is first
        k = words.index("by")
        verb = S.INDEX.participle[words[k - 1]]
        patient = next(S.INDEX.noun_form[w] for w in words[:k] if w in S.INDEX.noun_form)
        agent = next(S.INDEX.noun_form[w] for w in words[k:] if w in S.INDEX.noun_form)
    else:
        verb = next(S.INDEX.verb_form[w][0] for w in words if w in S.INDEX.verb_form)
        found = [S.INDEX.noun_form[w] for w in words if w in S.INDEX.noun_form]
        agent, patient = found[0], found[1]
    return (agent[0].key, agent[1], verb.key, patient[0].key, patient[1])


def _lemmas(sentence: str) -> list[str]:
    out = []
    for w in sentence.lower().rstrip(".").split():
        if w in S.INDEX.noun_form:
            out.append(S.INDEX.noun_form[w][0].key)
        elif w in S.INDEX.verb_form:  # "read" is both a verb form and a participle: count it once
            out.append(S.INDEX.verb_form[w][0].key)
        elif w in S.INDEX.participle:
            out.append(S.INDEX.participle[w].key)
        elif w in S.INDEX.adj_form:
            out.append(S.INDEX.adj_form[w].key)
    return sorted(out)


def test_mrpc_pairs_are_meaning_based() -> None:
    rows = S.make_task("SYN-MRPC", "train", 400)
    same_concepts = Counter()
    for r in rows:
        same = _meaning(r["sentence1"]) == _meaning(r["sentence2"])
        assert same == (r["label"] == 1), r
        assert S.analyze(r["sentence1"]) == [] and S.analyze(r["sentence2"]) == []
        # never the same bag of words, in either class
        assert sorted(r["sentence1"].lower().split()) != sorted(r["sentence2"].lower().split())
        same_concepts[r["label"]] += _lemmas(r["sentence1"]) == _lemmas(r["sentence2"])
    assert same_concepts[1] == 200  # paraphrases: same concepts (voice / synonyms change)
    assert same_concepts[0] > 15  # argument swaps (MRPC_KINDS): the same concepts, another meaning


def test_sts_scores_follow_overlap() -> None:
    rows = S.make_task("SYN-STS", "train", 300)
    levels = Counter(round(r["score"]) for r in rows)
    assert all(levels[k] >= 30 for k in range(6))
    for r in rows:
        m1, m2 = _meaning(r["sentence1"]), _meaning(r["sentence2"])
        if r["score"] > 4.7:
            assert m1 == m2
        if r["score"] < 0.3:
            assert not {m1[0], m1[2], m1[3]} & {m2[0], m2[2], m2[3]}


def test_output_is_pinned_for_a_seed() -> None:
    """The corpus and tasks of a seed never change silently: the ``synthetic`` source is cached by
    ``SYNTHETIC_VERSION``, and published results name a seed. If this fails on purpose, bump the version
    and update the digests (the split of the module into a package left them byte-identical)."""
    import hashlib
    import json

    corpus = "\n\n".join(S.generate_corpus(40, seed=3)).encode()
    tasks = json.dumps({t: S.make_task(t, "dev", 12, seed=3) for t in S.TASKS}, sort_keys=True).encode()
    assert S.SYNTHETIC_VERSION == "2"
    assert hashlib.sha256(corpus).hexdigest() == (
        "f78a3f04569dc6f919c293ab44a5b743b50918214a91bd802c032879e1bf747c"
    )
    assert hashlib.sha256(tasks).hexdigest() == (
        "b5aacd8a27b384e0f9f82fcc91b5d2357a4182c19cf7a377dc9929927e7ad393"
    )


def test_package_modules_stay_small() -> None:
    import textssl.data.synthetic as package

    root = Path(package.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in root.glob("*.py")}
    assert {"lexicon.py", "grammar.py", "corpus.py", "tasks.py", "writers.py"} <= set(sizes)
    assert max(sizes.values()) <= 500, sizes


def test_task_writers_read_the_task_registry(tmp_path):
    """Every synthetic task is described once, in textssl.finetuning.tasks; task.json and the layout come from it."""
    import json

    from textssl.data.synthetic import TASKS as BUILDERS
    from textssl.data.synthetic import write_tasks
    from textssl.finetuning.tasks import SYNTHETIC_TASKS, get_task, synthetic_task_info

    assert sorted(get_task(name).name for name in BUILDERS) == sorted(SYNTHETIC_TASKS)
    written = write_tasks(tmp_path, seed=3, train_size=4, dev_size=2)
    for name, folder in written.items():
        info = json.loads((folder / "task.json").read_text())
        assert info == {"task": name, "seed": 3, "heldout": 0.5, **synthetic_task_info(name)}
    sts = synthetic_task_info("SYN-STS")
    assert sts["like"] == "stsb" and sts["labels"] is None and sts["main_metric"] == "spearmanr"
    assert synthetic_task_info("SYN-MRPC")["columns"] == ["#1 String", "#2 String"]
    assert synthetic_task_info("SYN-CoLA")["labels"] == ["unacceptable", "acceptable"]
    with pytest.raises(KeyError, match="not a synthetic task"):
        synthetic_task_info("cola")
