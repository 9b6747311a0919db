"""Deterministic long-context evaluation tasks built from real offline text.

Every task has the same signature (see :class:`BuildFn`) and returns :class:`~contextsieve_eval.samples.Sample`
objects whose context is at least ``length`` tokens as counted by the given ``count_tokens``:

* ``needle``, ``multikey``, ``multivalue``, ``multihop`` and the hard probes plant invented facts at sentence or
  paragraph boundaries of a haystack of whole paragraphs (eval-split Wikipedia summaries mixed with Python
  documentation prose, see :mod:`contextsieve_eval.corpora`) joined by blank lines;
* ``rag`` lists Wikipedia summaries as retrieved documents (``"Title: extract"`` paragraphs) and asks which one
  matches a short description;
* ``code`` concatenates real standard-library functions, one of them with a one-line injected bug.

Samples depend only on the arguments: the random draws of sample ``i`` are seeded with the task name, length,
seed and ``i`` (string seeds hash with SHA-512, so they are stable across processes and Python versions).
Filler paragraphs never contain the planted entities or answers, every gold string occurs exactly once in its
context, and ``gold_spans`` come from the exact insertion offsets. Gold strings are listed in document order.
"""

from __future__ import annotations

import ast
import functools
import random
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from contextsieve.errors import ConfigError
from contextsieve_eval import corpora
from contextsieve_eval.samples import CountTokens, Sample

__all__ = [
    "CHAIN_TEMPLATES",
    "DECOY_TEMPLATES",
    "GAP_TEMPLATES",
    "PARAPHRASE_TEMPLATES",
    "STOPWORDS",
    "TASKS",
    "BuildFn",
    "ProbeTemplate",
    "TaskSpec",
    "build_code",
    "build_multihop",
    "build_multihop_gap",
    "build_multikey",
    "build_multivalue",
    "build_needle",
    "build_needle_decoy",
    "build_needle_paraphrase",
    "build_rag",
    "build_samples",
    "clear_caches",
    "content_words",
    "filler_paragraphs",
    "shared_content_words",
]

# --------------------------------------------------------------------------------------------------------------
# Invented entities and values (at least 40 of each entity kind).

_SURNAMES = (
    "Halvorsen", "Lindqvist", "Okafor", "Brennerfeld", "Ravensworth", "Achterberg", "Quillfeather", "Marchetti",
    "Oyelaran", "Kowalczyk", "Szabados", "Nakagawa", "Fairweather", "Castellanos", "Thornbury", "Abernathy",
    "Vukovic", "Eriksdottir", "Okonkwo", "Pemberton", "Weatherby", "Zielinski", "Harcourt", "Ashdown",
    "Blackwood", "Carrow", "Dunmore", "Ellery", "Fenwick", "Hartigan", "Ingleby", "Jessop", "Kilbride",
    "Lockhart", "Merriweather", "Northcott", "Oakhurst", "Penhallow", "Quenby", "Selwyn", "Tregarthen",
    "Umfreville", "Varga", "Whitlock", "Yardley", "Zamora", "Rowland", "Amundsen-Bell", "Mwangi", "Petrakis",
)  # fmt: skip
_FIRST_NAMES = (
    "Nadia", "Tobias", "Ingrid", "Mateo", "Priya", "Oskar", "Leonie", "Rafael", "Yusuf", "Greta", "Anselm",
    "Beatrix", "Cormac", "Dagny", "Emeric", "Fenna", "Gideon", "Hester", "Idris", "Jolanda", "Kasimir", "Linnea",
    "Magnus", "Noor", "Orla", "Piet", "Quentin", "Rosalind", "Soren", "Thea", "Ulrich", "Vesna", "Wendell",
    "Xanthe", "Yara", "Zoltan", "Amara", "Bruno", "Celeste", "Dmitri", "Elodie", "Florian", "Marguerite",
)  # fmt: skip
_PLACE_NAMES = (
    "Larkspur", "Quillmoor", "Ashgrove", "Brackenridge", "Coldharbour", "Dunmarsh", "Elderbrook", "Fallowmere",
    "Hollowell", "Juniper Hollow", "Kestrel Point", "Lowmoor", "Marrowdale", "Nettlefield", "Oxbow Reach",
    "Pennycress", "Quarrington", "Rookwood", "Saltmarsh", "Thistlewood", "Underhill", "Vetchworth", "Willowmere",
    "Yarrowby", "Zephyr Cove", "Amberleigh", "Bramblecombe", "Candlewick", "Drummondale", "Emberfold",
    "Foxhollow", "Gorsemoor", "Heathwick", "Inkwell Bay", "Jasperdale", "Kingsholt", "Lanternfield", "Millbrook",
    "Northwold", "Cendra", "Brightwater", "Corrowmere",
)  # fmt: skip
_PLACE_KINDS = (
    "station", "depot", "lighthouse", "boathouse", "mill", "chapel", "warehouse", "market hall", "pier",
    "signal box", "ferry terminal", "post office", "bus shelter", "train yard", "harbour office",
)  # fmt: skip
_OBJECTS = (
    "vault", "archive", "greenhouse", "observatory", "boathouse", "lighthouse", "chapel", "warehouse", "workshop",
    "gallery", "cellar", "granary", "foundry", "laboratory", "stable", "pavilion", "conservatory", "armoury",
    "bunker", "hangar", "brewery", "distillery", "tannery", "apiary", "aviary", "orchard", "vineyard", "quarry",
    "shipyard", "sawmill", "forge", "studio", "clinic", "museum", "theatre", "bathhouse", "tower", "cottage",
    "lodge", "manor", "villa", "gatehouse", "pumphouse", "icehouse",
)  # fmt: skip
_PET_NAMES = (
    "Biscuit", "Pepperpot", "Marlowe", "Tansy", "Rufus", "Clementine", "Bramble", "Waffles", "Noodle", "Pippin",
    "Saffron", "Bosco", "Truffle", "Dumpling", "Cobbler", "Nutmeg", "Sprocket", "Pickle", "Barnaby", "Crumpet",
    "Fennel", "Gizmo", "Inky", "Jellybean", "Kipper", "Lentil", "Muffin", "Paprika", "Quince", "Rascal", "Sorrel",
    "Tater", "Velvet", "Whiskers", "Yoyo", "Zucchini", "Acorn", "Cinder", "Dottie", "Ember", "Figaro", "Mochi",
)  # fmt: skip
_CODE_FIRST = (
    "onyx", "amber", "cobalt", "violet", "scarlet", "ivory", "jade", "copper", "silver", "golden", "indigo",
    "crimson", "azure", "opal", "ruby", "topaz", "garnet", "saffron", "ochre", "teal", "umber", "pearl", "sable",
    "coral", "bronze", "cedar", "maple", "birch", "willow", "frost", "ember", "storm", "misty", "quiet", "hollow",
    "silent", "rapid", "lunar", "solar", "polar", "velvet", "granite",
)  # fmt: skip
_CODE_SECOND = (
    "falcon", "otter", "heron", "badger", "lynx", "raven", "marten", "osprey", "walrus", "gecko", "ibis", "jackal",
    "kestrel", "lemur", "magpie", "newt", "ocelot", "puffin", "quail", "salmon", "tapir", "viper", "wombat", "yak",
    "zebra", "bison", "crane", "dingo", "egret", "ferret", "gibbon", "hyena", "impala", "koala", "llama", "moose",
    "narwhal", "oriole", "panda", "rook", "stoat", "toucan",
)  # fmt: skip
_ATTRIBUTES = ("access code", "alarm code", "gate code", "door code", "entry code", "security code")
_BACKUP_KINDS = ("backup codes", "emergency codes", "spare passwords", "recovery codes")
_COLOURS = ("blue", "green", "yellow", "crimson", "turquoise", "orange", "violet", "white", "black", "grey")
_FIGURES = ("heron", "hare", "owl", "frog", "tortoise", "fox", "elephant", "swan", "rooster", "pelican")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_INSTRUMENTS = ("bass clarinet", "hurdy-gurdy", "theorbo", "contrabassoon", "glockenspiel", "harmonium", "oboe")
_VENUES = (
    "the old tram depot", "the disused brewery", "the former glassworks", "the covered market hall",
    "the abandoned rope factory", "the riverside boatyard", "the old sugar refinery",
)  # fmt: skip
_FOODS = ("hazelnuts", "shellfish", "sesame seeds", "buckwheat", "kiwi fruit", "strawberries", "celery", "lupin")
_JOBS = (
    "lighthouse keeper", "telegraph operator", "bookbinder", "river pilot", "glassblower", "clockmaker",
    "cartographer", "typesetter",
)  # fmt: skip
_DRAWINGS = ("lighthouse", "paper boat", "crescent moon", "sleeping fox", "teapot", "windmill", "kite")
_DISASTERS = ("rockslide", "flash flood", "gas leak", "mudslide", "lightning strike", "chemical spill")


