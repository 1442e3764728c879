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

The package: :mod:`~textssl.data.synthetic.lexicon` (words, features, the seen / held-out halves),
:mod:`~textssl.data.synthetic.grammar` (phrases, the generator, the analyser),
:mod:`~textssl.data.synthetic.corpus` (pretraining documents), :mod:`~textssl.data.synthetic.tasks` (task
examples) and :mod:`~textssl.data.synthetic.writers` (files on disk).
"""

from textssl.data.synthetic.corpus import generate_corpus, generate_documents
from textssl.data.synthetic.grammar import NP, Clause, PhraseGenerator, analyze
from textssl.data.synthetic.lexicon import (
    ADJECTIVES,
    CONNECTORS,
    FUNCTION_WORDS,
    HELDOUT_ADJS,
    HELDOUT_NOUNS,
    INDEX,
    NOUNS,
    PREPOSITIONS,
    SEEN_ADJS,
    SEEN_NOUNS,
    SUBJECT_NOUNS,
    SYNTHETIC_VERSION,
    TOPICS,
    VERB_VALENCE,
    VERBS,
    Adjective,
    Noun,
    Verb,
)
from textssl.data.synthetic.tasks import (
    COLA_FRAMES,
    COLA_KINDS,
    MRPC_KINDS,
    SST_FRAMES,
    TASKS,
    make_task,
)
from textssl.data.synthetic.writers import write_corpus, write_tasks

__all__ = [
    "ADJECTIVES",
    "COLA_FRAMES",
    "COLA_KINDS",
    "CONNECTORS",
    "FUNCTION_WORDS",
    "HELDOUT_ADJS",
    "HELDOUT_NOUNS",
    "INDEX",
    "MRPC_KINDS",
    "NOUNS",
    "NP",
    "PREPOSITIONS",
    "SEEN_ADJS",
    "SEEN_NOUNS",
    "SST_FRAMES",
    "SUBJECT_NOUNS",
    "SYNTHETIC_VERSION",
    "TASKS",
    "TOPICS",
    "VERBS",
    "VERB_VALENCE",
    "Adjective",
    "Clause",
    "Noun",
    "PhraseGenerator",
    "Verb",
    "analyze",
    "generate_corpus",
    "generate_documents",
    "make_task",
    "write_corpus",
    "write_tasks",
]
