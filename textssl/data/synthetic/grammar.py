"""The grammar of the synthetic language: phrases and clauses, the random phrase generator, and the analyser.

:class:`Clause` renders one sentence; :class:`PhraseGenerator` draws well-formed clauses from a noun pool with a
mood; :func:`analyze` parses a sentence back and lists its agreement / selection / syntax violations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from textssl.data.synthetic.lexicon import (
    COORDINATION_RATE,
    INDEX,
    PREPOSITIONS,
    SCRIPT_COMPLEMENTS,
    SUBJECT_NOUNS,
    TOPIC_PLACE,
    VERB_VALENCE,
    Adjective,
    Noun,
    Verb,
)


# ---------------------------------------------------------------------------------------------- phrases
@dataclass
class NP:
    """A noun phrase ``the [adj] noun`` with a number and chosen synonym forms."""

    noun: Noun
    number: str  # "sg" | "pl"
    form: int = 0
    adj: Adjective | None = None
    adj_form: int = 0

    def words(self) -> list[str]:
        out = ["the"]
        if self.adj is not None:
            out.append(self.adj.forms[self.adj_form % len(self.adj.forms)])
        sg, pl = self.noun.forms[self.form % len(self.noun.forms)]
        out.append(sg if self.number == "sg" else pl)
        return out


def _verb_word(verb: Verb, number: str, form: int = 0) -> str:
    s3, pl, _ = verb.forms[form % len(verb.forms)]
    return s3 if number == "sg" else pl


def _copula(number: str) -> str:
    return "is" if number == "sg" else "are"


def other_number(number: str) -> str:
    return "pl" if number == "sg" else "sg"


def sentence_text(words: list[str]) -> str:
    text = " ".join(words)
    return text[:1].upper() + text[1:] + "."


@dataclass
class Clause:
    """``head [modifier] predicate`` -- the unit of the grammar, rendered by :meth:`words`.

    ``mod`` is None, ``("pp", prep, NP)``, ``("orc", NP, Verb)`` (object relative: "that the cats chase") or
    ``("src", Verb, NP | None)`` (subject relative: "that chases the cats"). ``pred`` is ``("intr", Verb)``,
    ``("tr", Verb, NP)``, ``("cop", Adjective, negated)`` or ``("script", Verb, complement)``. The
    ``*_number`` overrides exist to build agreement violations.
    """

    head: NP
    pred: tuple
    mod: tuple | None = None
    pred_number: str | None = None
    rc_number: str | None = None
    verb_form: int = 0
    rc_form: int = 0

    def words(self) -> list[str]:
        out = self.head.words()
        if self.mod is not None:
            kind = self.mod[0]
            if kind == "pp":
                out += [self.mod[1], *self.mod[2].words()]
            elif kind == "orc":
                np_, verb = self.mod[1], self.mod[2]
                out += ["that", *np_.words(), _verb_word(verb, self.rc_number or np_.number, self.rc_form)]
            else:
                verb, obj = self.mod[1], self.mod[2]
                out += ["that", _verb_word(verb, self.rc_number or self.head.number, self.rc_form)]
                if obj is not None:
                    out += obj.words()
        number = self.pred_number or self.head.number
        kind = self.pred[0]
        if kind == "intr":
            out.append(_verb_word(self.pred[1], number, self.verb_form))
        elif kind == "tr":
            out += [_verb_word(self.pred[1], number, self.verb_form), *self.pred[2].words()]
        elif kind == "cop":
            adj, negated = self.pred[1], self.pred[2]
            out.append(_copula(number))
            if negated:
                out.append("not")
            out.append(adj.forms[self.verb_form % len(adj.forms)])
            if len(self.pred) > 3:  # coordinated adjective of the same polarity: "fresh and sweet"
                out += ["and", self.pred[3].forms[0]]
        elif kind == "script":
            out += [_verb_word(self.pred[1], number, self.verb_form), *self.pred[2].split()]
        else:  # passive: ("pass", Verb, agent NP)
            verb, agent = self.pred[1], self.pred[2]
            part = verb.forms[self.verb_form % len(verb.forms)][2]
            out += [_copula(number), part, "by", *agent.words()]
        return out

    def text(self, connector: str | None = None) -> str:
        words = self.words()
        if connector:
            head = connector if connector == "then" else connector + ","
            words = [head, *words]
        return sentence_text(words)


# ---------------------------------------------------------------------------------------------- generator
class Retry(Exception):
    """A random draw had no valid candidate; the caller draws again."""


class PhraseGenerator:
    """Draws phrases for one document (or one task example) from a noun pool with a mood.

    Documents take 90% of their nouns from the topic's pool and 10% from the whole lexicon; task examples
    (``strict``) stay inside their pool (the seen or the held-out half of the lexicon).
    """

    def __init__(
        self,
        rng: random.Random,
        pool: list[Noun],
        mood: int = 0,
        adj_pool: set[str] | None = None,
        strict: bool = False,
    ) -> None:
        self.rng = rng
        self.pool = pool
        self.mood = mood
        self.adj_pool = adj_pool
        self.strict = strict

    def noun(self, pred=None) -> Noun:
        rng = self.rng
        if not self.strict:
            for _ in range(20):
                n = rng.choice(self.pool) if rng.random() < 0.9 else rng.choice(SUBJECT_NOUNS)
                if pred is None or pred(n):
                    return n
        cands = [n for n in self.pool if pred is None or pred(n)]
        if not cands and not self.strict:
            cands = [n for n in SUBJECT_NOUNS if pred(n)]
        if not cands:
            raise Retry
        return rng.choice(cands)

    def number(self) -> str:
        return "pl" if self.rng.random() < 0.45 else "sg"

    def adjective(self, noun: Noun, prenominal: bool, valence: int | None = None) -> Adjective | None:
        cands = INDEX.pre_adjs[noun.key] if prenominal else INDEX.pred_adjs[noun.key]
        if self.adj_pool is not None:
            cands = [a for a in cands if a.valence == 0 or a.key in self.adj_pool]
        if valence is not None:
            cands = [a for a in cands if a.valence == valence]
        elif self.mood and self.rng.random() < 0.85:
            cands = [a for a in cands if a.valence != -self.mood] or cands
        return self.rng.choice(cands) if cands else None

    def np(self, noun: Noun | None = None, adj_prob: float = 0.2, pred=None) -> NP:
        rng = self.rng
        noun = noun or self.noun(pred)
        adj = self.adjective(noun, True) if rng.random() < adj_prob else None
        return NP(noun, self.number(), rng.randrange(2), adj, rng.randrange(2))

    def predicate(
        self,
        head: Noun,
        kinds: tuple[str, ...] = ("intr", "tr", "cop"),
        verb_filter: frozenset[str] | None = None,
    ) -> tuple:
        """A predicate ``head`` can take; ``verb_filter`` limits transitive verbs to these keys."""
        rng = self.rng
        trans = INDEX.trans[head.key]
        if verb_filter is not None:
            trans = [v for v in trans if v.key in verb_filter]
        table = {"intr": INDEX.intrans[head.key], "tr": trans, "cop": INDEX.pred_adjs[head.key]}
        options = [k for k in kinds if table[k]]
        if not options:
            raise Retry
        kind = rng.choice(options)
        if kind == "intr":
            verbs = table["intr"]
            if self.mood and rng.random() < 0.85:  # the document's mood governs laugh/cry too
                verbs = [v for v in verbs if VERB_VALENCE.get(v.key, 0) != -self.mood] or verbs
            return ("intr", rng.choice(verbs))
        if kind == "tr":
            verb = rng.choice(trans)
            return (
                "tr",
                verb,
                self.np(pred=lambda n: verb.takes_object(n) and n.key != head.key, adj_prob=0.15),
            )
        negated = rng.random() < 0.15
        adj = self.adjective(head, False)
        if adj is None:
            raise Retry
        if negated and adj.valence:
            flipped = self.adjective(head, False, valence=-adj.valence)
            adj = flipped or adj
            negated = flipped is not None
        elif negated:
            negated = False
        if adj.valence and not negated and rng.random() < COORDINATION_RATE:
            second = self.adjective(head, False, valence=adj.valence)
            if second is not None and second.key != adj.key:
                return ("cop", adj, False, second)
        return ("cop", adj, negated)

    def modifier(self, head: Noun, kind: str, other_class: bool | None = None) -> tuple:
        """A PP or relative clause on ``head``; ``other_class`` forces the inner noun's animacy."""
        rng = self.rng

        def animacy_ok(n: Noun) -> bool:
            return other_class is None or (n.animate != head.animate) == other_class

        if kind == "pp":
            return (
                "pp",
                rng.choice(PREPOSITIONS),
                self.np(pred=lambda n: animacy_ok(n) and n.key != head.key, adj_prob=0.1),
            )
        if kind == "orc":  # the head is the object of the clause's verb
            subj = self.noun(
                lambda n: (
                    animacy_ok(n)
                    and n.key != head.key
                    and any(v.takes_object(head) for v in INDEX.trans[n.key])
                )
            )
            verbs = [v for v in INDEX.trans[subj.key] if v.takes_object(head)]
            return ("orc", NP(subj, self.number(), rng.randrange(2)), rng.choice(verbs))
        # subject relative: the head is the subject of the clause's verb
        verbs = INDEX.trans[head.key] + INDEX.intrans[head.key]
        if not verbs:
            raise Retry
        verb = rng.choice(verbs)
        if verb.obj is None:
            return ("src", verb, None)
        try:
            obj = self.np(
                pred=lambda n: verb.takes_object(n) and animacy_ok(n) and n.key != head.key, adj_prob=0.0
            )
        except Retry:
            obj = self.np(pred=lambda n: verb.takes_object(n) and n.key != head.key, adj_prob=0.0)
        return ("src", verb, obj)

    def clause(self, frame: str) -> Clause:
        rng = self.rng
        if frame == "passive":
            agent = self.noun(lambda n: bool(INDEX.trans[n.key]))
            verb = rng.choice(INDEX.trans[agent.key])
            head = self.noun(verb.takes_object)
            return Clause(
                self.np(head),
                ("pass", verb, NP(agent, self.number(), rng.randrange(2))),
                verb_form=rng.randrange(2),
            )
        head = self.np(adj_prob=0.2)
        mod = None
        if frame in ("pp", "orc", "src"):
            mod = self.modifier(head.noun, frame, other_class=rng.random() < 0.5)
        pred = self.predicate(head.noun)
        if mod is not None and mod[0] == "src" and pred[0] in ("intr", "tr") and pred[1] is mod[1]:
            pred = self.predicate(head.noun, ("cop",))  # not "the barn that burns burns"
        return Clause(head, pred, mod, verb_form=rng.randrange(2), rc_form=rng.randrange(2))