def _code(rng: random.Random) -> str:
    """Draw a code of the form word-word-4digits, e.g. ``onyx-falcon-5179``."""
    return f"{rng.choice(_CODE_FIRST)}-{rng.choice(_CODE_SECOND)}-{rng.randint(1000, 9999)}"


def _draw_slots(rng: random.Random) -> dict[str, str]:
    """Draw one value for every template slot; people, places and colours are pairwise distinct."""
    surnames = rng.sample(_SURNAMES, 4)
    firsts = rng.sample(_FIRST_NAMES, 3)
    places = rng.sample(_PLACE_NAMES, 3)
    colours = rng.sample(_COLOURS, 2)
    return {
        "S": surnames[0],
        "P": f"{firsts[0]} {surnames[1]}",
        "P2": f"{firsts[1]} {surnames[2]}",
        "P3": f"{firsts[2]} {surnames[3]}",
        "T": places[0],
        "T2": places[1],
        "place": f"{places[2]} {rng.choice(_PLACE_KINDS)}",
        "pet": rng.choice(_PET_NAMES),
        "prof": f"Professor {surnames[0]}",
        "captain": f"Captain {surnames[0]}",
        "isla": f"Isla {places[0]}",
        "code": _code(rng),
        "num": f"{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "color": colours[0],
        "color2": colours[1],
        "figure": rng.choice(_FIGURES),
        "day": rng.choice(_DAYS),
        "time": f"{rng.randint(5, 9)}:{rng.choice(('05', '15', '25', '35', '45', '55'))}",
        "clock": f"{rng.randint(4, 9)}:{rng.choice(('10', '20', '40', '50'))} pm",
        "instrument": rng.choice(_INSTRUMENTS),
        "venue": rng.choice(_VENUES),
        "food": rng.choice(_FOODS),
        "job": rng.choice(_JOBS),
        "price": f"{rng.randint(3, 19)} crowns",
        "drawing": rng.choice(_DRAWINGS),
        "disaster": rng.choice(_DISASTERS),
    }


_ENTITY_SLOTS = frozenset({"S", "P", "P2", "P3", "T", "T2", "place", "pet", "prof", "captain", "isla"})
_FIELD = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class ProbeTemplate:
    """Facts, the question they answer, and the answer, with ``{slot}`` fields filled per sample.

    Attributes:
        facts: Evidence sentences; a paraphrase probe has one, a multi-hop chain one per hop (in chain order).
        question: The question.
        answer: The answer (a combination of slots, always contained in the last fact).

    """

    facts: tuple[str, ...]
    question: str
    answer: str

    def fill(self, slots: dict[str, str]) -> tuple[tuple[str, ...], str, str]:
        """Return ``(facts, question, answer)`` with the slots filled in."""
        return tuple(f.format(**slots) for f in self.facts), self.question.format(**slots), self.answer.format(**slots)

    def names(self, slots: dict[str, str]) -> tuple[str, ...]:
        """Return the entity names (people, places, pets) this template mentions, filled in."""
        fields = {f for text in (*self.facts, self.question) for f in _FIELD.findall(text)}
        return tuple(slots[f] for f in sorted(fields & _ENTITY_SLOTS))


