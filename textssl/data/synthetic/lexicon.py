"""The synthetic language's lexicon: nouns, verbs and adjectives with forms, features and topics.

The tables below are parsed once at import into :data:`NOUNS`, :data:`VERBS`, :data:`ADJECTIVES` and an
:data:`INDEX` of word-form lookups (for the analyser) and per-noun candidate lists (for fast generation).
:data:`SEEN_NOUNS` / :data:`HELDOUT_NOUNS` (and the adjective halves) split the lexicon for the tasks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

# Bump when anything this package generates changes (it keys the datasets cache of ``synthetic`` sources).
SYNTHETIC_VERSION = "2"
TOPICS = ("farm", "kitchen", "school", "sea", "forest", "town")

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
SCRIPT_COMPLEMENTS = {
    "wake": ("up",),
    "go": ("home", "to bed", "to {place}"),
    "come": ("home", "back"),
    "leave": ("home",),
}
TOPIC_PLACE = {
    "farm": "field",
    "kitchen": "kitchen",
    "school": "school",
    "sea": "harbor",
    "forest": "forest",
    "town": "market",
}
# topic-specific work in the daily script: (verb key, object feature or noun keys)
TOPIC_WORK = {
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
SUBJECT_NOUNS = [n for n in NOUNS.values() if "place" not in n.feats]


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


def noun_class(n: Noun) -> str:
    for c in ("human", "animal", "food", "fragile", "text", "object", "vehicle", "big", "plant", "sky"):
        if c in n.feats:
            return c
    return "other"


SEEN_NOUNS, HELDOUT_NOUNS = _split_heldout(SUBJECT_NOUNS, noun_class)


def _adjective_class(a: Adjective) -> tuple[int, str]:
    if a.applies <= {"animate"}:
        return a.valence, "animate"
    if a.applies <= {"food"}:
        return a.valence, "food"
    return a.valence, "thing" if "animate" not in a.applies else "any"


_VALENCED = [a for a in ADJECTIVES.values() if a.valence and a.key not in ("good", "bad")]
SEEN_ADJS, HELDOUT_ADJS = _split_heldout(_VALENCED, _adjective_class)
SEEN_ADJS |= {"good", "bad"}  # the most common evaluations stay out of the held-out half