# ---------------------------------------------------------------------------------------------- analyser
class _Parse:
    def __init__(self, words: list[str]) -> None:
        self.w = words
        self.i = 0
        self.errors: list[str] = []

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.w[j] if j < len(self.w) else None

    def take(self) -> str:
        if self.i >= len(self.w):
            raise _SyntaxError("unexpected end of sentence")
        self.i += 1
        return self.w[self.i - 1]

    def simple_np(self) -> tuple[Noun, str]:
        if self.take() != "the":
            raise _SyntaxError("noun phrase must start with 'the'")
        adjs = []
        while self.peek() in INDEX.adj_form:
            adjs.append(INDEX.adj_form[self.take()])
        word = self.take()
        if word not in INDEX.noun_form:
            raise _SyntaxError(f"expected a noun, got {word!r}")
        noun, number = INDEX.noun_form[word]
        for a in adjs:
            if not a.fits(noun):
                self.errors.append(f"selection: adjective {a.key!r} does not fit {noun.key!r}")
        return noun, number


class _SyntaxError(Exception):
    pass


def _check_agreement(p: _Parse, subj_number: str, verb_number: str, where: str) -> None:
    if subj_number != verb_number:
        p.errors.append(f"agreement: {where} verb is {verb_number}, its subject is {subj_number}")