PARAPHRASE_TEMPLATES: tuple[ProbeTemplate, ...] = (
    ProbeTemplate(("The {S} safe combination is {num}.",), "Which number opens the {S} family's strongbox?", "{num}"),
    ProbeTemplate(
        ("{P} keeps a spare key under the {color} ceramic {figure}.",),
        "Where could someone find the extra way into {P}'s home?",
        "under the {color} ceramic {figure}",
    ),
    ProbeTemplate(
        ("The ferry to {isla} departs every {day} at {time}.",),
        "When does the boat serving {isla} set off?",
        "{day} at {time}",
    ),
    ProbeTemplate(
        ("{prof}'s favourite instrument is the {instrument}.",), "What does {prof} most enjoy playing?", "{instrument}"
    ),
    ProbeTemplate(
        ("The password for the {S} observatory network is {code}.",),
        "What secret phrase unlocks the computers at {S}'s stargazing facility?",
        "{code}",
    ),
    ProbeTemplate(
        ("The annual {T} cheese fair was moved to {venue}.",),
        "Where did {T}'s yearly dairy festival relocate?",
        "{venue}",
    ),
    ProbeTemplate(("{P} was born in the coastal town of {T}.",), "Where did {P} come into the world?", "{T}"),
    ProbeTemplate(("{P} is allergic to {food}.",), "Which food makes {P} ill?", "{food}"),
    ProbeTemplate(
        ("The {S} library closes at {clock} on weekdays.",),
        "Until what hour can visitors borrow books at {S}'s lending archive from Monday to Friday?",
        "{clock}",
    ),
    ProbeTemplate(
        ("{P}'s grandmother worked as a {job} for forty years.",),
        "What was the occupation of {P}'s father's mother?",
        "{job}",
    ),
    ProbeTemplate(
        ("The {S} bakery sells its sourdough loaves for {price} each.",),
        "How much does bread from {S}'s pastry shop cost?",
        "{price}",
    ),
    ProbeTemplate(
        ("{P} adopted a three-legged cat called {pet}.",), "What is the name of the pet that {P} took in?", "{pet}"
    ),
    ProbeTemplate(
        ("{P} signs every letter with a small drawing of a {drawing}.",),
        "What little picture does {P} add at the end of correspondence?",
        "{drawing}",
    ),
    ProbeTemplate(
        ("{captain}'s ship is painted {color} and {color2}.",),
        "Which hues cover the vessel commanded by {captain}?",
        "{color} and {color2}",
    ),
    ProbeTemplate(
        ("The {S} tunnel was sealed after a {disaster}.",),
        "What event led to the closing of the underground passage near {S}?",
        "{disaster}",
    ),
)
"""needle-paraphrase: the fact and the question share no content word except the entity's name."""

CHAIN_TEMPLATES: tuple[ProbeTemplate, ...] = (
    ProbeTemplate(
        ("{P}'s spare key is kept at {place}.", "{place} is guarded by a dog named {pet}."),
        "What is the name of the dog guarding the place where {P}'s spare key is kept?",
        "{pet}",
    ),
    ProbeTemplate(
        ("{P} parked the delivery van at {place}.", "The only mechanic at {place} is {P2}."),
        "Who is the only mechanic at the place where {P} parked the delivery van?",
        "{P2}",
    ),
    ProbeTemplate(
        ("{P} mailed the signed contract to {place}.", "{place} is run by a clerk named {P2}."),
        "What is the name of the clerk who runs the place where {P} mailed the signed contract?",
        "{P2}",
    ),
    ProbeTemplate(
        ("{P}'s spare key is kept at {place}.", "The caretaker of {place} is {P2}.", "{P2} owns a parrot named {pet}."),
        "What is the name of the parrot owned by the caretaker of the place where {P}'s spare key is kept?",
        "{pet}",
    ),
    ProbeTemplate(
        ("{P} gave the sealed letter to {P2}.", "{P2} grew up in {T}.", "The mayor of {T} is {P3}."),
        "Who is the mayor of the town where the person {P} gave the sealed letter to grew up?",
        "{P3}",
    ),
)
"""multihop: chains of 2 or 3 facts; each hop shares words with the question."""

GAP_TEMPLATES: tuple[ProbeTemplate, ...] = (
    ProbeTemplate(
        ("{P} left the spare key at {place}.", "{place} is looked after by {pet}, a retired police dog."),
        "Who watches over the spot where {P} left the spare key?",
        "{pet}",
    ),
    ProbeTemplate(
        ("{P} left the delivery van at {place}.", "The only mechanic at {place} is {P2}."),
        "Who fixes engines where {P} left the delivery van?",
        "{P2}",
    ),
    ProbeTemplate(
        ("{P} sent the signed contract to {place}.", "{place} is run by {P2}, who has managed it for decades."),
        "Who is in charge of the destination of {P}'s signed contract?",
        "{P2}",
    ),
    ProbeTemplate(
        ("{P} hid the spare key at {place}.", "{place} is looked after by {P2}.", "{P2} has a parrot called {pet}."),
        "What is the name of the animal belonging to whoever maintains the spot where {P} hid the spare key?",
        "{pet}",
    ),
    ProbeTemplate(
        ("{P} gave the sealed letter to {P2}.", "{P2} was raised in {T}.", "The mayor of {T} is {P3}."),
        "Who governs the hometown of the person {P} gave the sealed letter to?",
        "{P3}",
    ),
)
"""multihop-gap: hops after the first share no content word with the question (only the bridge entity links them)."""

DECOY_TEMPLATES: tuple[str, ...] = (
    "Guards at the {entity} change the {attr} rules every winter, but the {attr} itself is never written down here.",
    "A journalist once asked for the {attr} of the {entity} and was turned away.",
    "The old {attr} for the {entity} was retired years ago and nobody remembers it.",
    "Visitors often ask about the {attr} for the {entity}, but the staff never tell.",
    "The {attr} for the {entity} is changed whenever a key holder leaves.",
    "Nobody outside the family knows the {attr} for the {entity}.",
    "A new {attr} for the {entity} was proposed last spring but never issued.",
    "The {attr} for the {near_miss} is {other_code}.",
)
"""needle-decoy: sentences that reuse the question's words without answering it (the last names a near miss)."""

# --------------------------------------------------------------------------------------------------------------
# Lexical overlap (used to check the hard probes).

STOPWORDS: frozenset[str] = frozenset({
    "a", "an", "the", "of", "to", "in", "at", "on", "for", "by", "with", "from", "into", "onto", "over", "under",
    "after", "before", "about", "up", "out", "off", "is", "are", "was", "were", "be", "been", "being", "am", "do",
    "does", "did", "has", "have", "had", "and", "or", "but", "not", "no", "nor", "so", "if", "then", "than", "that",
    "this", "these", "those", "it", "its", "who", "whom", "whose", "what", "which", "where", "when", "why", "how",
    "there", "here", "some", "any", "all", "each", "every", "can", "could", "would", "should", "will", "shall",
    "may", "might", "must", "own", "their", "his", "her", "him", "she", "he", "they", "them", "one",
})  # fmt: skip
"""Function words ignored when comparing the content words of a question and its evidence."""

