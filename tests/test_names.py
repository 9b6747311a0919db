"""Name links: a rare capitalised name of a best unit leads to the units of other paragraphs that mention it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from contextsieve.config import ScoringConfig
from contextsieve.scoring.names import named_units
from contextsieve.scoring.sentences import SentenceConfig
from tests.test_sentences import WordScorer


@dataclass(frozen=True)
class Unit:
    paragraph: tuple[int, int]
    header: str
    text: str


CHAIN = [
    Unit((0, 0), "", "Leonie Castellanos left the spare key at Marrowdale mill."),
    Unit((0, 90), "", "Marrowdale mill is looked after by Nutmeg, a retired police dog."),
    Unit((0, 200), "", "The Mill on the Floss is a novel by George Eliot."),
    Unit((0, 300), "", "Nutmeg is a spice; Nutmeg trees grow in Grenada."),
    Unit((0, 400), "", "Leonie Castellanos was born in Seville."),
    Unit((0, 400), "", "Marrowdale mill has a sister building in the same paragraph."),
]


def test_a_rare_name_of_the_best_unit_links_other_paragraphs_that_write_it_as_written() -> None:
    # "Marrowdale" (in units 0, 1 and 5) links 1 and 5; "Leonie" and "Castellanos" are asked for, so they link
    # nothing; "mill" is not capitalised, and "Mill" in unit 2 is another word as written.
    assert named_units(CHAIN, [0], "Who watches over where Leonie Castellanos left the key?", max_units=3) == {1, 5}


def test_a_name_in_more_units_than_max_units_is_common_and_links_nothing() -> None:
    assert named_units(CHAIN, [0], "Who watches over where Leonie Castellanos left the key?", max_units=2) == set()


def test_the_reader_s_own_paragraph_is_never_linked() -> None:
    # Unit 5 names Marrowdale, but units 1 and 0 sit in other paragraphs; unit 4, its paragraph mate, stays out.
    assert named_units(CHAIN, [5], "What is the sister building?", max_units=3) == {0, 1}


def test_the_second_round_follows_the_names_of_the_unit_the_first_round_lifted(tokenizer: Any, bert: Any) -> None:
    documents = [
        "Yara Ravensworth hid the spare key at Corrowmere warehouse.",
        "rivers and their long banks run north of the key.",
        "Corrowmere warehouse is looked after by Cormac Amundsen.",
        "mountains and their high peaks stand south.",
        "Cormac Amundsen has a parrot called Whiskers.",
    ]
    query = "Where did Yara Ravensworth hide the spare key?"
    fusion = SentenceConfig(lexical_weight=2.0, hop_weight=0.0, paragraph_weight=0.0, link_weight=0.0, link_units=2)

    def logits(**update: Any) -> list[float]:
        scorer = WordScorer(bert, tokenizer, ScoringConfig(pool_kernel=1), fusion.model_copy(update=update), name="t")
        scores = scorer.score_collection([(scorer.tokenize(text), query) for text in documents])
        return [float(np.log(s.max() / (1.0 - s.max()))) for s in scores]

    plain = np.array(logits(name_weight=0.0))
    # Round 1 reads the key's hop and the runner-up (the river unit, by "the key"; it names nothing): the warehouse,
    # named by "Corrowmere", gains 3.
    one = np.array(logits(name_weight=3.0, name_rounds=1)) - plain
    np.testing.assert_allclose(one, [0.0, 0.0, 3.0, 0.0, 0.0], atol=1e-3)
    # Round 2 reads the warehouse too: its keeper's names lift the parrot, and "Corrowmere" lifts the key's hop.
    two = np.array(logits(name_weight=3.0, name_rounds=2)) - plain
    np.testing.assert_allclose(two, [3.0, 0.0, 3.0, 0.0, 3.0], atol=1e-3)
