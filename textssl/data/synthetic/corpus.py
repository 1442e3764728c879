"""Pretraining documents: a protagonist's daily script in one topic, interleaved with free clauses."""

from __future__ import annotations

import random
from collections.abc import Iterator

from textssl.data.synthetic.grammar import NP, Clause, PhraseGenerator, Retry, sentence_text
from textssl.data.synthetic.lexicon import CONNECTORS, INDEX, NOUNS, TOPIC_PLACE, TOPIC_WORK, TOPICS, VERBS
from textssl.errors import ConfigError

_FRAMES = ("simple", "simple", "simple", "pp", "orc", "orc", "src", "passive")


def _script(topic: str) -> list[tuple[str, str | None]]:
    """The canonical event order of a working day in ``topic``: (verb key, complement or object spec)."""
    work = TOPIC_WORK[topic]
    return [
        ("wake", "up"),
        ("eat", "food"),
        ("leave", "home"),
        ("go", "to {place}"),
        (work[0][0], "work0"),
        (work[1][0], "work1"),
        ("come", "home"),
        ("cook", "food"),
        ("go", "to bed"),
    ]


def _document(rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    mood = rng.choice((1, -1))
    pool = INDEX.topic_nouns[topic]
    gen = PhraseGenerator(rng, pool, mood)
    humans = [n for n in pool if "human" in n.feats and n.topics]
    hero = NP(rng.choice(humans), gen.number(), rng.randrange(2))
    script = _script(topic)
    k = rng.randint(3, 6)
    events = sorted(rng.sample(range(len(script)), k))
    sentences: list[tuple[float, str]] = []
    for rank, e in enumerate(events):
        verb_key, spec = script[e]
        verb = VERBS[verb_key]
        if spec == "food":
            obj = gen.np(pred=lambda n: "food" in n.feats, adj_prob=0.3)
            clause = Clause(hero, ("tr", verb, obj), verb_form=rng.randrange(2))
        elif spec in ("work0", "work1"):
            keys = TOPIC_WORK[topic][int(spec[-1])][1]
            obj = gen.np(NOUNS[rng.choice(keys)], adj_prob=0.2)
            clause = Clause(hero, ("tr", verb, obj), verb_form=rng.randrange(2))
        else:
            comp = spec.replace("{place}", "the " + TOPIC_PLACE[topic])
            clause = Clause(hero, ("script", verb, comp))
        connector = None
        if rank and rng.random() < 0.35:
            connector = (
                "finally" if rank == len(events) - 1 and rng.random() < 0.5 else rng.choice(CONNECTORS[:3])
            )
        sentences.append((float(e), clause.text(connector)))
    for _ in range(rng.randint(2, 5)):
        frame = rng.choice(_FRAMES)
        for _attempt in range(20):
            try:
                text = gen.clause(frame).text()
                break
            except Retry:
                frame = rng.choice(_FRAMES)
        sentences.append((rng.uniform(-0.5, len(script) - 0.5), text))
    if rng.random() < 0.8:
        try:
            sentences.append((rng.uniform(0, len(script)), _because(gen)))
        except Retry:
            pass
    sentences.sort(key=lambda t: t[0])
    return " ".join(s for _, s in sentences)


def _because(gen: PhraseGenerator) -> str:
    """A mood sentence: an animate noun's feeling explained by an evaluation of the same polarity."""
    rng = gen.rng
    who = gen.np(pred=lambda n: n.animate, adj_prob=0.0)
    feel = gen.adjective(who.noun, False, valence=gen.mood)
    what = gen.np(pred=lambda n: not n.animate and bool(INDEX.pred_adjs[n.key]), adj_prob=0.0)
    why = gen.adjective(what.noun, False, valence=gen.mood)
    if feel is None or why is None:
        return Clause(who, ("intr", rng.choice(INDEX.intrans[who.noun.key]))).text()
    left = Clause(who, ("cop", feel, False), verb_form=rng.randrange(2)).words()
    right = Clause(what, ("cop", why, False), verb_form=rng.randrange(2)).words()
    return sentence_text([*left, "because", *right])


def generate_documents(start: int, count: int, seed: int = 0) -> Iterator[str]:
    """Documents ``start .. start+count-1`` of the corpus with ``seed`` (each document depends only on
    ``(seed, index)``, so shards generate independently and agree with :func:`generate_corpus`)."""
    for i in range(start, start + count):
        yield _document(random.Random(seed * 1_000_003 + i))


def generate_corpus(num_documents: int, seed: int = 0) -> list[str]:
    """``num_documents`` synthetic documents (several sentences each) for pretraining; deterministic in ``seed``."""
    if num_documents < 0:
        raise ConfigError(f"num_documents must be >= 0, got {num_documents}")
    return list(generate_documents(0, num_documents, seed))