_STEM_SUFFIXES = ("ing", "ed", "es", "s", "er", "ly")


def _stem(word: str) -> str:
    """Strip one common English suffix, so that e.g. ``guarded`` and ``guarding`` compare equal."""
    for suffix in _STEM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text``, possessive ``'s`` removed."""
    return re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", text.lower()))


def content_words(text: str, names: Sequence[str] = ()) -> set[str]:
    """Return the stemmed content words of ``text``: lower-cased, minus :data:`STOPWORDS` and the words of ``names``."""
    excluded = {w for name in names for w in _words(name)}
    return {_stem(w) for w in _words(text) if w not in STOPWORDS and w not in excluded}


def shared_content_words(first: str, second: str, names: Sequence[str] = ()) -> set[str]:
    """Return the content words two texts share, ignoring stopwords and the words of the entity ``names``."""
    return content_words(first, names) & content_words(second, names)


# --------------------------------------------------------------------------------------------------------------
# Token counting with a per-counter cache.

_COUNT_CACHES: weakref.WeakKeyDictionary[Callable[[str], int], dict[str, int]] = weakref.WeakKeyDictionary()


class _Counter:
    """Wrap a ``count_tokens`` function with a cache of paragraph counts (shared while the function lives)."""

    def __init__(self, count_tokens: CountTokens) -> None:
        self.raw = count_tokens
        try:
            self.cache = _COUNT_CACHES.setdefault(count_tokens, {})
        except TypeError:  # not weak-referenceable
            self.cache = {}

    def __call__(self, text: str) -> int:
        count = self.cache.get(text)
        if count is None:
            count = self.raw(text)
            self.cache[text] = count
        return count


# --------------------------------------------------------------------------------------------------------------
# Haystack assembly.


@dataclass(frozen=True)
class _Evidence:
    """A sentence to plant at a relative depth in ``[0, 1)``; ``gold`` marks the evidence the question needs."""

    text: str
    depth: float
    gold: bool


@dataclass(frozen=True)
class _Plan:
    """What one haystack sample plants and asks.

    ``exclusive`` strings (answers, codes) may occur in the context only inside gold sentences; ``avoid``
    strings (entity names) must not occur in any filler paragraph. With ``values``, the answer is the values
    joined by ``", "`` in the document order of the gold sentences that hold them.
    """

    question: str
    answer: str
    evidence: tuple[_Evidence, ...]
    avoid: tuple[str, ...]
    exclusive: tuple[str, ...]
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Drawn:
    """A finished draw: context, question, gold strings with their spans, and answer."""

    context: str
    question: str
    gold: list[tuple[str, tuple[int, int]]]
    answer: str
    answers: tuple[str, ...] = ()


def _place(
    paragraphs: Sequence[str], evidence: Sequence[_Evidence], rng: random.Random
) -> tuple[str, list[tuple[int, int]]]:
    """Join ``paragraphs`` with blank lines and plant each evidence sentence at its depth.

    A sentence becomes its own paragraph or goes inside the paragraph at its depth, at the sentence boundary
    nearest to the depth (or at the paragraph's start or end). Returns the text and each sentence's span.
    """
    count = len(paragraphs)
    own: dict[int, list[int]] = {}  # paragraph slot (0..count) -> evidence planted as a paragraph before it
    inline: dict[int, list[tuple[int, int]]] = {}  # paragraph -> (cut offset, evidence index)
    for index, item in enumerate(evidence):
        position = item.depth * count
        if rng.random() < 0.5:
            own.setdefault(min(round(position), count), []).append(index)
            continue
        which = min(int(position), count - 1)
        paragraph = paragraphs[which]
        target = (position - which) * len(paragraph)
        cuts = [0, *corpora.sentence_starts(paragraph), len(paragraph)]
        inline.setdefault(which, []).append((min(cuts, key=lambda c: abs(c - target)), index))

    blocks: list[list[tuple[str, int]]] = []  # pieces (text, evidence index or -1) of each output paragraph
    for slot in range(count + 1):
        for index in sorted(own.get(slot, []), key=lambda k: (evidence[k].depth, k)):
            blocks.append([(evidence[index].text, index)])
        if slot == count:
            break
        paragraph = paragraphs[slot]
        pieces: list[tuple[str, int]] = []
        done = 0
        for cut, index in sorted(inline.get(slot, [])):
            if cut > done:
                pieces.append((paragraph[done:cut], -1))
                done = cut
            if cut == len(paragraph):
                pieces += [(" ", -1), (evidence[index].text, index)]
            else:
                pieces += [(evidence[index].text, index), (" ", -1)]
        if done < len(paragraph):
            pieces.append((paragraph[done:], -1))
        blocks.append(pieces)
    return _join(blocks, "\n\n", len(evidence))


def _join(
    blocks: Sequence[Sequence[tuple[str, int]]], separator: str, evidence: int
) -> tuple[str, list[tuple[int, int]]]:
    """Concatenate pieces (blocks joined by ``separator``) and return the text and each evidence piece's span."""
    parts: list[str] = []
    spans = [(-1, -1)] * evidence
    offset = 0
    for number, block in enumerate(blocks):
        if number:
            parts.append(separator)
            offset += len(separator)
        for text, index in block:
            if index >= 0:
                spans[index] = (offset, offset + len(text))
            parts.append(text)
            offset += len(text)
    return "".join(parts), spans


@functools.lru_cache(maxsize=4)
def filler_paragraphs(split: str = "eval") -> tuple[str, ...]:
    """Return the haystack filler of ``split``: Wikipedia extracts followed by Python documentation paragraphs.

    Samples draw from this pool in a shuffled order; every paragraph of an eval-split haystack comes from it.
    """
    return tuple(a.extract for a in corpora.wiki_articles(split)) + tuple(
        p.text for p in corpora.prose_paragraphs(split)
    )


def _exhausted(task: str, split: str, length: int, total: int) -> ConfigError:
    """Build the error raised when a split's corpus is too small for the requested length."""
    return ConfigError(
        f"{task}: the {split!r} corpus holds only about {total} tokens, fewer than the requested length {length}"
    )