def _analyze_clause(p: _Parse) -> None:
    head, number = p.simple_np()
    nxt = p.peek()
    if nxt in PREPOSITIONS:
        p.take()
        p.simple_np()
    elif nxt == "that":
        p.take()
        if p.peek() == "the":
            subj, subj_num = p.simple_np()
            word = p.take()
            if word not in INDEX.verb_form or INDEX.verb_form[word][0].obj is None:
                raise _SyntaxError(f"expected a transitive verb in the relative clause, got {word!r}")
            verb, vnum = INDEX.verb_form[word]
            _check_agreement(p, subj_num, vnum, "relative-clause")
            if not verb.takes_subject(subj):
                p.errors.append(f"selection: {subj.key!r} cannot {verb.key}")
            if not verb.takes_object(head):
                p.errors.append(f"selection: cannot {verb.key} {head.key!r}")
        else:
            word = p.take()
            if word not in INDEX.verb_form:
                raise _SyntaxError(f"expected a verb after 'that', got {word!r}")
            verb, vnum = INDEX.verb_form[word]
            _check_agreement(p, number, vnum, "relative-clause")
            if not verb.takes_subject(head):
                p.errors.append(f"selection: {head.key!r} cannot {verb.key}")
            if verb.obj is not None:
                obj, _ = p.simple_np()
                if not verb.takes_object(obj):
                    p.errors.append(f"selection: cannot {verb.key} {obj.key!r}")
    _analyze_predicate(p, head, number)


