"""Task generators of the evaluation harness: deterministic, well-formed, split-safe samples (no model)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import random
import re
import zlib

import pytest

from contextsieve.errors import ConfigError, DataNotInstalledError
from contextsieve_eval import corpora, tasks
from contextsieve_eval.samples import Sample
from contextsieve_eval.tasks import SUITES, TASKS, build_samples, content_words, shared_content_words

SYNTHETIC = SUITES["synthetic"]
"""The generated tasks (the real suites have their own tests in test_real_benchmarks.py)."""


def count_words(text: str) -> int:
    return len(text.split())


LENGTHS = (600, 2500)
SAMPLES = 4
EXPECTED = {
    "needle": ("needle", False),
    "multikey": ("needle", False),
    "multivalue": ("needle", False),
    "multihop": ("multihop", False),
    "rag": ("rag", False),
    "code": ("code", False),
    "needle-paraphrase": ("needle", True),
    "needle-decoy": ("needle", True),
    "multihop-gap": ("multihop", True),
}


@pytest.fixture(scope="module")
def built() -> dict[tuple[str, int], list[Sample]]:
    return {(name, n): TASKS[name].build(count_words, n, SAMPLES, seed=0) for name in SYNTHETIC for n in LENGTHS}


def proper_names(*texts: str) -> list[str]:
    """Capitalised words (people, places, pets) of the texts: the entity names the probes may share."""
    return [w for text in texts for w in re.findall(r"\b[A-Z][\w-]*", text)]


def test_registry() -> None:
    assert {name: (TASKS[name].family, TASKS[name].hard) for name in SYNTHETIC} == EXPECTED
    assert all(spec.name == name and spec.description for name, spec in TASKS.items())
    assert {spec.suite for spec in TASKS.values()} == {"synthetic", "real", "ruler"}
    assert [n for n, spec in TASKS.items() if not spec.headline] == ["ruler-cwe", "ruler-fwe"]


def test_split_rule_is_crc32() -> None:
    assert corpora.split_of("textwrap") == ("eval" if zlib.crc32(b"textwrap") % 5 == 0 else "train")
    names = [f"doc-{i}" for i in range(2000)]
    share = sum(corpora.split_of(n) == "eval" for n in names) / len(names)
    assert 0.17 < share < 0.23
    for article in corpora.wiki_articles("eval")[:200]:
        assert zlib.crc32(article.title.encode()) % 5 == 0
    for article in corpora.wiki_articles("train")[:200]:
        assert zlib.crc32(article.title.encode()) % 5 != 0
    assert {p.topic for p in corpora.prose_paragraphs("eval")} <= {
        t for t in {p.topic for p in corpora.prose_paragraphs("all")} if zlib.crc32(t.encode()) % 5 == 0
    }
    eval_modules = {f.module for f in corpora.stdlib_functions("eval")}
    train_modules = {f.module for f in corpora.stdlib_functions("train")}
    assert eval_modules and train_modules and not eval_modules & train_modules
    assert all(zlib.crc32(m.encode()) % 5 == 0 for m in eval_modules)
    # no text shared across splits
    assert not {a.extract for a in corpora.wiki_articles("eval")} & {a.extract for a in corpora.wiki_articles("train")}
    assert not {p.text for p in corpora.prose_paragraphs("eval")} & {p.text for p in corpora.prose_paragraphs("train")}
    assert not {f.source for f in corpora.stdlib_functions("eval")} & {
        f.source for f in corpora.stdlib_functions("train")
    }
    with pytest.raises(ConfigError, match="unknown split"):
        corpora.wiki_articles("test")


def test_corpora_are_clean() -> None:
    for article in corpora.wiki_articles("eval"):
        assert article.description and len(article.extract.split()) >= 20 and "  " not in article.extract
    for paragraph in corpora.prose_paragraphs("all"):
        assert "\n" not in paragraph.text and "::=" not in paragraph.text
    functions = corpora.stdlib_functions("eval")
    assert len(functions) > 300 and len({f.source for f in functions}) == len(functions)
    for function in functions:
        assert 5 <= len(function.source.split("\n")) <= 60 and function.source.startswith(("def ", "async def "))


def test_sentence_boundaries() -> None:
    text = "Written by Arthur C. Clarke in 1968. It was long, e.g. three hours. Dr. Who? Yes! The U.S. Army agreed."
    assert corpora.split_sentences(text) == [
        "Written by Arthur C. Clarke in 1968.",
        "It was long, e.g. three hours.",
        "Dr. Who?",
        "Yes!",
        "The U.S. Army agreed.",
    ]


def test_content_words() -> None:
    assert shared_content_words("The dog guarded the gate.", "Which dogs are guarding it?") == {"dog", "guard"}
    assert content_words("Nadia Okafor's key is here.", names=["Nadia Okafor"]) == {"key"}


@pytest.mark.parametrize("name", SYNTHETIC)
@pytest.mark.parametrize("length", LENGTHS)
def test_samples_are_well_formed(built: dict[tuple[str, int], list[Sample]], name: str, length: int) -> None:
    samples = built[name, length]
    assert len(samples) == SAMPLES
    assert [s.id for s in samples] == [f"{name}-{length}-0-{i}" for i in range(SAMPLES)]
    for sample in samples:
        assert sample.task == name and sample.length == length and sample.hard == TASKS[name].hard
        assert sample.question.endswith(("?", "Give the title of its document."))
        assert [start for start, _ in sample.gold_spans] == sorted(start for start, _ in sample.gold_spans)
        for text, (start, end) in zip(sample.gold, sample.gold_spans, strict=True):
            assert sample.context[start:end] == text
            assert sample.context.count(text) == 1
        assert count_words(sample.context) >= length
        assert count_words(sample.context) < length + _overshoot(name, sample)
        assert sample.answer
        _check_answer(sample)


def _overshoot(name: str, sample: Sample) -> int:
    """Upper bound of the tokens above the requested length: one filler item plus the evidence."""
    if name == "code":
        longest = max(count_words(f.source) for f in corpora.stdlib_functions("eval"))
        return 2 * longest
    if name == "rag":
        documents = sample.context.split("\n\n")
        longest = max(count_words(d) for d in documents)
        if len(documents) <= 20:  # the minimum number of documents may exceed the length
            return count_words(sample.context) - sample.length + 1
        return 2 * longest
    longest = max(count_words(p) for p in tasks.filler_paragraphs("eval"))
    return longest + 150  # the planted sentences (facts, decoys) are well under 150 words


def _check_answer(sample: Sample) -> None:
    if sample.task == "rag":
        start = sample.gold_spans[0][0]
        paragraph_start = sample.context.rfind("\n\n", 0, start) + 2 if "\n\n" in sample.context[:start] else 0
        assert sample.context[paragraph_start:start] == f"{sample.answer}: "
        article = next(a for a in corpora.wiki_articles("eval") if a.title == sample.answer)
        assert article.extract.startswith(sample.gold[0])
    elif sample.task == "code":
        assert re.match(rf"(async )?def {re.escape(sample.answer)}\(", sample.gold[0])
    elif sample.task == "multivalue":
        values = sample.answer.split(", ")
        assert len(values) == len(sample.gold) in (3, 4)
        assert all(value in gold for value, gold in zip(values, sample.gold, strict=True))
    else:
        assert sample.answer in sample.gold[-1] or any(sample.answer in g for g in sample.gold)
        # the answer occurs only inside the evidence
        assert sample.context.count(sample.answer) == sum(g.count(sample.answer) for g in sample.gold)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_deterministic_and_seeded(built: dict[tuple[str, int], list[Sample]], name: str) -> None:
    again = TASKS[name].build(count_words, 600, SAMPLES, seed=0)
    assert again == built[name, 600]
    other = TASKS[name].build(count_words, 600, SAMPLES, seed=1)
    assert all(a.context != b.context for a, b in zip(other, again, strict=True))
    assert [s.question for s in other] != [s.question for s in again]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_evidence_depth_varies(name: str) -> None:
    depths = []  # relative position of every gold string
    for seed in (0, 1):
        for sample in TASKS[name].build(count_words, 2500, 6, seed=seed):
            depths += [start / len(sample.context) for start, _ in sample.gold_spans]
    assert min(depths) < 0.25 and max(depths) > 0.75
    assert len({round(d, 3) for d in depths}) >= 10


def test_paraphrase_templates_share_no_content_words() -> None:
    assert len(tasks.PARAPHRASE_TEMPLATES) >= 12
    rng = random.Random(0)
    for template in tasks.PARAPHRASE_TEMPLATES:
        for _ in range(40):
            slots = tasks._draw_slots(rng)
            (fact,), question, answer = template.fill(slots)
            assert not shared_content_words(fact, question, template.names(slots)), (fact, question)
            assert answer in fact


def test_gap_templates_share_no_content_words() -> None:
    rng = random.Random(0)
    for template in tasks.GAP_TEMPLATES:
        for _ in range(40):
            slots = tasks._draw_slots(rng)
            facts, question, answer = template.fill(slots)
            assert 2 <= len(facts) <= 3 and answer in facts[-1]
            for hop in facts[1:]:
                assert not shared_content_words(hop, question, template.names(slots)), (hop, question)
            assert shared_content_words(facts[0], question, template.names(slots))  # hop 1 is found lexically
    for template in tasks.CHAIN_TEMPLATES:
        slots = tasks._draw_slots(rng)
        facts, question, answer = template.fill(slots)
        assert 2 <= len(facts) <= 3 and answer in facts[-1]
        assert all(shared_content_words(hop, question, template.names(slots)) for hop in facts)


def test_hard_probe_samples(built: dict[tuple[str, int], list[Sample]]) -> None:
    for sample in built["needle-paraphrase", 2500] + TASKS["needle-paraphrase"].build(count_words, 300, 24, seed=5):
        (fact,) = sample.gold
        assert not shared_content_words(fact, sample.question, proper_names(fact, sample.question)), sample
    for sample in built["multihop-gap", 2500] + TASKS["multihop-gap"].build(count_words, 300, 24, seed=5):
        asked = [w for w in proper_names(sample.question)[1:]]  # the first word is "Who"/"What"
        later = [hop for hop in sample.gold if not any(name in hop for name in asked)]
        assert len(later) == len(sample.gold) - 1
        for hop in later:
            assert not shared_content_words(hop, sample.question, proper_names(hop, sample.question))


def test_decoys_reuse_the_question_but_do_not_answer(built: dict[tuple[str, int], list[Sample]]) -> None:
    for sample in built["needle-decoy", 2500] + TASKS["needle-decoy"].build(count_words, 300, 16, seed=2):
        match = re.search(r"for the (\S+) (\w+)\?$", sample.question)
        assert match
        surname = match.group(1)
        sentences = [s for p in sample.context.split("\n\n") for s in corpora.split_sentences(p)]
        decoys = [s for s in sentences if surname in s and s not in sample.gold]
        assert 3 <= len(decoys) <= 5, decoys
        for decoy in decoys:
            assert sample.answer not in decoy
            assert len(shared_content_words(decoy, sample.question)) >= 2, decoy


def test_code_bug_is_one_line(built: dict[tuple[str, int], list[Sample]]) -> None:
    originals = {f.source.split("\n")[0]: f for f in corpora.stdlib_functions("eval")}
    for sample in built["code", 600] + built["code", 2500]:
        def_line, bug_line = sample.gold
        block = next(b for b in sample.context.split("\n\n\n") if b.startswith(def_line + "\n"))
        original = originals[def_line]
        assert original.name == sample.answer
        before, after = original.source.split("\n"), block.split("\n")
        assert len(before) == len(after)
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1
        assert changed[0][1].lstrip() == bug_line
        assert "Which function is it?" in sample.question


def test_eval_samples_use_eval_documents_only(built: dict[tuple[str, int], list[Sample]]) -> None:
    train_text = [a.extract for a in corpora.wiki_articles("train")] + [
        p.text for p in corpora.prose_paragraphs("train")
    ]
    eval_filler = set(tasks.filler_paragraphs("eval"))
    for name in ("needle", "multihop-gap", "needle-decoy"):
        for sample in built[name, 2500]:
            assert not any(text in sample.context for text in train_text)
            chunks = sample.context.split("\n\n")
            assert sum(chunk in eval_filler for chunk in chunks) >= 0.6 * len(chunks)
    for sample in built["rag", 2500]:
        for document in sample.context.split("\n\n"):
            title = next(a.title for a in corpora.wiki_articles("eval") if document.startswith(f"{a.title}: "))
            assert corpora.split_of(title) == "eval"
    eval_sources = {f.source for f in corpora.stdlib_functions("eval")}
    for sample in built["code", 2500]:
        blocks = sample.context.split("\n\n\n")
        assert sum(block in eval_sources for block in blocks) == len(blocks) - 1  # all but the buggy one
    train_filler = set(tasks.filler_paragraphs("train"))
    (sample,) = TASKS["needle"].build(count_words, 1500, 1, split="train")
    chunks = sample.context.split("\n\n")
    assert sum(chunk in train_filler for chunk in chunks) >= len(chunks) - 1


def test_build_samples_and_errors() -> None:
    samples = build_samples(["needle", "rag"], count_words, [300, 500], 2, seed=3)
    assert [(s.task, s.length) for s in samples] == [
        (t, n) for t in ("needle", "rag") for n in (300, 500) for _ in range(2)
    ]
    assert len({s.id for s in samples}) == len(samples)
    with pytest.raises(ConfigError, match=r"unknown task.*'nope'.*known tasks: needle, multikey"):
        build_samples(["needle", "nope"], count_words, [300], 1)
    with pytest.raises(ConfigError, match="unknown split"):
        build_samples(["needle"], count_words, [300], 1, split="dev")
    with pytest.raises(ConfigError, match="length"):
        tasks.build_needle(count_words, 0, 1)
    with pytest.raises(ConfigError, match="corpus holds only"):
        tasks.build_code(count_words, 10_000_000, 1)


def test_counts_with_a_real_tokenizer() -> None:
    from contextsieve.testing import train_tokenizer

    tokenizer = train_tokenizer("bpe", 400)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    for name in ("needle", "code", "rag"):
        for sample in TASKS[name].build(count, 1200, 2, seed=0):
            assert count(sample.context) >= 1200


@pytest.fixture
def reload_corpora():
    corpora.clear_caches()
    tasks.clear_caches()
    yield
    corpora.clear_caches()
    tasks.clear_caches()


@pytest.mark.usefixtures("reload_corpora")
def test_missing_wiki_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        return None if name == corpora.WIKI_PACKAGE else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(DataNotInstalledError, match=re.escape(corpora.WIKI_INSTALL)):
        tasks.build_needle(count_words, 300, 1)
    with pytest.raises(DataNotInstalledError):
        build_samples(["rag"], count_words, [300], 1)