def _draw_filler(
    order: Iterator[int],
    pool: Sequence[str],
    avoid: Sequence[str],
    counter: _Counter,
    needed: int,
    chosen: list[str],
    seam: int,
) -> int:
    """Append paragraphs of ``pool`` (in ``order``, skipping those containing ``avoid``) until ``needed`` tokens.

    Each paragraph costs its own tokens plus ``seam`` (the separator's tokens). Returns how many tokens short of
    ``needed`` the pool ran out (0 when it sufficed).
    """
    total = 0
    for index in order:
        if total >= needed and chosen:
            return 0
        paragraph = pool[index]
        if any(term in paragraph for term in avoid):
            continue
        chosen.append(paragraph)
        total += counter(paragraph) + seam
    return max(needed - total, 0) if chosen else max(needed, 1)


def _haystack(
    task: str, split: str, counter: _Counter, length: int, plan: _Plan, rng: random.Random
) -> tuple[str, list[tuple[int, int]]]:
    """Plant the plan's evidence in whole filler paragraphs until the context reaches ``length`` tokens."""
    pool = filler_paragraphs(split)
    shuffled = list(range(len(pool)))
    rng.shuffle(shuffled)
    order = iter(shuffled)
    placement_seed = rng.getrandbits(64)
    chosen: list[str] = []
    needed = length - sum(counter(item.text) for item in plan.evidence)
    while True:
        if _draw_filler(order, pool, plan.avoid, counter, needed, chosen, counter("\n\n")):
            raise _exhausted(task, split, length, sum(counter(p) for p in chosen))
        context, spans = _place(chosen, plan.evidence, random.Random(placement_seed))
        # Joining can merge or split tokens at the seams: measure the whole context once and top up if short.
        missing = length - counter.raw(context)
        if missing <= 0:
            return context, spans
        needed = missing


# --------------------------------------------------------------------------------------------------------------
# The sample loop shared by every task.

_MAX_ATTEMPTS = 30
_GOLDEN = 0.6180339887498949


def _check_args(length: int, samples: int, split: str) -> None:
    """Validate the common arguments of the build functions."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        msg = f"length must be a positive number of tokens, got {length!r}"
        raise ConfigError(msg)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        msg = f"samples must be a non-negative integer, got {samples!r}"
        raise ConfigError(msg)
    corpora.check_split(split)


def _depth(task: str, seed: int, index: int) -> float:
    """Depth in ``[0, 1)`` of sample ``index``: a golden-ratio sequence with a seed-dependent start (well spread)."""
    start = random.Random(f"{task}|{seed}|depth").random()
    return (start + index * _GOLDEN) % 1.0


def _run(
    task: str,
    hard: bool,
    count_tokens: CountTokens,
    length: int,
    samples: int,
    seed: int,
    split: str,
    draw: Callable[[random.Random, _Counter, float], _Drawn | None],
) -> list[Sample]:
    """Draw ``samples`` samples, re-drawing any whose gold strings are not unique in the context."""
    _check_args(length, samples, split)
    counter = count_tokens if isinstance(count_tokens, _Counter) else _Counter(count_tokens)
    out = []
    for index in range(samples):
        depth = _depth(task, seed, index)
        for attempt in range(_MAX_ATTEMPTS):
            drawn = draw(random.Random(f"{task}|{length}|{seed}|{index}|{attempt}"), counter, depth)
            if drawn is not None and all(drawn.context.count(text) == 1 for text, _ in drawn.gold):
                break
        else:
            msg = f"{task}: could not draw sample {index} with unique gold evidence in {_MAX_ATTEMPTS} attempts"
            raise ConfigError(msg)
        gold = sorted(drawn.gold, key=lambda item: item[1])
        out.append(
            Sample(
                task=task,
                id=f"{task}-{length}-{seed}-{index}",
                context=drawn.context,
                question=drawn.question,
                gold=tuple(text for text, _ in gold),
                gold_spans=tuple(span for _, span in gold),
                answer=drawn.answer,
                hard=hard,
                length=length,
                answers=drawn.answers,
            )
        )
    return out


def _haystack_draw(
    task: str, split: str, length: int, plan_of: Callable[[random.Random, float], _Plan]
) -> Callable[[random.Random, _Counter, float], _Drawn | None]:
    """Turn a plan maker into a draw function that builds the haystack and checks the answers' exclusivity."""

    def draw(rng: random.Random, counter: _Counter, depth: float) -> _Drawn | None:
        plan = plan_of(rng, depth)
        context, spans = _haystack(task, split, counter, length, plan, rng)
        gold = [(item.text, span) for item, span in zip(plan.evidence, spans, strict=True) if item.gold]
        gold_text = " ".join(text for text, _ in gold)
        if any(context.count(term) != gold_text.count(term) for term in plan.exclusive):
            return None
        if not plan.values:
            return _Drawn(context, plan.question, gold, plan.answer)
        ordered = sorted(gold, key=lambda item: item[1])
        values = tuple(next(v for v in plan.values if v in text) for text, _ in ordered)
        return _Drawn(context, plan.question, gold, ", ".join(values), values)

    return draw


def _spread(depth: float, count: int, rng: random.Random) -> list[float]:
    """Return ``count`` depths spread around the unit circle from ``depth``, in shuffled order."""
    depths = [(depth + (j + 0.8 * rng.random()) / count) % 1.0 for j in range(count)]
    rng.shuffle(depths)
    return depths


# --------------------------------------------------------------------------------------------------------------
# Needle family.


def _plan_needle(rng: random.Random, depth: float) -> _Plan:
    """Plan one fact ``The <attr> for the <Surname> <object> is <code>.``."""
    attr, surname, thing, code = rng.choice(_ATTRIBUTES), rng.choice(_SURNAMES), rng.choice(_OBJECTS), _code(rng)
    fact = f"The {attr} for the {surname} {thing} is {code}."
    return _Plan(
        question=f"What is the {attr} for the {surname} {thing}?",
        answer=code,
        evidence=(_Evidence(fact, depth, gold=True),),
        avoid=(surname, code),
        exclusive=(code,),
    )


def _plan_multikey(rng: random.Random, depth: float) -> _Plan:
    """Plan four to six facts of the needle's form with different keys; one is asked."""
    count = rng.randint(4, 6)
    attr = rng.choice(_ATTRIBUTES)
    surnames = rng.sample(_SURNAMES, count)
    codes = [_code(rng) for _ in range(count)]
    things = [rng.choice(_OBJECTS) for _ in range(count)]
    evidence = [
        _Evidence(f"The {attr} for the {s} {t} is {c}.", depth if k == 0 else rng.random(), gold=k == 0)
        for k, (s, t, c) in enumerate(zip(surnames, things, codes, strict=True))
    ]
    return _Plan(
        question=f"What is the {attr} for the {surnames[0]} {things[0]}?",
        answer=codes[0],
        evidence=tuple(evidence),
        avoid=(*surnames, *codes),
        exclusive=(codes[0],),
    )