def _analyze_predicate(p: _Parse, head: Noun, number: str) -> None:
    word = p.take()
    if word in ("is", "are"):
        _check_agreement(p, number, "sg" if word == "is" else "pl", "main")
        if p.peek() == "not":
            p.take()
        word = p.take()
        if word in INDEX.adj_form:
            adj = INDEX.adj_form[word]
            if not adj.fits(head):
                p.errors.append(f"selection: {head.key!r} cannot be {adj.key}")
            if p.peek() == "and":
                p.take()
                second = p.take()
                if second not in INDEX.adj_form:
                    raise _SyntaxError(f"expected an adjective after 'and', got {second!r}")
                other = INDEX.adj_form[second]
                if not other.fits(head):
                    p.errors.append(f"selection: {head.key!r} cannot be {other.key}")
                if other.valence * adj.valence < 0:
                    p.errors.append(f"polarity: {adj.key!r} and {other.key!r} disagree")
            return
        if word in INDEX.participle and p.peek() == "by":
            verb = INDEX.participle[word]
            p.take()
            agent, _ = p.simple_np()
            if not verb.takes_subject(agent):
                p.errors.append(f"selection: {agent.key!r} cannot {verb.key}")
            if not verb.takes_object(head):
                p.errors.append(f"selection: cannot {verb.key} {head.key!r}")
            return
        raise _SyntaxError(f"expected an adjective or a passive after the copula, got {word!r}")
    if word not in INDEX.verb_form:
        raise _SyntaxError(f"expected a verb, got {word!r}")
    verb, vnum = INDEX.verb_form[word]
    _check_agreement(p, number, vnum, "main")
    if not verb.takes_subject(head):
        p.errors.append(f"selection: {head.key!r} cannot {verb.key}")
    if verb.kind == "script":
        rest = " ".join(p.w[p.i :])
        p.i = len(p.w)
        allowed = [
            c.replace("{place}", "the " + pl)
            for c in SCRIPT_COMPLEMENTS[verb.key]
            for pl in TOPIC_PLACE.values()
        ]
        if rest not in allowed:
            raise _SyntaxError(f"bad complement {rest!r} for {verb.key!r}")
    elif verb.obj is not None:
        obj, _ = p.simple_np()
        if not verb.takes_object(obj):
            p.errors.append(f"selection: cannot {verb.key} {obj.key!r}")


def analyze(sentence: str) -> list[str]:
    """Check one sentence of the synthetic language; return the list of violations (empty: well formed).

    Violations are ``"agreement: ..."``, ``"selection: ..."`` or ``"syntax: ..."``. Used by the tests to
    verify that the corpus is grammatical and that acceptability negatives really violate the grammar.
    """
    words = sentence.lower().replace(",", "").rstrip(".").split()
    if words[:2] == ["after", "that"]:
        words = words[2:]
    elif words and words[0] in ("then", "later", "finally"):
        words = words[1:]
    clauses = [words]
    if "because" in words:
        k = words.index("because")
        clauses = [words[:k], words[k + 1 :]]
    errors: list[str] = []
    for clause in clauses:
        p = _Parse(clause)
        try:
            _analyze_clause(p)
            if p.i != len(clause):
                raise _SyntaxError(f"unexpected words at the end: {' '.join(clause[p.i :])!r}")
        except _SyntaxError as exc:
            p.errors.append(f"syntax: {exc}")
        errors += p.errors
    return errors
