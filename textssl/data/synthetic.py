"""An embedded synthetic English-like corpus, and GLUE-style tasks that hinge on what pretraining learns.

Why: a pretraining run of a few CPU minutes cannot show gains on real GLUE, but it can learn a small language
whose structure is known. This module generates one deterministically (seeded, any size, thousands of
documents per second) from real English words, so every English tokenizer handles it:

* a lexicon with parts of speech and number (``dog/dogs``, ``child/children``; ``runs/run``), synonyms
  (``dog/hound``, ``chase/pursue``) and semantic features (human, animal, food, fragile, text, ...);
* subject-verb agreement, also across relative clauses and prepositional phrases whose noun has the other
  number ("The dog that the cats chase sleeps.", "The keys near the box are shiny.");
* selectional restrictions (animate subjects eat and think, food rots, fragile things shatter, people read
  text, ...);
* topic-coherent documents (farm, kitchen, school, sea, forest, town: a topic governs the nouns and so the
  verbs) with a mood (positive or negative) that governs the evaluative adjectives;
* ordered event sequences: each document follows a protagonist through a daily script (wake up -> eat ->
  leave home -> go to work -> topic-specific work -> come home -> cook -> go to bed), so sentence order
  carries signal for SentenceOrder / NextSentence objectives.

:func:`write_tasks` writes four small tasks in the real GLUE TSV layouts (so finetuning code is identical):

* ``SYN-CoLA`` (acceptability, CoLA layout, MCC): violations of agreement across a relative clause or PP, of
  relative-clause agreement, or of selection. Every negative uses words that also appear in positives; only
  the *relation* between words (head noun <-> verb across the clause) is wrong, never a word itself.
* ``SYN-SST`` (polarity, SST-2 layout): the polarity of the predicate adjective, flipped by ``not``, with
  distracting evaluative adjectives of random polarity inside the subject.
* ``SYN-MRPC`` (paraphrase, MRPC layout, with its header): active/passive and synonym rewrites vs. swapped
  arguments (same bag of words), a changed argument or a changed verb.
* ``SYN-STS`` (similarity 0-5, STS-B layout): graded overlap of the meaning (who did what to whom).

Evaluation sets draw half of their examples from *held-out* nouns (and, for SYN-SST, held-out adjectives)
that never occur in the task's training set but do occur in the pretraining corpus: a randomly initialised
model cannot know their number, animacy or polarity from 500 training examples, a pretrained one can.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from textssl.atomic import atomic_dir, atomic_file
from textssl.errors import ConfigError

SYNTHETIC_VERSION = "2"
TOPICS = ("farm", "kitchen", "school", "sea", "forest", "town")
TASKS = ("SYN-CoLA", "SYN-SST", "SYN-MRPC", "SYN-STS")

# ---------------------------------------------------------------------------------------------- lexicon
# noun table: key | sg/pl forms (synonyms comma separated) | features | topics (* = every topic)
_NOUNS = """
farmer | farmer/farmers | human | farm
shepherd | shepherd/shepherds | human | farm
baker | baker/bakers | human | kitchen town
maid | maid/maids | human | kitchen
teacher | teacher/teachers | human | school
student | student/students, pupil/pupils | human | school
sailor | sailor/sailors | human | sea
captain | captain/captains | human | sea
fisherman | fisherman/fishermen | human | sea
hunter | hunter/hunters | human | forest
woodcutter | woodcutter/woodcutters | human | forest
merchant | merchant/merchants | human | town
guard | guard/guards | human | town
doctor | doctor/doctors | human | town
child | child/children, kid/kids | human | *
girl | girl/girls | human | *
boy | boy/boys | human | *
woman | woman/women | human | *
man | man/men | human | *
horse | horse/horses | animal | farm
cow | cow/cows | animal milkable | farm
goat | goat/goats | animal milkable | farm
pig | pig/pigs | animal | farm
hen | hen/hens | animal | farm
goose | goose/geese | animal | farm
dog | dog/dogs, hound/hounds | animal | farm town forest
cat | cat/cats | animal | kitchen town farm
mouse | mouse/mice | animal | kitchen school
rabbit | rabbit/rabbits | animal | forest farm
fox | fox/foxes | animal | forest
wolf | wolf/wolves | animal | forest
bear | bear/bears | animal | forest
owl | owl/owls | animal | forest
gull | gull/gulls | animal | sea
crab | crab/crabs | animal | sea
seal | seal/seals | animal | sea
bird | bird/birds | animal | town forest school
apple | apple/apples | food round | farm school
carrot | carrot/carrots | food | farm kitchen
potato | potato/potatoes | food round | farm kitchen
egg | egg/eggs | food round | farm kitchen
cake | cake/cakes | food | kitchen town
pie | pie/pies | food | kitchen town
cookie | cookie/cookies | food | kitchen school
loaf | loaf/loaves | food | kitchen town
pear | pear/pears | food round | town forest
plum | plum/plums | food round | forest town
berry | berry/berries | food | forest
nut | nut/nuts | food round | forest
cup | cup/cups, mug/mugs | fragile container | kitchen school
glass | glass/glasses | fragile container | kitchen
plate | plate/plates | fragile | kitchen
bowl | bowl/bowls | fragile container | kitchen
bottle | bottle/bottles | fragile floats container | sea town
vase | vase/vases | fragile container | town
jar | jar/jars | fragile container | kitchen
mirror | mirror/mirrors | fragile | town
book | book/books | text burns | school
letter | letter/letters | text burns | town
map | map/maps | text burns | sea
note | note/notes | text burns | school
poem | poem/poems | text burns | school
story | story/stories | text burns | school town
stone | stone/stones, rock/rocks | object round sinks | forest sea farm
box | box/boxes, crate/crates | object burns container wooden | town farm
ball | ball/balls | object round floats toy | school town
key | key/keys | object sinks metal | town
hat | hat/hats | object burns | town
rope | rope/ropes | object burns | sea farm
net | net/nets | object floats | sea
basket | basket/baskets | object floats burns container | farm forest
bucket | bucket/buckets | object container metal | farm sea
coin | coin/coins | object round sinks metal | town
pencil | pencil/pencils | object burns wooden | school
knife | knife/knives | object sinks metal | kitchen
spoon | spoon/spoons | object metal | kitchen
hammer | hammer/hammers | object sinks metal | town farm
lamp | lamp/lamps | object light | town school
candle | candle/candles | object light burns | kitchen town
tree | tree/trees | plant burns | forest farm
boat | boat/boats, ship/ships | vehicle floats sinks built | sea
cart | cart/carts, wagon/wagons | vehicle built wooden | farm town
house | house/houses | big built burns | town
barn | barn/barns | big built burns wooden | farm
fence | fence/fences | big built burns wooden | farm
bridge | bridge/bridges | big built | town
tower | tower/towers | big built | town
star | star/stars | sky light | sea forest
field | field/fields | place | farm
kitchen | kitchen/kitchens | place | kitchen
school | school/schools | place | school
harbor | harbor/harbors | place | sea
forest | forest/forests | place | forest
market | market/markets | place | town
"""

# verb table: key | 3sg/plural/participle forms (synonyms comma separated) | subject features | object
# features (- = intransitive) | kind (plain, script)
_VERBS = """
sleep | sleeps/sleep/slept | animate | - | plain
run | runs/run/run | animate | - | plain
hide | hides/hide/hidden | animate | - | plain
wait | waits/wait/waited | animate | - | plain
rest | rests/rest/rested | animate | - | plain
laugh | laughs/laugh/laughed | human | - | plain
smile | smiles/smile/smiled | human | - | plain
think | thinks/think/thought | human | - | plain
sing | sings/sing/sung | human | - | plain
speak | speaks/speak/spoken | human | - | plain
work | works/work/worked | human | - | plain
cry | cries/cry/cried | human | - | plain
shout | shouts/shout/shouted | human | - | plain
fall | falls/fall/fallen | food fragile text object | - | plain
roll | rolls/roll/rolled | round | - | plain
shine | shines/shine/shone | light | - | plain
float | floats/float/floated | floats | - | plain
sink | sinks/sink/sunk | sinks | - | plain
shatter | shatters/shatter/shattered | fragile | - | plain
burn | burns/burn/burnt | burns | - | plain
rust | rusts/rust/rusted | metal | - | plain
rot | rots/rot/rotted | food | - | plain
eat | eats/eat/eaten | animate | food | plain
cook | cooks/cook/cooked | human | food | plain
bake | bakes/bake/baked | human | food | plain
chase | chases/chase/chased, pursues/pursue/pursued | animate | animate | plain
see | sees/see/seen, notices/notice/noticed | animate | animate food fragile text object plant vehicle big sky | plain
watch | watches/watch/watched | animate | animate vehicle big sky plant | plain
carry | carries/carry/carried | animate | food fragile text object | plain
drop | drops/drop/dropped | human | food fragile text object | plain
lift | lifts/lift/lifted | human | food fragile text object | plain
break | breaks/break/broken | human | fragile | plain
read | reads/read/read | human | text | plain
write | writes/write/written | human | text | plain
feed | feeds/feed/fed | human | animal | plain
love | loves/love/loved | animate | animate | plain
like | likes/like/liked | animate | animate food | plain
fear | fears/fear/feared | animate | animate | plain
wash | washes/wash/washed, cleans/clean/cleaned | human | fragile object animal vehicle | plain
fix | fixes/fix/fixed, repairs/repair/repaired | human | object vehicle big | plain
find | finds/find/found | animate | food fragile text object animal | plain
paint | paints/paint/painted | human | fragile object vehicle big | plain
build | builds/build/built | human | built | plain
catch | catches/catch/caught | animate | animal toy | plain
milk | milks/milk/milked | human | milkable | plain
sell | sells/sell/sold | human | food fragile text object animal | plain
buy | buys/buy/bought | human | food fragile text object animal | plain
wake | wakes/wake/woken | human | - | script
go | goes/go/gone | human | - | script
come | comes/come/come | human | - | script
leave | leaves/leave/left | human | - | script
"""

# adjective table: key | forms (synonyms) | applies to features | valence (+1, -1, 0) | use (pre: before a noun,
# pred: after is/are, both)
_ADJECTIVES = """
big | big, large | animal food fragile object vehicle big plant | 0 | both
small | small, little | animal food fragile object vehicle big plant | 0 | both
red | red | food fragile object vehicle big | 0 | both
brown | brown | animal object vehicle big plant | 0 | both
white | white | animal fragile object vehicle big | 0 | both
hungry | hungry | animate | 0 | both
tired | tired | animate | 0 | both
young | young | animate | 0 | both
bright | bright | light sky | 0 | both
empty | empty | container | 0 | both
wooden | wooden | wooden | 0 | both
happy | happy, glad | animate | 1 | both
cheerful | cheerful | animate | 1 | both
proud | proud | animate | 1 | both
calm | calm | animate | 1 | both
friendly | friendly | animate | 1 | both
sad | sad | animate | -1 | both
angry | angry | animate | -1 | both
upset | upset | animate | -1 | both
lonely | lonely | animate | -1 | both
afraid | afraid | animate | -1 | pred
fresh | fresh | food | 1 | both
sweet | sweet | food | 1 | both
tasty | tasty, delicious | food | 1 | both
warm | warm | food | 1 | both
stale | stale | food | -1 | both
rotten | rotten | food | -1 | both
bitter | bitter | food | -1 | both
sour | sour | food | -1 | both
shiny | shiny | fragile object vehicle | 1 | both
new | new | fragile text object vehicle big | 1 | both
lovely | lovely | fragile text object vehicle big plant | 1 | both
pretty | pretty | fragile object vehicle big plant | 1 | both
dirty | dirty | fragile object vehicle big | -1 | both
ugly | ugly | fragile object vehicle big plant | -1 | both
dusty | dusty | fragile text object vehicle big | -1 | both
cracked | cracked | fragile vehicle big | -1 | both
rusty | rusty | metal | -1 | both
good | good | animate food fragile text object vehicle big plant | 1 | both
nice | nice | animate food fragile text object vehicle big plant | 1 | both
bad | bad | animate food fragile text object vehicle big plant | -1 | both
awful | awful | animate food fragile text object vehicle big plant | -1 | both
"""

# verbs that carry the document's mood, like evaluative adjectives do
VERB_VALENCE = {"laugh": 1, "smile": 1, "sing": 1, "cry": -1, "shout": -1}
PREPOSITIONS = ("near", "behind", "beside", "under")
CONNECTORS = ("then", "later", "after that", "finally")
# Evaluative adjectives are coordinated only with one of the same polarity ("fresh and sweet", never "fresh
# and rotten"), as in English: a local cue from which a short pretraining run learns polarity.
COORDINATION_RATE = 0.4
FUNCTION_WORDS = frozenset(
    {"the", "that", "by", "is", "are", "not", "because", "to", "home", "up", "bed", "back", "and"}
    | set(PREPOSITIONS)
    | {w for c in CONNECTORS for w in c.split()}
)
# complements of script verbs: "{place}" stands for "the <place noun>"
_SCRIPT_COMPLEMENTS = {
    "wake": ("up",),
    "go": ("home", "to bed", "to {place}"),
    "come": ("home", "back"),
    "leave": ("home",),
}
_TOPIC_PLACE = {
    "farm": "field",
    "kitchen": "kitchen",
    "school": "school",
    "sea": "harbor",
    "forest": "forest",
    "town": "market",
}
# topic-specific work in the daily script: (verb key, object feature or noun keys)
_TOPIC_WORK = {
    "farm": (("feed", ("horse", "cow", "goat", "pig", "hen", "goose")), ("milk", ("cow", "goat"))),
    "kitchen": (
        ("bake", ("cake", "pie", "cookie", "loaf")),
        ("wash", ("cup", "glass", "plate", "bowl", "jar")),
    ),
    "school": (("read", ("book", "note", "poem", "story")), ("write", ("letter", "note", "poem", "story"))),
    "sea": (("fix", ("net", "boat", "rope")), ("catch", ("crab", "seal", "gull"))),
    "forest": (("find", ("berry", "nut", "plum")), ("watch", ("fox", "wolf", "bear", "owl", "rabbit"))),
    "town": (("sell", ("pear", "plum", "pie", "hat", "vase")), ("buy", ("letter", "key", "candle", "lamp"))),
}


@dataclass(frozen=True)
class Noun:
    """A noun concept: synonym forms ``(singular, plural)``, semantic features, topics (empty: every topic)."""

    key: str
    forms: tuple[tuple[str, str], ...]
    feats: frozenset[str]
    topics: frozenset[str]

    @property
    def animate(self) -> bool:
        return "animate" in self.feats


@dataclass(frozen=True)
class Verb:
    """A verb concept: synonym forms ``(3sg, plural, participle)``; subject / object feature restrictions."""

    key: str
    forms: tuple[tuple[str, str, str], ...]
    subj: frozenset[str]
    obj: frozenset[str] | None
    kind: str

    def takes_subject(self, noun: Noun) -> bool:
        return bool(self.subj & noun.feats)

    def takes_object(self, noun: Noun) -> bool:
        return self.obj is not None and bool(self.obj & noun.feats)


@dataclass(frozen=True)
class Adjective:
    """An adjective concept: synonym forms, the noun features it applies to, valence (-1, 0, +1)."""

    key: str
    forms: tuple[str, ...]
    applies: frozenset[str]
    valence: int
    prenominal: bool

    def fits(self, noun: Noun) -> bool:
        return bool(self.applies & noun.feats)


_FEATURE_EXPANSION = {
    "human": {"animate", "human"},
    "animal": {"animate", "animal"},
    "food": {"food", "inanimate", "portable"},
    "fragile": {"fragile", "inanimate", "portable"},
    "text": {"text", "inanimate", "portable"},
    "object": {"object", "inanimate", "portable"},
    "vehicle": {"vehicle", "inanimate"},
    "big": {"big", "inanimate"},
    "plant": {"plant", "inanimate"},
    "sky": {"sky", "inanimate"},
    "place": {"place", "inanimate"},
}


def _rows(table: str) -> Iterator[list[str]]:
    for line in table.strip().splitlines():
        yield [c.strip() for c in line.split("|")]


def _parse_lexicon() -> tuple[dict[str, Noun], dict[str, Verb], dict[str, Adjective]]:
    nouns: dict[str, Noun] = {}
    for key, forms, feats, topics in _rows(_NOUNS):
        pairs = tuple(tuple(f.strip().split("/")) for f in forms.split(","))
        fs: set[str] = set()
        for f in feats.split():
            fs |= _FEATURE_EXPANSION.get(f, {f})
        tops = frozenset() if topics == "*" else frozenset(topics.split())
        nouns[key] = Noun(key, pairs, frozenset(fs), tops)  # type: ignore[arg-type]
    verbs: dict[str, Verb] = {}
    for key, forms, subj, obj, kind in _rows(_VERBS):
        triples = tuple(tuple(f.strip().split("/")) for f in forms.split(","))
        verbs[key] = Verb(
            key, triples, frozenset(subj.split()), None if obj == "-" else frozenset(obj.split()), kind
        )  # type: ignore[arg-type]
    adjs: dict[str, Adjective] = {}
    for key, forms, applies, valence, use in _rows(_ADJECTIVES):
        adjs[key] = Adjective(
            key,
            tuple(f.strip() for f in forms.split(",")),
            frozenset(applies.split()),
            int(valence),
            use == "both",
        )
    return nouns, verbs, adjs


NOUNS, VERBS, ADJECTIVES = _parse_lexicon()


@dataclass
class _Index:
    """Word-form lookups (for the analyser) and per-noun candidate lists (for fast generation)."""

    noun_form: dict[str, tuple[Noun, str]] = field(default_factory=dict)  # form -> (noun, "sg"/"pl")
    verb_form: dict[str, tuple[Verb, str]] = field(default_factory=dict)  # 3sg/plural -> (verb, "sg"/"pl")
    participle: dict[str, Verb] = field(default_factory=dict)
    adj_form: dict[str, Adjective] = field(default_factory=dict)
    intrans: dict[str, list[Verb]] = field(default_factory=dict)
    trans: dict[str, list[Verb]] = field(default_factory=dict)
    pred_adjs: dict[str, list[Adjective]] = field(default_factory=dict)
    pre_adjs: dict[str, list[Adjective]] = field(default_factory=dict)
    topic_nouns: dict[str, list[Noun]] = field(default_factory=dict)


def _build_index() -> _Index:
    ix = _Index()
    seen: dict[str, str] = {}

    def claim(word: str, what: str) -> None:
        if word in seen and seen[word] != what:
            raise AssertionError(f"synthetic lexicon: {word!r} is both {seen[word]} and {what}")
        seen[word] = what

    for w in FUNCTION_WORDS:
        claim(w, "function")
    for n in NOUNS.values():
        for sg, pl in n.forms:
            claim(sg, f"noun {n.key}")
            claim(pl, f"noun {n.key}")
            ix.noun_form[sg] = (n, "sg")
            ix.noun_form[pl] = (n, "pl")
    for v in VERBS.values():
        for s3, pl, part in v.forms:
            claim(s3, f"verb {v.key}")
            claim(pl, f"verb {v.key}")
            ix.verb_form[s3] = (v, "sg")
            ix.verb_form[pl] = (v, "pl")
            if v.obj is not None:
                claim(part, f"verb {v.key}")
                ix.participle[part] = v
    for a in ADJECTIVES.values():
        for f in a.forms:
            claim(f, f"adjective {a.key}")
            ix.adj_form[f] = a
    subjects = [n for n in NOUNS.values() if "place" not in n.feats]
    for n in subjects:
        ix.intrans[n.key] = [
            v for v in VERBS.values() if v.obj is None and v.kind == "plain" and v.takes_subject(n)
        ]
        ix.trans[n.key] = [v for v in VERBS.values() if v.obj is not None and v.takes_subject(n)]
        ix.pred_adjs[n.key] = [a for a in ADJECTIVES.values() if a.fits(n)]
        ix.pre_adjs[n.key] = [a for a in ADJECTIVES.values() if a.fits(n) and a.prenominal]
    for t in TOPICS:
        ix.topic_nouns[t] = [n for n in subjects if not n.topics or t in n.topics]
    return ix


INDEX = _build_index()
_SUBJECT_NOUNS = [n for n in NOUNS.values() if "place" not in n.feats]


def _split_heldout(items: Sequence, key) -> tuple[set[str], set[str]]:
    """Deterministic half/half split within each class (``key``): every other item is held out."""
    groups: dict[object, list] = {}
    for it in items:
        groups.setdefault(key(it), []).append(it)
    seen, held = set(), set()
    for members in groups.values():
        for i, it in enumerate(sorted(members, key=lambda x: x.key)):
            (held if i % 2 else seen).add(it.key)
    return seen, held


def _noun_class(n: Noun) -> str:
    for c in ("human", "animal", "food", "fragile", "text", "object", "vehicle", "big", "plant", "sky"):
        if c in n.feats:
            return c
    return "other"


SEEN_NOUNS, HELDOUT_NOUNS = _split_heldout(_SUBJECT_NOUNS, _noun_class)


def _adjective_class(a: Adjective) -> tuple[int, str]:
    if a.applies <= {"animate"}:
        return a.valence, "animate"
    if a.applies <= {"food"}:
        return a.valence, "food"
    return a.valence, "thing" if "animate" not in a.applies else "any"


_VALENCED = [a for a in ADJECTIVES.values() if a.valence and a.key not in ("good", "bad")]
SEEN_ADJS, HELDOUT_ADJS = _split_heldout(_VALENCED, _adjective_class)
SEEN_ADJS |= {"good", "bad"}  # the most common evaluations stay out of the held-out half


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


def _other(number: str) -> str:
    return "pl" if number == "sg" else "sg"


def _sentence(words: list[str]) -> str:
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
        return _sentence(words)


# ---------------------------------------------------------------------------------------------- generator
class _Retry(Exception):
    """A random draw had no valid candidate; the caller draws again."""


class _Gen:
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
                n = rng.choice(self.pool) if rng.random() < 0.9 else rng.choice(_SUBJECT_NOUNS)
                if pred is None or pred(n):
                    return n
        cands = [n for n in self.pool if pred is None or pred(n)]
        if not cands and not self.strict:
            cands = [n for n in _SUBJECT_NOUNS if pred(n)]
        if not cands:
            raise _Retry
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
            raise _Retry
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
            raise _Retry
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
            raise _Retry
        verb = rng.choice(verbs)
        if verb.obj is None:
            return ("src", verb, None)
        try:
            obj = self.np(
                pred=lambda n: verb.takes_object(n) and animacy_ok(n) and n.key != head.key, adj_prob=0.0
            )
        except _Retry:
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


_FRAMES = ("simple", "simple", "simple", "pp", "orc", "orc", "src", "passive")


def _script(topic: str) -> list[tuple[str, str | None]]:
    """The canonical event order of a working day in ``topic``: (verb key, complement or object spec)."""
    work = _TOPIC_WORK[topic]
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
    gen = _Gen(rng, pool, mood)
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
            keys = _TOPIC_WORK[topic][int(spec[-1])][1]
            obj = gen.np(NOUNS[rng.choice(keys)], adj_prob=0.2)
            clause = Clause(hero, ("tr", verb, obj), verb_form=rng.randrange(2))
        else:
            comp = spec.replace("{place}", "the " + _TOPIC_PLACE[topic])
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
            except _Retry:
                frame = rng.choice(_FRAMES)
        sentences.append((rng.uniform(-0.5, len(script) - 0.5), text))
    if rng.random() < 0.8:
        try:
            sentences.append((rng.uniform(0, len(script)), _because(gen)))
        except _Retry:
            pass
    sentences.sort(key=lambda t: t[0])
    return " ".join(s for _, s in sentences)


def _because(gen: _Gen) -> str:
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
    return _sentence([*left, "because", *right])


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
            for c in _SCRIPT_COMPLEMENTS[verb.key]
            for pl in _TOPIC_PLACE.values()
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
    return [n for n in _SUBJECT_NOUNS if n.key in keys], adjs


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
    gen = _Gen(rng, pool, strict=True)
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
            raise _Retry
        return mod

    if kind.startswith("agree"):
        head = gen.np(adj_prob=0.15)
        mod = modifier(head.noun, rng.random() < 0.5)
        clause = Clause(
            head, gen.predicate(head.noun), mod, verb_form=rng.randrange(2), rc_form=rng.randrange(2)
        )
        if not positive and kind == "agree_main":
            clause.pred_number = _other(head.number)
        elif not positive:
            clause.rc_number = _other(mod[1].number if frame == "orc" else head.number)
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
    gen = _Gen(rng, pool, adj_pool=adj_pool, strict=True)
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


def _random_prop(gen: _Gen, swappable: bool = False) -> _Prop:
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


def _replace_arg(gen: _Gen, prop: _Prop, which: str) -> _Prop | None:
    rng = gen.rng
    old = prop.agent if which == "agent" else prop.patient
    other = prop.patient if which == "agent" else prop.agent
    ok = prop.verb.takes_subject if which == "agent" else prop.verb.takes_object
    cands = [
        n
        for n in gen.pool
        if ok(n) and n.key not in (old.noun.key, other.noun.key) and _noun_class(n) == _noun_class(old.noun)
    ]
    if not cands:
        return None
    new = NP(rng.choice(cands), old.number, 0, None)
    return _Prop(new, prop.verb, prop.patient) if which == "agent" else _Prop(prop.agent, prop.verb, new)


def _replace_verb(gen: _Gen, prop: _Prop) -> _Prop | None:
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
    raise _Retry


def _mrpc_example(rng: random.Random, pool: list[Noun], positive: bool) -> tuple[str, str]:
    """A paraphrase pair. The kind of proposition is drawn before the label: for "swap" both arguments
    could be either role (the negative swaps them: the same words, another meaning), for "arg" / "verb" the
    negative replaces an argument / the verb by one of the same class. Positives keep the meaning."""
    gen = _Gen(rng, pool, strict=True)
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
        raise _Retry
    return _render_pair(rng, prop, other)


def _sts_example(rng: random.Random, pool: list[Noun], level: int) -> tuple[str, str, float]:
    """A sentence pair whose meaning overlap is ``level`` (0-5); the score adds a little rater noise."""
    gen = _Gen(rng, pool, strict=True)
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
                target.number = _other(target.number)
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
            ga = _Gen(rng, [n for n in pool if n.topics and topic_a in n.topics] or pool, strict=True)
            gb = _Gen(rng, [n for n in pool if n.topics and topic_b in n.topics] or pool, strict=True)
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
        except _Retry:
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


def _write_tsv(path: Path, header: Sequence[str] | None, rows: Sequence[Sequence], bom: bool = False) -> None:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def _write_task(task: str, out: Path, seed: int, sizes: dict[str, int], heldout: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, size in sizes.items():
        rows = make_task(
            task, "train" if split == "train" else "dev" if split == "dev" else "test", size, seed, heldout
        )
        path = out / f"{split}.tsv"
        test = split == "test"
        if task == "SYN-CoLA":
            if test:
                _write_tsv(path, ("index", "sentence"), [(i, r["sentence"]) for i, r in enumerate(rows)])
            else:
                _write_tsv(
                    path,
                    None,
                    [(r["source"], r["label"], "" if r["label"] else "*", r["sentence"]) for r in rows],
                )
        elif task == "SYN-SST":
            if test:
                _write_tsv(path, ("index", "sentence"), [(i, r["sentence"]) for i, r in enumerate(rows)])
            else:
                _write_tsv(path, ("sentence", "label"), [(r["sentence"], r["label"]) for r in rows])
        elif task == "SYN-MRPC":
            first = "index" if test else "Quality"
            body = [
                (i if test else r["label"], r["id1"], r["id2"], r["sentence1"], r["sentence2"])
                for i, r in enumerate(rows)
            ]
            _write_tsv(path, (first, "#1 ID", "#2 ID", "#1 String", "#2 String"), body, bom=not test)
        else:
            from textssl.glue import STSB_COLUMNS

            header = list(STSB_COLUMNS[:-1])
            body = []
            for i, r in enumerate(rows):
                row = [
                    i,
                    "main-synthetic",
                    "SYN",
                    "2024",
                    f"{i:04d}",
                    "none",
                    "none",
                    r["sentence1"],
                    r["sentence2"],
                ]
                if not test:
                    row.append(f"{r['score']:.3f}")
                body.append(row)
            _write_tsv(path, header + ([] if test else [STSB_COLUMNS[-1]]), body)


TASK_INFO = {
    "SYN-CoLA": {"like": "cola", "labels": [0, 1], "metric": "matthews_correlation", "columns": ["sentence"]},
    "SYN-SST": {"like": "sst2", "labels": [0, 1], "metric": "accuracy", "columns": ["sentence"]},
    "SYN-MRPC": {
        "like": "mrpc",
        "labels": [0, 1],
        "metric": "f1/accuracy",
        "columns": ["#1 String", "#2 String"],
    },
    "SYN-STS": {
        "like": "stsb",
        "labels": None,
        "metric": "pearson/spearman",
        "columns": ["sentence1", "sentence2"],
    },
}


def write_tasks(
    output_dir: str | os.PathLike,
    seed: int = 0,
    train_size: int = 500,
    dev_size: int = 300,
    test_size: int | None = None,
    heldout: float = 0.5,
    tasks: Sequence[str] = TASKS,
) -> dict[str, Path]:
    """Write the synthetic GLUE-style tasks under ``output_dir/<task>/{train,dev,test}.tsv``.

    Layouts follow real GLUE: ``SYN-CoLA`` like CoLA (no header: source, label, ``*`` for unacceptable,
    sentence), ``SYN-SST`` like SST-2 (``sentence\\tlabel``), ``SYN-MRPC`` like MRPC (UTF-8 BOM header
    ``Quality #1 ID #2 ID #1 String #2 String``), ``SYN-STS`` like STS-B (10 columns ending in ``score``).
    ``test.tsv`` files are unlabeled, as in GLUE. Labels are balanced; ``heldout`` is the fraction of
    dev/test examples built from nouns (and adjectives) that the training split never uses. Each task
    directory is written atomically. Returns ``{task: directory}``.
    """
    if train_size < 2 or dev_size < 2:
        raise ConfigError("train_size and dev_size must be at least 2")
    if not 0.0 <= heldout <= 1.0:
        raise ConfigError(f"heldout must be in [0, 1], got {heldout}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {"train": train_size, "dev": dev_size, "test": dev_size if test_size is None else test_size}
    written: dict[str, Path] = {}
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(f"unknown synthetic task {task!r}; choose one of {', '.join(TASKS)}")
        with atomic_dir(out / task) as tmp:
            _write_task(task, tmp, seed, sizes, heldout)
            (tmp / "task.json").write_text(
                json.dumps({"task": task, "seed": seed, "heldout": heldout, **TASK_INFO[task]}, indent=1)
            )
        written[task] = out / task
    return written


def write_corpus(path: str | os.PathLike, num_documents: int, seed: int = 0) -> Path:
    """Write ``num_documents`` documents to a text file, separated by blank lines (``doc_mode="blank_line"``)."""
    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for doc in generate_documents(0, num_documents, seed):
            fh.write(doc)
            fh.write("\n\n")
    return path