def _plan_multivalue(rng: random.Random, depth: float) -> _Plan:
    """Plan one key with three or four values planted at spread-out depths; all are asked."""
    count = rng.randint(3, 4)
    kind, surname, thing = rng.choice(_BACKUP_KINDS), rng.choice(_SURNAMES), rng.choice(_OBJECTS)
    codes: list[str] = []
    while len(codes) < count:
        code = _code(rng)
        if code not in codes:
            codes.append(code)
    evidence = tuple(
        _Evidence(f"One of the {kind} for the {surname} {thing} is {code}.", d, gold=True)
        for code, d in zip(codes, _spread(depth, count, rng), strict=True)
    )
    return _Plan(
        question=f"What are all the {kind} for the {surname} {thing}?",
        answer="",
        evidence=evidence,
        avoid=(surname, *codes),
        exclusive=tuple(codes),
        values=tuple(codes),
    )


def _plan_paraphrase(rng: random.Random, depth: float) -> _Plan:
    """Plan a hand-written fact and a question that shares no content word with it except the entity's name."""
    template = rng.choice(PARAPHRASE_TEMPLATES)
    slots = _draw_slots(rng)
    facts, question, answer = template.fill(slots)
    return _Plan(
        question=question,
        answer=answer,
        evidence=(_Evidence(facts[0], depth, gold=True),),
        avoid=(*template.names(slots), answer),
        exclusive=(answer,),
    )


def _plan_decoy(rng: random.Random, depth: float) -> _Plan:
    """Plan the needle's fact plus three to five decoys that reuse the question's words without answering it."""
    slots = _draw_slots(rng)
    attr, surname, thing, code = rng.choice(_ATTRIBUTES), slots["S"], rng.choice(_OBJECTS), slots["code"]
    other_code = _code(rng)
    near_miss = f"{surname} {rng.choice([o for o in _OBJECTS if o != thing])}"
    fills = {"entity": f"{surname} {thing}", "attr": attr, "near_miss": near_miss, "other_code": other_code}
    decoys = [t.format(**fills) for t in rng.sample(DECOY_TEMPLATES, rng.randint(3, 5))]
    fact = f"The {attr} for the {surname} {thing} is {code}."
    evidence = [_Evidence(fact, depth, gold=True)]
    evidence += [_Evidence(text, rng.random(), gold=False) for text in decoys]
    return _Plan(
        question=f"What is the {attr} for the {surname} {thing}?",
        answer=code,
        evidence=tuple(evidence),
        avoid=(surname, code, other_code),
        exclusive=(code,),
    )


def _plan_chain(templates: Sequence[ProbeTemplate]) -> Callable[[random.Random, float], _Plan]:
    """Plan a multi-hop chain from one of ``templates``, its hops spread through the haystack."""

    def plan(rng: random.Random, depth: float) -> _Plan:
        template = rng.choice(templates)
        slots = _draw_slots(rng)
        facts, question, answer = template.fill(slots)
        depths = _spread(depth, len(facts), rng)
        return _Plan(
            question=question,
            answer=answer,
            evidence=tuple(_Evidence(f, d, gold=True) for f, d in zip(facts, depths, strict=True)),
            avoid=template.names(slots),
            exclusive=(answer,),
        )

    return plan


