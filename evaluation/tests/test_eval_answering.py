"""End-to-end answering: the target's greedy answers, the correctness check, and the runner's answer records."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import torch
from test_eval_harness import make_sample

from contextsieve.counting import make_counter
from contextsieve.errors import ConfigError
from contextsieve.testing import tiny_draft
from contextsieve_eval.answering import TargetLM, is_correct
from contextsieve_eval.methods import MethodEnv
from contextsieve_eval.report import write_report
from contextsieve_eval.runner import FULL, EvalConfig, run_eval


def test_correct_answers_contain_every_required_string() -> None:
    assert is_correct("The code is Onyx-Falcon-5179.", ["onyx-falcon-5179"])
    assert is_correct("maple-ferret-8434,\nindigo-crane-2952", ["indigo-crane-2952", "maple-ferret-8434"])
    assert not is_correct("maple-ferret-8434 and more", ["maple-ferret-8434", "indigo-crane-2952"])
    assert not is_correct("onyx-con-5179", ["onyx-falcon-5179"])
    assert is_correct("New  York\tCity", ["new york"])
    with pytest.raises(ValueError, match="at least one answer string"):
        is_correct("anything", [])


def test_multivalue_samples_require_every_value() -> None:
    from contextsieve_eval.tasks import build_samples

    counter = make_counter(lambda text: len(text.split()), None)
    (sample,) = build_samples(["multivalue"], counter, [600], 1, seed=2, split="train")
    values = sample.required_answers
    assert len(values) >= 3 and sample.answer == ", ".join(values)
    assert all(any(v in g for g in sample.gold) for v in values)
    (needle,) = build_samples(["needle"], counter, [600], 1, seed=2, split="train")
    assert needle.required_answers == (needle.answer,)


def test_greedy_answer_matches_transformers_generate(draft_tokenizer, tiny_model) -> None:
    target = TargetLM(tiny_model, draft_tokenizer, max_new_tokens=12)
    sample = make_sample(0, 0.5)
    context = sample.context[:1500]
    reply = target.answer(context, sample.question)
    ids = target.prompt_ids(context, sample.question)
    assert reply.prompt_tokens == len(ids) and reply.prefill_seconds > 0
    with torch.inference_mode():
        out = tiny_model.generate(
            torch.tensor([ids]), max_new_tokens=12, do_sample=False, eos_token_id=0, pad_token_id=0
        )
    expected = draft_tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True).strip().split("\n", 1)[0]
    assert reply.text == expected.strip()


def test_chat_template_wraps_the_prompt(draft_tokenizer, tiny_model) -> None:
    tokenizer = copy.deepcopy(draft_tokenizer)
    tokenizer.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    target = TargetLM(tiny_model, tokenizer, max_new_tokens=4)
    ids = target.prompt_ids("Some context.", "What?")
    text = tokenizer.decode(ids)
    assert text.startswith("<user>Some context.\n\n") and text.endswith("Question: What?<assistant>")


def test_prompt_longer_than_the_window_is_refused_and_recorded_as_skipped(draft_tokenizer, tmp_path) -> None:
    short = tiny_draft(len(draft_tokenizer), layers=1, max_positions=256)
    target = TargetLM(short, draft_tokenizer, max_new_tokens=8)
    sample = make_sample(0, 0.5)
    with pytest.raises(ConfigError, match="reads at most 256"):
        target.answer(sample.context, sample.question)
    env = MethodEnv(counter=make_counter(draft_tokenizer, None), _tokenizer=draft_tokenizer)
    config = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.02,), methods=("bm25",), samples=1, answer=True)
    records = run_eval(config, samples=[sample], env=env, progress=False, target=target)
    full, compressed = records
    assert full.method == FULL and "exceeds the target's window" in full.extra["answer_skipped"]
    assert "correct" in compressed.extra and compressed.extra["prompt_tokens"] <= 256 - 8
    report = write_report(records, config, tmp_path, "test")["markdown"].read_text()
    assert "1 prompts were longer than the target's window" in report


def test_runner_answers_full_and_compressed_contexts_and_reports_ttft(
    draft_tokenizer, foreign_tokenizer, tmp_path
) -> None:
    env = MethodEnv(counter=make_counter(foreign_tokenizer, None), _tokenizer=draft_tokenizer)
    samples = [make_sample(0, 0.2), make_sample(1, 0.8)]
    config = EvalConfig(
        tasks=("needle",), lengths=(2000,), rates=(0.05, 0.25), methods=("bm25",), samples=2, answer=True
    )
    target = TargetLM(tiny_draft(len(draft_tokenizer), layers=1, max_positions=16_384), draft_tokenizer)
    records = run_eval(config, samples=samples, env=env, progress=False, target=target)
    assert [(r.method, r.rate) for r in records] == [(FULL, 1.0)] * 2 + [("bm25", 0.05), ("bm25", 0.25)] * 2
    by_id = {s.id: s for s in samples}
    for r in records:
        sample = by_id[r.sample]
        assert r.extra["correct"] == is_correct(r.extra["answer"], sample.required_answers)
        assert r.extra["prefill_seconds"] > 0
    full = {r.sample: r.extra["prompt_tokens"] for r in records if r.method == FULL}
    for r in records:
        if r.method == FULL:
            assert r.extra["prompt_tokens"] == len(target.prompt_ids(by_id[r.sample].context, QUESTION))
        else:
            assert r.extra["prompt_tokens"] < full[r.sample] / (3 if r.rate == 0.05 else 1.5)

    report = write_report(records, config, tmp_path, "test")["markdown"].read_text()
    assert "## End-to-end answers (target `gemma3-270m`, greedy, up to 48 tokens)" in report
    assert "| full | 1 |" in report and "| bm25 | 0.25 |" in report
    assert "| full | 100% | 100% |" not in report  # the reference is not a row of the recall tables


QUESTION = make_sample(0, 0.5).question


def _count_answers(target: TargetLM) -> list[int]:
    """Make ``target`` record the prompt length of every answer it is asked for; return that list."""
    calls: list[int] = []
    answer = target.answer_prompt

    def counted(ids: list[int]) -> object:
        calls.append(len(ids))
        return answer(ids)

    target.answer_prompt = counted  # type: ignore[method-assign]
    return calls


def test_an_earlier_answer_is_reused_only_for_the_same_target_and_prompt(draft_tokenizer, tmp_path) -> None:
    env = MethodEnv(counter=make_counter(draft_tokenizer, None), _tokenizer=draft_tokenizer)
    sample = make_sample(0, 0.5)
    config = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.1,), methods=("bm25",), samples=1, answer=True)
    model = tiny_draft(len(draft_tokenizer), layers=1, max_positions=16_384)
    target = TargetLM(model, draft_tokenizer, max_new_tokens=8)
    first = run_eval(config, samples=[sample], env=env, progress=False, target=target)
    full = first[0]
    ids = target.prompt_ids(sample.context, sample.question)
    assert full.method == FULL and full.extra["prompt_key"] == target.prompt_key(ids)
    assert first[1].extra["prompt_key"] != full.extra["prompt_key"]  # the compressed prompt differs

    calls = _count_answers(target)
    again = run_eval(config, samples=[sample], env=env, progress=False, target=target, answered={full.key: full})
    assert again[0] == full  # not asked again: the earlier answer and its measured prefill are kept
    assert calls == [first[1].extra["prompt_tokens"]]  # the compressed context had no earlier answer: asked
    assert again[1].extra["answer"] == first[1].extra["answer"]

    both = {r.key: r for r in first}
    reused = run_eval(config, samples=[sample], env=env, progress=False, target=target, answered=both)
    assert len(calls) == 1  # the same compressed prompt: its earlier answer is reused too
    assert [r.extra for r in reused] == [r.extra for r in first]
    assert reused[1].kept_tokens == first[1].kept_tokens  # the context is still compressed anew

    stale = dataclasses.replace(full, extra={**full.extra, "prompt_key": "made-from-another-prompt"})
    asked = run_eval(config, samples=[sample], env=env, progress=False, target=target, answered={full.key: stale})
    assert asked[0] is not stale and asked[0].extra["prompt_key"] == full.extra["prompt_key"]
    assert asked[0].extra["prefill_seconds"] != full.extra["prefill_seconds"]  # measured anew
    longer = TargetLM(model, draft_tokenizer, max_new_tokens=9)
    assert longer.prompt_key(ids) != target.prompt_key(ids)  # a longer answer could differ: not the same key


def test_append_refuses_another_target_before_running(tmp_path, capsys) -> None:
    from contextsieve.cli import main

    config = EvalConfig(
        tasks=("needle",), lengths=(2000,), rates=(0.1,), methods=("bm25",), target="qwen2.5-coder-0.5b"
    )
    before = json.dumps({"command": "earlier", "config": dataclasses.asdict(config), "records": []})
    (tmp_path / "results.json").write_text(before)
    assert main(["eval", "--out", str(tmp_path), "--append", "--lengths", "128k"]) == 2
    assert "was made with another target, split or seed" in capsys.readouterr().err
    assert (tmp_path / "results.json").read_text() == before


def test_qa_samples_are_answered_once_per_text_on_both_paths_with_em_and_f1(draft_tokenizer, tmp_path) -> None:
    from contextsieve_eval.documents import as_documents

    env = MethodEnv(counter=make_counter(draft_tokenizer, None), _tokenizer=draft_tokenizer)
    base = make_sample(0, 0.5)
    sample = dataclasses.replace(base, task="squad", metric="qa", answers=("onyx-falcon-5179", "the onyx code"))
    twin = as_documents(sample, max_chars=2000)
    config = EvalConfig(tasks=("squad",), lengths=(2000,), rates=(0.25,), methods=("bm25",), samples=1, answer=True)
    target = TargetLM(tiny_draft(len(draft_tokenizer), layers=1, max_positions=16_384), draft_tokenizer)
    calls = _count_answers(target)
    records = run_eval(config, samples=[sample, twin], env=env, progress=False, target=target)
    full = [r for r in records if r.method == FULL]
    assert [(r.sample, r.path) for r in full] == [(sample.id, "context"), (twin.id, "documents")]
    assert full[1].extra == full[0].extra  # the same text: the twin reuses the context path's answer
    assert len(calls) == 1 + 2  # one full-context answer, one per compressed path
    for r in records:
        assert set(r.extra) >= {"answer", "correct", "em", "f1", "prompt_tokens", "prefill_seconds"}
        assert 0.0 <= r.extra["f1"] <= 1.0
    report = write_report(records, config, tmp_path, "test")["markdown"].read_text()
    assert "### End-to-end answers on HotpotQA and SQuAD" in report
    assert "| method | rate | questions | evidence kept | exact match | answer in reply | F1 |" in report


def test_a_documents_run_reuses_the_full_answer_an_earlier_context_run_gave(draft_tokenizer) -> None:
    from contextsieve_eval.documents import as_documents

    env = MethodEnv(counter=make_counter(draft_tokenizer, None), _tokenizer=draft_tokenizer)
    base = make_sample(0, 0.5)
    sample = dataclasses.replace(base, task="squad", metric="qa", answers=("onyx-falcon-5179",))
    twin = as_documents(sample, max_chars=2000)
    config = EvalConfig(tasks=("squad",), lengths=(2000,), rates=(0.25,), methods=("bm25",), samples=1, answer=True)
    target = TargetLM(tiny_draft(len(draft_tokenizer), layers=1, max_positions=16_384), draft_tokenizer)
    earlier = run_eval(config, samples=[sample], env=env, progress=False, target=target)[0]
    assert earlier.method == FULL and earlier.path == "context"

    records = run_eval(config, samples=[twin], env=env, progress=False, target=target, answered={earlier.key: earlier})
    full = records[0]
    assert (full.method, full.sample, full.path) == (FULL, twin.id, "documents")
    assert full.extra == earlier.extra  # same prompt key: the measured answer and prefill time are kept
    stale = dataclasses.replace(earlier, extra={**earlier.extra, "prompt_key": "another-prompt"})
    asked = run_eval(config, samples=[twin], env=env, progress=False, target=target, answered={stale.key: stale})[0]
    assert asked.extra["prompt_key"] == earlier.extra["prompt_key"] != stale.extra["prompt_key"]  # asked anew
