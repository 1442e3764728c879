"""The four GLUE-style tasks as rows: acceptability, polarity, paraphrase and similarity examples.

Each example builder draws the kind of test before the label and the words from the same distributions for
both labels, so only the relation between words gives the label away (see the package docstring).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from textssl.data.synthetic.grammar import NP, Clause, PhraseGenerator, Retry, other_number
from textssl.data.synthetic.lexicon import (
    ADJECTIVES,
    HELDOUT_ADJS,
    HELDOUT_NOUNS,
    INDEX,
    SEEN_ADJS,
    SEEN_NOUNS,
    SUBJECT_NOUNS,
    SYNTHETIC_VERSION,
    TOPICS,
    VERBS,
    Noun,
    Verb,
    noun_class,
)
from textssl.errors import ConfigError

TASKS = ("SYN-CoLA", "SYN-SST", "SYN-MRPC", "SYN-STS")


# ---------------------------------------------------------------------------------------------- tasks
# Task mixtures. Each task pairs a rule that 500 training examples teach any model (pretrained or not) with
# word knowledge that only pretraining can give for the held-out half of the evaluation words (their animacy,
# number, polarity, synonyms). Measured (README, "quickstart"): the structural variants -- agreement across a
# relative clause, role swaps in passives -- stay at chance for a tiny model with 500 examples whether it was
# pretrained for a few minutes or not, so they are a minority that keeps the tasks honest, not their bulk.
COLA_KINDS = {"agree_main": 20, "agree_rc": 0, "select_main": 55, "select_obj": 25}
COLA_FRAMES = {"simple": 70, "pp": 20, "src": 5, "orc": 5}
SST_NEGATION = 0.3  # share of negated predicates ("is not fresh")
SST_DISTRACTOR = 0.2  # share of subjects carrying an evaluative adjective of random polarity
SST_FRAMES = {"simple": 50, "pp": 20, "src": 15, "orc": 15}
MRPC_KINDS = {"swap": 15, "arg": 55, "verb": 30}
PASSIVE_RATE = 0.25  # share of pair sentences rendered in the passive voice
VOICE_CHANGE = 0.3  # share of pairs whose second sentence changes voice


def _draw(rng: random.Random, weights: dict[str, int]) -> str:
    """One key of a mixture table, with probability proportional to its weight."""
    return rng.choices(tuple(weights), tuple(weights.values()))[0]


def _task_pool(rng: random.Random, split: str, heldout: float) -> tuple[list[Noun], set[str] | None]:
    """Nouns (and adjectives) one task example may use: training sees only the 'seen' half of the lexicon;
    evaluation uses the held-out half for a fraction ``heldout`` of its examples."""
    use_held = split != "train" and rng.random() < heldout
    keys = HELDOUT_NOUNS if use_held else SEEN_NOUNS
    adjs = HELDOUT_ADJS if use_held else SEEN_ADJS
    return [n for n in SUBJECT_NOUNS if n.key in keys], adjs


# Selection restrictions used by the acceptability task are the ones that hold in plain English too (the
# grammar is stricter than English: "the dog falls" never occurs in the corpus, but is no error to a reader).
# Predicates that need an animate subject (wrong with an inanimate one) and the reverse:
_CLEAR_ANIMATE = (
    ("sleep", "laugh", "smile", "think", "sing", "speak", "cry", "shout"),
    (
        "hungry",
        "tired",
        "happy",
        "cheerful",
        "proud",
        "friendly",
        "sad",
        "angry",
        "upset",
        "lonely",
        "afraid",
    ),
    ("eat", "read", "write", "love", "fear", "chase", "cook", "bake", "feed", "like"),
)
_CLEAR_INANIMATE = (("shatter", "shine", "rust"), ("stale", "rusty", "empty", "wooden"), ())
# Transitive verbs whose object restriction is clear in English ("eats the stone", "reads the dog").
_CLEAR_OBJECT_VERBS = ("eat", "cook", "bake", "read", "write", "feed", "milk", "break", "build")


def _predicate_fits(pred: tuple, noun: Noun) -> bool:
    if pred[0] == "cop":
        return pred[1].fits(noun)
    return pred[1].takes_subject(noun)


def _cola_example(rng: random.Random, pool: list[Noun], positive: bool) -> tuple[str, str]:
    """One acceptability example: (frame, sentence).

    The kind of test (agreement of the main verb, agreement inside the relative clause, selection of the
    main predicate, selection of the object) and the frame are drawn *before* the label, and the words are
    drawn from the same distributions for both labels: a selection example first picks its predicate, then a
    head noun that fits it (acceptable) or not (unacceptable). Only the relation between words differs.
    """
    gen = PhraseGenerator(rng, pool, strict=True)
    kind = _draw(rng, COLA_KINDS)
    if kind == "agree_rc":
        frame = rng.choice(("orc", "src"))
    else:
        frame = _draw(rng, COLA_FRAMES)

    def modifier(head: Noun, other_class: bool) -> tuple | None:
        if frame == "simple":
            return None
        mod = gen.modifier(head, frame, other_class)
        if mod[0] != frame:
            raise Retry
        return mod

    if kind.startswith("agree"):
        head = gen.np(adj_prob=0.15)
        mod = modifier(head.noun, rng.random() < 0.5)
        clause = Clause(
            head, gen.predicate(head.noun), mod, verb_form=rng.randrange(2), rc_form=rng.randrange(2)
        )
        if not positive and kind == "agree_main":
            clause.pred_number = other_number(head.number)
        elif not positive:
            clause.rc_number = other_number(mod[1].number if frame == "orc" else head.number)
        return frame, clause.text()

    if kind == "select_obj":
        verb = VERBS[rng.choice(_CLEAR_OBJECT_VERBS)]
        head = gen.np(pred=verb.takes_subject, adj_prob=0.15)
        fits = verb.takes_object if positive else (lambda n: not verb.takes_object(n))
        obj = gen.noun(lambda n: fits(n) and n.key != head.noun.key)
        mod = modifier(head.noun, rng.random() < 0.5)
        clause = Clause(
            head, ("tr", verb, NP(obj, gen.number(), rng.randrange(2))), mod, verb_form=rng.randrange(2)
        )
        return frame, clause.text()

    # select_main: pick the predicate, then a head that fits it (positive) or clearly does not (negative)
    needs_animate = rng.random() < 0.5
    verbs_i, adjs, verbs_t = _CLEAR_ANIMATE if needs_animate else _CLEAR_INANIMATE
    options = [("intr", k) for k in verbs_i] + [("cop", k) for k in adjs] + [("tr", k) for k in verbs_t]
    what, key = rng.choice(options)
    if what == "cop":
        pred: tuple = ("cop", ADJECTIVES[key], False)
    else:
        pred = (what, VERBS[key])
    if positive:
        head = gen.np(pred=lambda n: _predicate_fits(pred, n), adj_prob=0.15)
    else:
        head = gen.np(
            pred=lambda n: n.animate != needs_animate and not _predicate_fits(pred, n), adj_prob=0.15
        )
    if what == "tr":
        verb = pred[1]
        pred = (
            "tr",
            verb,
            gen.np(pred=lambda n: verb.takes_object(n) and n.key != head.noun.key, adj_prob=0.0),
        )
    # in both classes exactly one of (head, inner noun) has the predicate's animacy 70% of the time, so
    # "some noun fits the predicate" says nothing; only the head counts
    mod = modifier(head.noun, rng.random() < 0.7)
    clause = Clause(head, pred, mod, verb_form=rng.randrange(2), rc_form=rng.randrange(2))
    return frame, clause.text()


def _sst_example(rng: random.Random, pool: list[Noun], adj_pool: set[str], positive: bool) -> str:
    gen = PhraseGenerator(rng, pool, adj_pool=adj_pool, strict=True)
    negated = rng.random() < SST_NEGATION
    for _ in range(100):
        head = NP(gen.noun(lambda n: bool(INDEX.pred_adjs[n.key])), gen.number(), rng.randrange(2))
        # distractor: a valenced adjective of random polarity inside the subject
        if rng.random() < SST_DISTRACTOR:
            head.adj = gen.adjective(head.noun, True, valence=rng.choice((1, -1)))
        frame = _draw(rng, SST_FRAMES)
        mod = gen.modifier(head.noun, frame) if frame != "simple" else None
        if mod is not None and mod[0] == "pp" and rng.random() < SST_DISTRACTOR:
            inner = mod[2]
            inner.adj = gen.adjective(inner.noun, True, valence=rng.choice((1, -1)))
        valence = (1 if positive else -1) * (-1 if negated else 1)
        adj = gen.adjective(head.noun, False, valence=valence)
        if adj is None:
            continue
        return Clause(
            head, ("cop", adj, negated), mod, verb_form=rng.randrange(2), rc_form=rng.randrange(2)
        ).text()
    raise RuntimeError("could not build a polarity example")  # pragma: no cover


@dataclass
class _Prop:
    """A proposition: agent -verb-> patient (meaning, independent of voice and synonyms)."""

    agent: NP
    verb: Verb
    patient: NP

    def render(self, rng: random.Random, passive: bool | None = None) -> str:
        passive = rng.random() < PASSIVE_RATE if passive is None else passive
        agent = NP(self.agent.noun, self.agent.number, rng.randrange(2), self.agent.adj, rng.randrange(2))
        patient = NP(
            self.patient.noun, self.patient.number, rng.randrange(2), self.patient.adj, rng.randrange(2)
        )
        vf = rng.randrange(2)
        if passive:
            return Clause(patient, ("pass", self.verb, agent), verb_form=vf).text()
        return Clause(agent, ("tr", self.verb, patient), verb_form=vf).text()


def _random_prop(gen: PhraseGenerator, swappable: bool = False) -> _Prop:
    rng = gen.rng
    for _ in range(100):
        agent = gen.noun(lambda n: bool(INDEX.trans[n.key]))
        verbs = INDEX.trans[agent.key]
        if swappable:
            verbs = [v for v in verbs if v.takes_object(agent)]
            if not verbs:
                continue
        verb = rng.choice(verbs)
        if swappable:
            patient = gen.noun(
                lambda n, v=verb, a=agent: v.takes_object(n) and v.takes_subject(n) and n.key != a.key
            )
        else:
            patient = gen.noun(lambda n, v=verb, a=agent: v.takes_object(n) and n.key != a.key)
        if not verb.takes_object(patient) or patient.key == agent.key:
            continue
        if swappable and not verb.takes_subject(patient):
            continue
        a = NP(agent, gen.number(), 0, gen.adjective(agent, True) if rng.random() < 0.2 else None)
        p = NP(patient, gen.number(), 0, gen.adjective(patient, True) if rng.random() < 0.2 else None)
        return _Prop(a, verb, p)
    raise RuntimeError("could not build a proposition")  # pragma: no cover


def _replace_arg(gen: PhraseGenerator, prop: _Prop, which: str) -> _Prop | None:
    rng = gen.rng
    old = prop.agent if which == "agent" else prop.patient
    other = prop.patient if which == "agent" else prop.agent
    ok = prop.verb.takes_subject if which == "agent" else prop.verb.takes_object
    cands = [
        n
        for n in gen.pool
        if ok(n) and n.key not in (old.noun.key, other.noun.key) and noun_class(n) == noun_class(old.noun)
    ]
    if not cands:
        return None
    new = NP(rng.choice(cands), old.number, 0, None)
    return _Prop(new, prop.verb, prop.patient) if which == "agent" else _Prop(prop.agent, prop.verb, new)


def _replace_verb(gen: PhraseGenerator, prop: _Prop) -> _Prop | None:
    cands = [
        v
        for v in INDEX.trans[prop.agent.noun.key]
        if v.key != prop.verb.key and v.takes_object(prop.patient.noun)
    ]
    return _Prop(prop.agent, gen.rng.choice(cands), prop.patient) if cands else None


def _bag(sentence: str) -> list[str]:
    return sorted(sentence.lower().rstrip(".").split())


def _render_pair(rng: random.Random, first: _Prop, second: _Prop) -> tuple[str, str]:
    """Render two propositions the same way for both labels: the voice changes 60% of the time, and the
    two sentences never have the same bag of words (a synonym or the voice differs), so identical words
    never give the label away."""
    passive = rng.random() < PASSIVE_RATE
    s1 = first.render(rng, passive)
    voice2 = (not passive) if rng.random() < VOICE_CHANGE else passive
    for _ in range(20):
        s2 = second.render(rng, voice2)
        if _bag(s2) != _bag(s1):
            return s1, s2
    raise Retry


def _mrpc_example(rng: random.Random, pool: list[Noun], positive: bool) -> tuple[str, str]:
    """A paraphrase pair. The kind of proposition is drawn before the label: for "swap" both arguments
    could be either role (the negative swaps them: the same words, another meaning), for "arg" / "verb" the
    negative replaces an argument / the verb by one of the same class. Positives keep the meaning."""
    gen = PhraseGenerator(rng, pool, strict=True)
    kind = _draw(rng, MRPC_KINDS)
    prop = _random_prop(gen, swappable=kind == "swap")
    if positive:
        other: _Prop | None = prop
    elif kind == "swap":
        other = _Prop(prop.patient, prop.verb, prop.agent)
    elif kind == "arg":
        other = _replace_arg(gen, prop, rng.choice(("agent", "patient")))
    else:
        other = _replace_verb(gen, prop)
    if other is None:
        raise Retry
    return _render_pair(rng, prop, other)


def _sts_example(rng: random.Random, pool: list[Noun], level: int) -> tuple[str, str, float]:
    """A sentence pair whose meaning overlap is ``level`` (0-5); the score adds a little rater noise."""
    gen = PhraseGenerator(rng, pool, strict=True)
    for _ in range(200):
        prop = _random_prop(gen, swappable=level == 2 and rng.random() < 0.5)
        other: _Prop | None
        if level == 5:
            other = prop
        elif level == 4:  # a detail differs: number or an adjective of one argument
            other = _Prop(
                NP(prop.agent.noun, prop.agent.number, 0, prop.agent.adj),
                prop.verb,
                NP(prop.patient.noun, prop.patient.number, 0, prop.patient.adj),
            )
            target = other.agent if rng.random() < 0.5 else other.patient
            if rng.random() < 0.5:
                target.number = other_number(target.number)
            else:
                new_adj = gen.adjective(target.noun, True)
                if new_adj is None or (target.adj is not None and new_adj.key == target.adj.key):
                    continue
                target.adj = new_adj
        elif level == 3:  # one of agent / verb / patient replaced
            r = rng.random()
            other = (
                _replace_verb(gen, prop)
                if r < 0.34
                else _replace_arg(gen, prop, "agent" if r < 0.67 else "patient")
            )
        elif level == 2:  # agent and patient swapped, or two of three replaced
            if (
                prop.verb.takes_object(prop.agent.noun)
                and prop.verb.takes_subject(prop.patient.noun)
                and rng.random() < 0.5
            ):
                other = _Prop(prop.patient, prop.verb, prop.agent)
            else:
                step = _replace_arg(gen, prop, "agent")
                other = _replace_verb(gen, step) if step is not None else None
        elif level == 1:  # same topic, nothing shared
            other = _random_prop(gen)
            if {other.agent.noun.key, other.patient.noun.key, other.verb.key} & {
                prop.agent.noun.key,
                prop.patient.noun.key,
                prop.verb.key,
            }:
                continue
        else:  # different topic, nothing shared
            topic_a = rng.choice(TOPICS)
            topic_b = rng.choice([t for t in TOPICS if t != topic_a])
            ga = PhraseGenerator(
                rng, [n for n in pool if n.topics and topic_a in n.topics] or pool, strict=True
            )
            gb = PhraseGenerator(
                rng, [n for n in pool if n.topics and topic_b in n.topics] or pool, strict=True
            )
            prop, other = _random_prop(ga), _random_prop(gb)
            if {other.agent.noun.key, other.patient.noun.key, other.verb.key} & {
                prop.agent.noun.key,
                prop.patient.noun.key,
                prop.verb.key,
            }:
                continue
        if other is None:
            continue
        s1, s2 = prop.render(rng), other.render(rng)
        if level < 5 and s1 == s2:
            continue
        score = min(5.0, max(0.0, level + rng.uniform(-0.3, 0.3)))
        return s1, s2, round(score, 3)
    raise RuntimeError("could not build a similarity example")  # pragma: no cover


def _retrying(fn, *args):
    """Call an example builder until its random draws succeed."""
    for _ in range(200):
        try:
            return fn(*args)
        except Retry:
            continue
    raise RuntimeError(f"{fn.__name__}: no valid example in 200 draws")  # pragma: no cover


def _balanced(n: int, labels: Sequence, rng: random.Random) -> list:
    """``n`` labels, as equal in count as possible, shuffled."""
    out = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(out)
    return out


def make_task(task: str, split: str, size: int, seed: int = 0, heldout: float = 0.5) -> list[dict]:
    """Examples of one synthetic task split as dicts (the TSV writers lay them out GLUE-style)."""
    if task not in TASKS:
        raise ConfigError(f"unknown synthetic task {task!r}; choose one of {', '.join(TASKS)}")
    rng = random.Random(f"textssl-synthetic/{SYNTHETIC_VERSION}/{task}/{split}/{seed}")
    rows: list[dict] = []
    if task == "SYN-STS":
        for level in _balanced(size, (0, 1, 2, 3, 4, 5), rng):
            pool, _ = _task_pool(rng, split, heldout)
            s1, s2, score = _retrying(_sts_example, rng, pool, level)
            rows.append({"sentence1": s1, "sentence2": s2, "score": score})
        return rows
    for label in _balanced(size, (1, 0), rng):
        pool, adjs = _task_pool(rng, split, heldout)
        if task == "SYN-CoLA":
            frame, sentence = _retrying(_cola_example, rng, pool, bool(label))
            rows.append({"source": f"syn_{frame}", "label": label, "sentence": sentence})
        elif task == "SYN-SST":
            rows.append({"sentence": _retrying(_sst_example, rng, pool, adjs, bool(label)), "label": label})
        else:
            s1, s2 = _retrying(_mrpc_example, rng, pool, bool(label))
            rows.append(
                {
                    "label": label,
                    "id1": rng.randrange(100000, 4000000),
                    "id2": rng.randrange(100000, 4000000),
                    "sentence1": s1,
                    "sentence2": s2,
                }
            )
    return rows