def build_needle(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``needle`` samples: one fact, e.g. "The access code for the Halvorsen vault is onyx-falcon-5179."."""
    task = "needle"
    return _run(
        task, False, count_tokens, length, samples, seed, split, _haystack_draw(task, split, length, _plan_needle)
    )


def build_multikey(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multikey`` samples: 4–6 facts of the needle's form with different keys; gold is the asked one."""
    task = "multikey"
    return _run(
        task, False, count_tokens, length, samples, seed, split, _haystack_draw(task, split, length, _plan_multikey)
    )


def build_multivalue(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multivalue`` samples: 3–4 values of one key at different depths; the answer lists them all."""
    task = "multivalue"
    return _run(
        task, False, count_tokens, length, samples, seed, split, _haystack_draw(task, split, length, _plan_multivalue)
    )


def build_multihop(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multihop`` samples: a chain of 2 or 3 linked facts; gold is every hop, the answer the last value."""
    task = "multihop"
    draw = _haystack_draw(task, split, length, _plan_chain(CHAIN_TEMPLATES))
    return _run(task, False, count_tokens, length, samples, seed, split, draw)


def build_needle_paraphrase(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``needle-paraphrase`` samples: the question paraphrases the fact (only the entity's name is shared)."""
    task = "needle-paraphrase"
    draw = _haystack_draw(task, split, length, _plan_paraphrase)
    return _run(task, True, count_tokens, length, samples, seed, split, draw)


def build_needle_decoy(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``needle-decoy`` samples: the fact plus 3–5 sentences that reuse the question's words but do not answer."""
    task = "needle-decoy"
    draw = _haystack_draw(task, split, length, _plan_decoy)
    return _run(task, True, count_tokens, length, samples, seed, split, draw)


def build_multihop_gap(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multihop-gap`` samples: later hops share no content word with the question, only the bridge entity."""
    task = "multihop-gap"
    draw = _haystack_draw(task, split, length, _plan_chain(GAP_TEMPLATES))
    return _run(task, True, count_tokens, length, samples, seed, split, draw)


# --------------------------------------------------------------------------------------------------------------
# Retrieval-augmented generation over Wikipedia summaries.

_RAG_MIN_DOCUMENTS = 20
_RAG_SAME_TOPIC = 0.5


@functools.lru_cache(maxsize=1)
def _lowercase_vocabulary() -> frozenset[str]:
    """Words that occur in lower case somewhere in the Wikipedia extracts (so are not proper nouns)."""
    return frozenset(
        w for article in corpora.wiki_articles("all") for w in re.findall(r"\b[a-z][a-z-]*\b", article.extract)
    )


def _describe(description: str) -> str:
    """Lower-case the description's first word unless it is a proper noun ("American", "French")."""
    first, _, rest = description.partition(" ")
    if first[:1].isupper() and first[1:].islower() and first.lower() in _lowercase_vocabulary():
        first = first.lower()
    return f"{first} {rest}".strip()


def _rendered(article: corpora.WikiArticle) -> str:
    """Render an article as a retrieved document."""
    return f"{article.title}: {article.extract}"


@functools.lru_cache(maxsize=4)
def _rag_targets(split: str) -> tuple[tuple[corpora.WikiArticle, str], ...]:
    """Articles usable as targets, with their first sentence.

    The description must have at least 3 words, not contain the title, and be unique within the split.
    """
    articles = corpora.wiki_articles(split)
    descriptions: dict[str, int] = {}
    for article in articles:
        key = article.description.casefold()
        descriptions[key] = descriptions.get(key, 0) + 1
    targets = []
    for article in articles:
        if len(article.description.split()) < 3 or article.title.casefold() in article.description.casefold():
            continue
        if descriptions[article.description.casefold()] != 1:
            continue
        first = corpora.split_sentences(article.extract)[0]
        if len(first.split()) >= 5 and article.extract.startswith(first):
            targets.append((article, first))
    return tuple(targets)


def _rag_draw(split: str, length: int) -> Callable[[random.Random, _Counter, float], _Drawn | None]:
    """Return the draw function of the ``rag`` task."""
    task = "rag"

    def draw(rng: random.Random, counter: _Counter, depth: float) -> _Drawn | None:
        articles = corpora.wiki_articles(split)
        targets = _rag_targets(split)
        if not targets:
            raise _exhausted(task, split, length, 0)
        target, first = rng.choice(targets)
        same = [a for a in articles if a.topic == target.topic and a.title != target.title]
        other = [a for a in articles if a.topic != target.topic]
        rng.shuffle(same)
        rng.shuffle(other)
        picked: list[corpora.WikiArticle] = []
        total = counter(_rendered(target))

        def add(needed_tokens: int, needed_documents: int) -> None:
            nonlocal total
            while total < needed_tokens or len(picked) < needed_documents:
                source = same if same and (not other or rng.random() < _RAG_SAME_TOPIC) else other
                if not source:
                    raise _exhausted(task, split, length, total)
                article = source.pop()
                if first in article.extract:
                    continue
                picked.append(article)
                total += counter(_rendered(article)) + counter("\n\n")

        add(length, _RAG_MIN_DOCUMENTS - 1)
        where = min(round(depth * len(picked)), len(picked))
        while True:
            documents = [*picked[:where], target, *picked[where:]]
            context, spans = _join([[(_rendered(a), 0 if a is target else -1)] for a in documents], "\n\n", 1)
            missing = length - counter.raw(context)
            if missing <= 0:
                break
            add(total + missing, 0)
        start = spans[0][0] + len(target.title) + 2
        subject = _describe(target.description)
        question = f"Which {subject} is described in these documents? Give the title of its document."
        return _Drawn(context, question, [(first, (start, start + len(first)))], target.title)

    return draw


def build_rag(count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval") -> list[Sample]:
    """Build ``rag`` samples: retrieved Wikipedia summaries, one of them described by the question.

    The context lists ``"Title: extract"`` documents, half of the distractors from the target's topic. It holds
    at least 20 documents and as many as ``length`` needs (about 100 at 8k words; more for longer contexts), so
    short lengths give contexts longer than asked. Gold is the target's first sentence, the answer its title.
    """
    return _run("rag", False, count_tokens, length, samples, seed, split, _rag_draw(split, length))


# --------------------------------------------------------------------------------------------------------------
# Code: a file of standard-library functions with one injected bug.

_MUTATIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("comparison", re.compile(r"(?<= )<(?= )"), "<="),
    ("comparison", re.compile(r"(?<= )>(?= )"), ">="),
    ("comparison", re.compile(r"(?<= )<=(?= )"), "<"),
    ("comparison", re.compile(r"(?<= )>=(?= )"), ">"),
    ("comparison", re.compile(r"(?<= )==(?= )"), "!="),
    ("comparison", re.compile(r"(?<= )!=(?= )"), "=="),
    ("off-by-one", re.compile(r"(?<= )\+ 1(?![\w.])"), "- 1"),
    ("off-by-one", re.compile(r"(?<= )- 1(?![\w.])"), "+ 1"),
    ("boolean", re.compile(r"\bTrue\b"), "False"),
    ("boolean", re.compile(r"\bFalse\b"), "True"),
    ("logic", re.compile(r"(?<= )and(?= )"), "or"),
    ("logic", re.compile(r"(?<= )or(?= )"), "and"),
    ("negation", re.compile(r"\bnot "), ""),
)
_SYMPTOMS = {
    "comparison": "a comparison was flipped",
    "off-by-one": "an off-by-one error was introduced",
    "boolean": "a True/False constant was inverted",
    "logic": "an 'and' and an 'or' were swapped",
    "negation": "a negation was dropped",
}


@dataclass(frozen=True)
class _Site:
    """A possible bug: replace ``source[start:end]`` (on line ``line``) with ``replacement``."""

    line: int
    start: int
    end: int
    replacement: str
    kind: str


@functools.lru_cache(maxsize=8192)
def _sites(source: str) -> tuple[_Site, ...]:
    """Places in a function's body where one mutation applies (code lines outside docstrings and strings)."""
    try:
        function = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return ()
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ()
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return ()
    first_line = body[0].lineno  # 1-based
    in_strings: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and (node.end_lineno or node.lineno) > node.lineno:
            in_strings.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    sites = []
    offset = 0
    for number, line in enumerate(source.split("\n"), start=1):
        code = line.strip()
        usable = number >= first_line and number not in in_strings and code and not any(q in line for q in "'\"#@")
        if usable:
            for kind, pattern, replacement in _MUTATIONS:
                for match in pattern.finditer(line):
                    sites.append(_Site(number - 1, offset + match.start(), offset + match.end(), replacement, kind))
        offset += len(line) + 1
    return tuple(sites)


@functools.lru_cache(maxsize=4)
def _code_targets(split: str) -> tuple[int, ...]:
    """Return the indices of the functions that can carry the bug: a mutation site and a unique, non-dunder name."""
    functions = corpora.stdlib_functions(split)
    names: dict[str, int] = {}
    for function in functions:
        names[function.name] = names.get(function.name, 0) + 1
    return tuple(
        k for k, f in enumerate(functions) if names[f.name] == 1 and not f.name.startswith("__") and _sites(f.source)
    )


def _name_words(name: str) -> str:
    """Spell a function name as words: ``_split_header`` → ``split header``, ``getValue`` → ``get value``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    return " ".join(spaced.lower().split())


def _describes(function: corpora.StdlibFunction) -> bool:
    """Tell whether a docstring's first line can describe the function without naming it (3+ words)."""
    return len(function.docstring.split()) >= 3 and function.name not in function.docstring


def _code_draw(split: str, length: int) -> Callable[[random.Random, _Counter, float], _Drawn | None]:
    """Return the draw function of the ``code`` task."""
    task = "code"
    separator = "\n\n\n"

    def draw(rng: random.Random, counter: _Counter, depth: float) -> _Drawn | None:
        functions = corpora.stdlib_functions(split)
        targets = _code_targets(split)
        if not targets:
            raise _exhausted(task, split, length, 0)
        target = functions[rng.choice(targets)]
        site = rng.choice(_sites(target.source))
        buggy = target.source[: site.start] + site.replacement + target.source[site.end :]
        lines = buggy.split("\n")
        def_line = lines[0]
        bug_line = lines[site.line].lstrip()
        if buggy.count(bug_line) != 1:
            return None
        avoid = [def_line, bug_line, f"def {target.name}("]
        if _describes(target):
            avoid.append(target.docstring)
        order = list(range(len(functions)))
        rng.shuffle(order)
        pool = [f.source for f in functions]
        chosen: list[str] = []
        needed = length - counter(buggy)
        iterator = (k for k in order if functions[k] is not target)
        while True:
            if _draw_filler(iterator, pool, avoid, counter, needed, chosen, counter(separator)):
                raise _exhausted(task, split, length, sum(counter(s) for s in chosen))
            where = min(round(depth * len(chosen)), len(chosen))
            blocks = [[(s, -1)] for s in chosen]
            blocks.insert(where, [(buggy, 0)])
            context, spans = _join(blocks, separator, 1)
            missing = length - counter.raw(context)
            if missing <= 0:
                break
            needed = missing
        start = spans[0][0]
        bug_start = start + sum(len(line) + 1 for line in lines[: site.line]) + len(lines[site.line]) - len(bug_line)
        if _describes(target):
            subject = f'The function whose docstring begins "{target.docstring}"'
        else:
            subject = f'A function whose name reads "{_name_words(target.name)}"'
        question = f"{subject} returns wrong results: {_SYMPTOMS[site.kind]}. Which function is it?"
        gold = [(def_line, (start, start + len(def_line))), (bug_line, (bug_start, bug_start + len(bug_line)))]
        return _Drawn(context, question, gold, target.name)

    return draw


def build_code(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``code`` samples: standard-library functions joined by two blank lines, one with a one-line bug.

    The bug is one textual mutation (``<`` → ``<=``, ``==`` → ``!=``, ``+ 1`` → ``- 1``, ``True`` → ``False``,
    ``and`` → ``or``, dropping a ``not``...) on a code line of the function's body. The question describes the
    symptom and the function (by its docstring's first line when that has 3+ words and does not contain the
    name, else by its name's words); gold is the ``def`` line and the mutated line without its indentation; the
    answer is the function's name. Only functions whose name is unique in the split's pool carry the bug.
    """
    return _run("code", False, count_tokens, length, samples, seed, split, _code_draw(split, length))


# --------------------------------------------------------------------------------------------------------------
# Registry.


class BuildFn(Protocol):
    """Signature shared by every task's build function."""

    def __call__(
        self, count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
    ) -> list[Sample]:
        """Build ``samples`` samples of about ``length`` tokens (at least ``length``) from the ``split`` corpus."""
        ...


@dataclass(frozen=True)
class TaskSpec:
    """A registered task.

    Attributes:
        name: Task name, also ``Sample.task``.
        family: ``"needle"``, ``"multihop"``, ``"rag"`` or ``"code"``.
        hard: True for the probes built so that lexical matching fails.
        build: Builds the samples.
        description: One line for reports.

    """

    name: str
    family: str
    hard: bool
    build: BuildFn
    description: str


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("needle", "needle", False, build_needle, "one planted fact, asked directly"),
        TaskSpec("multikey", "needle", False, build_multikey, "4-6 facts of the same form, one asked"),
        TaskSpec("multivalue", "needle", False, build_multivalue, "3-4 values of one key, all asked"),
        TaskSpec("multihop", "multihop", False, build_multihop, "a chain of 2-3 linked facts"),
        TaskSpec("rag", "rag", False, build_rag, "Wikipedia summaries; which one matches a description"),
        TaskSpec("code", "code", False, build_code, "stdlib functions; which one has an injected bug"),
        TaskSpec(
            "needle-paraphrase", "needle", True, build_needle_paraphrase, "fact and question share no content word"
        ),
        TaskSpec("needle-decoy", "needle", True, build_needle_decoy, "the fact among decoys reusing the question"),
        TaskSpec(
            "multihop-gap", "multihop", True, build_multihop_gap, "later hops share no content word with the question"
        ),
    )
}
"""Every task, by name."""


def build_samples(
    task_names: Sequence[str],
    count_tokens: CountTokens,
    lengths: Sequence[int],
    samples: int,
    seed: int = 0,
    split: str = "eval",
) -> list[Sample]:
    """Build ``samples`` samples of every task at every length (tasks outer, lengths inner).

    Raises:
        ConfigError: An unknown task name (the message lists the known ones) or an invalid argument.
        DataNotInstalledError: A task needs the offline Wikipedia summaries and they are not installed.

    """
    unknown = [name for name in task_names if name not in TASKS]
    if unknown:
        msg = f"unknown task(s) {', '.join(map(repr, unknown))}; known tasks: {', '.join(TASKS)}"
        raise ConfigError(msg)
    corpora.check_split(split)
    counter = _Counter(count_tokens)
    out: list[Sample] = []
    for name in task_names:
        for length in lengths:
            out += TASKS[name].build(counter, length, samples, seed=seed, split=split)
    return out


def clear_caches() -> None:
    """Forget the loaded corpora and everything derived from them (for tests that fake a missing corpus)."""
    corpora.clear_caches()
    for cached in (filler_paragraphs, _lowercase_vocabulary, _rag_targets, _code_targets):
        cached.cache_clear()
