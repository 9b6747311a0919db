"""Hand-written fact and question templates: paraphrases, multi-hop chains, lexical-gap chains and decoys."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CHAIN_TEMPLATES", "DECOY_TEMPLATES", "GAP_TEMPLATES", "PARAPHRASE_TEMPLATES", "ProbeTemplate"]

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
