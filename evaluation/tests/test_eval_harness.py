"""The evaluation harness itself: metrics on hand-made cases, baselines within budget, runner and report."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contextsieve.counting import make_counter
from contextsieve.errors import ConfigError
from contextsieve.testing import corpus_text
from contextsieve_eval.methods import METHODS, MethodEnv, make_method
from contextsieve_eval.metrics import evidence_recall, survives
from contextsieve_eval.report import write_report
from contextsieve_eval.runner import EvalConfig, parse_length, run_eval
from contextsieve_eval.samples import Sample

NEEDLE = "The access code for the Halvorsen vault is onyx-falcon-5179."
QUESTION = "What is the access code for the Halvorsen vault?"


def test_evidence_must_survive_intact() -> None:
    compressed = "Some text.\n...\nThe access code for the Halvorsen vault is onyx-con-5179."
    assert not survives(NEEDLE, compressed)
    assert survives(NEEDLE, "x\n" + NEEDLE.replace(" ", "  \n ", 2) + " y")  # whitespace runs compare equal
    assert not survives(NEEDLE, NEEDLE[:-1])
    assert evidence_recall("alpha beta. gamma delta.", ["alpha beta.", "gamma delta.", "epsilon."]) == 2 / 3
    assert evidence_recall(NEEDLE, [NEEDLE]) == 1.0
    with pytest.raises(ValueError, match="gold evidence must not be empty"):
        evidence_recall("x", [])


def test_lengths_parse() -> None:
    assert [parse_length(v) for v in ("2k", "8K", "128k", "3000")] == [2048, 8192, 131072, 3000]


def make_sample(index: int, depth: float) -> Sample:
    text = corpus_text(12_000)
    cuts = [i + 2 for i in range(len(text) - 1) if text[i : i + 2] == ". "]
    cut = cuts[int(depth * (len(cuts) - 1))]
    context = text[:cut] + NEEDLE + " " + text[cut:]
    return Sample(
        task="needle",
        id=f"needle-test-{index}",
        context=context,
        question=QUESTION,
        gold=(NEEDLE,),
        gold_spans=((cut, cut + len(NEEDLE)),),
        answer="onyx-falcon-5179",
        hard=False,
        length=2000,
    )


def test_sample_rejects_misplaced_gold() -> None:
    with pytest.raises(ValueError, match="does not hold"):
        Sample("t", "x", "abc", "q", ("b",), ((0, 1),), "b", False, 3)


@pytest.fixture
def env(draft_tokenizer, foreign_tokenizer) -> MethodEnv:
    return MethodEnv(counter=make_counter(foreign_tokenizer, None), _tokenizer=draft_tokenizer)


@pytest.mark.parametrize("name", ["random", "head-tail", "bm25", "bm25-windows"])
@pytest.mark.parametrize("budget", [7, 60, 300])
def test_baselines_stay_within_budget_and_are_extractive(env, name, budget) -> None:
    sample = make_sample(0, 0.5)
    method = make_method(name, env)
    text = method.compress(sample.context, sample.question, budget)
    assert 0 < env.counter(text) <= budget
    for piece in text.split("\n...\n"):
        assert piece in sample.context


def test_bm25_finds_a_lexical_needle_and_head_tail_keeps_the_edges(env) -> None:
    sample = make_sample(0, 0.5)
    assert NEEDLE in make_method("bm25", env).compress(sample.context, sample.question, 60)
    edges = make_method("head-tail", env).compress(sample.context, sample.question, 200)
    first, last = edges.split("\n...\n")[0], edges.split("\n...\n")[-1]
    assert sample.context.startswith(first.lstrip()[:40]) or sample.context.lstrip().startswith(first.lstrip()[:40])
    assert sample.context.rstrip().endswith(last.rstrip()[-40:])
    assert NEEDLE not in edges


def test_unknown_method_is_a_config_error(env) -> None:
    with pytest.raises(ConfigError, match="unknown method 'llmlingua'"):
        make_method("llmlingua", env)
    assert {"contextsieve", "bm25-windows", "minilm-windows", "head-tail", "random"} <= set(METHODS)


def test_runner_records_every_method_rate_and_sample_and_writes_a_report(env, tmp_path) -> None:
    samples = [make_sample(0, 0.2), make_sample(1, 0.8)]
    config = EvalConfig(
        tasks=("needle",), lengths=(2000,), rates=(0.05, 0.25), methods=("bm25", "head-tail"), samples=2
    )
    records = run_eval(config, samples=samples, env=env, progress=False)
    assert len(records) == 2 * 2 * 2
    assert {(r.method, r.sample, r.rate) for r in records} == {
        (m, s.id, x) for m in ("bm25", "head-tail") for s in samples for x in (0.05, 0.25)
    }
    for r in records:
        assert r.kept_tokens <= r.budget == int(r.rate * r.tokens)
        assert r.tokens == env.counter(samples[int(r.sample[-1])].context)
    assert all(r.recall == 1.0 for r in records if r.method == "bm25")
    assert all(r.recall == 0.0 for r in records if r.method == "head-tail")

    paths = write_report(records, config, tmp_path, "contextsieve eval --test")
    payload = json.loads(paths["json"].read_text())
    assert len(payload["records"]) == 8 and payload["config"]["methods"] == ["bm25", "head-tail"]
    report = paths["markdown"].read_text()
    assert "| bm25 | 100% | 100% |" in report
    assert "| head-tail | 0% | 0% |" in report
    assert "stayed within its budget" in report
    assert paths["recall"].stat().st_size > 1000 and paths["speed"].stat().st_size > 1000


def test_report_splits_recall_by_length_with_standard_and_hard_cells() -> None:
    from contextsieve_eval.report import length_table, markdown_report
    from contextsieve_eval.runner import Record

    def record(task: str, hard: bool, length: int, rate: float, recall: float) -> Record:
        return Record(
            task, hard, length, f"{task}-{length}", "bm25", rate, length, int(rate * length), 0, recall, 0.1, None
        )

    records = [
        record("needle", False, 2048, 0.1, 1.0),
        record("rag", False, 2048, 0.1, 0.0),
        record("needle-decoy", True, 2048, 0.1, 1.0),
        record("needle", False, 32768, 0.1, 1.0),
        record("needle", False, 32768, 0.25, 1.0),
    ]
    at_2k = [r for r in records if r.length == 2048]
    assert length_table(at_2k).splitlines() == ["| method | rate 0.1 |", "|---|---|", "| bm25 | 50% / 100% |"]
    at_32k = [r for r in records if r.length == 32768]
    assert length_table(at_32k).splitlines()[-1] == "| bm25 | 100% / – | 100% / – |"
    late = dataclasses.replace(record("needle", False, 32768, 0.1, 0.0), method="random")
    rows = length_table([late, *at_32k], ["bm25", "random", "minilm"]).splitlines()[2:]
    assert rows == ["| bm25 | 100% / – | 100% / – |", "| random | 0% / – | – / – |"]
    config = EvalConfig(tasks=("needle",), lengths=(2048, 32768), rates=(0.1, 0.25), methods=("bm25",))
    report = markdown_report(records, config, {}, "contextsieve eval --test")
    assert report.index("## By context length") < report.index("### 2,048 tokens") < report.index("### 32,768 tokens")
    assert "### 2,048 tokens\n\n" + length_table(at_2k) + "\n\n### 32,768 tokens\n\n" + length_table(at_32k) in report
    assert report.index("### 32,768 tokens") < report.index("## By task") < report.index("### needle")
    single = markdown_report(at_2k, config, {}, "contextsieve eval --test")
    assert "## By context length" not in single and "## By task" not in single


def test_legacy_cache_shim_matches_the_model_with_its_own_cache(tiny_model) -> None:
    import torch

    from contextsieve_eval.llmlingua_baseline import _LegacyCacheModel

    ids = torch.randint(0, tiny_model.config.vocab_size, (1, 24), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    wrapped = _LegacyCacheModel(tiny_model)
    with torch.no_grad():
        full = tiny_model(ids, attention_mask=mask).logits
        first = wrapped(ids[:, :16], attention_mask=mask[:, :16], use_cache=True)
        assert (
            isinstance(first.past_key_values, list)
            and len(first.past_key_values) == tiny_model.config.num_hidden_layers
        )
        assert first.past_key_values[0][0].shape[2] == 16
        second = wrapped(ids[:, 16:], attention_mask=mask, past_key_values=first.past_key_values, use_cache=True)
    assert torch.allclose(second.logits, full[:, 16:], atol=1e-5)
    assert wrapped.config is tiny_model.config


def test_trimming_and_document_split(foreign_tokenizer) -> None:
    from contextsieve_eval.llmlingua_baseline import _fit, split_documents

    counter = make_counter(foreign_tokenizer, None)
    text = corpus_text(6000)
    fitted = _fit(text, counter, 50)
    assert counter(fitted) <= 50 < counter(_fit(text, counter, 60) + " and more words here")
    assert text.startswith(fitted)
    docs = split_documents(text, counter, size=200)
    assert "\n\n".join(docs).split() == text.split()
    assert all(counter(d) <= 200 for d in docs if "\n\n" in d)


@pytest.mark.slow
def test_real_methods_run_through_the_harness_within_budget(tmp_path) -> None:
    from contextsieve_eval.tasks import build_samples

    counter = make_counter("gemma3-270m", None)
    samples = build_samples(["needle", "multihop-gap"], counter, [1024], 1, seed=3)
    config = EvalConfig(
        tasks=("needle", "multihop-gap"),
        lengths=(1024,),
        rates=(0.1, 0.3),
        methods=("contextsieve", "minilm-windows", "longllmlingua"),
        samples=1,
    )
    records = run_eval(config, samples=samples, counter=counter, progress=False)
    assert len(records) == 3 * 2 * 2
    for r in records:
        assert r.kept_tokens <= r.budget
        assert r.seconds > 0 and r.peak_rss_mb is not None
    assert all(r.recall == 1.0 for r in records if r.method == "contextsieve" and r.task == "needle")
    paths = write_report(records, config, tmp_path, "test")
    assert "| longllmlingua |" in paths["markdown"].read_text()


def test_append_merges_reruns_and_widens_the_config(env, tmp_path) -> None:
    from contextsieve_eval.command import merge_previous, read_results

    samples = [make_sample(0, 0.3)]
    first = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.1, 0.25), methods=("bm25", "random"), samples=1)
    old = run_eval(first, samples=samples, env=env, progress=False)
    write_report(old, first, tmp_path, "first")
    second = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.25, 0.5), methods=("bm25",), samples=1)
    new = run_eval(second, samples=samples, env=env, progress=False)
    path = tmp_path / "results.json"
    config, merged, command = merge_previous(path, read_results(path), second, new, "second")
    assert config.methods == ("bm25", "random") and config.rates == (0.1, 0.25, 0.5)
    assert sorted((r.method, r.rate) for r in merged) == [
        ("bm25", 0.1),
        ("bm25", 0.25),
        ("bm25", 0.5),
        ("random", 0.1),
        ("random", 0.25),
    ]
    assert [r for r in merged if (r.method, r.rate) == ("bm25", 0.25)] == [new[0]]
    assert command == "first; then second"
    other = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.5,), methods=("bm25",), target="qwen2.5-coder-0.5b")
    with pytest.raises(ConfigError, match="another target"):
        merge_previous(path, read_results(path), other, new, "third")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "bm25,nope"], "unknown method(s) nope"),
        (["--methods", "contextsieve:x?order=sideways"], "invalid selection options 'order=sideways'"),
        (["--methods", "contextsieve:x?rate=0.5"], "a method name cannot set rate"),
        (["--methods", "contextsieve:x?order"], "write them as key=value&key=value"),
        (["--tasks", "needle,haystack"], "unknown task(s) haystack"),
        (["--rates", "0.1,1.5"], "rates must be in (0, 1]"),
        (["--lengths", "2k,x"], "bad --lengths or --rates"),
        (["--samples", "0"], "--samples must be at least 1"),
    ],
)
def test_eval_cli_rejects_bad_options_before_loading_anything(args, message, tmp_path, capsys) -> None:
    from contextsieve.cli import main

    assert main(["eval", "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()


class _Killed(Exception):
    """Stands in for the run being stopped (Ctrl-C, the session's end) right after a record is written."""


def test_a_stopped_run_resumes_from_its_journal_and_measures_only_what_is_left(env, tmp_path, monkeypatch) -> None:
    from contextsieve_eval import runner
    from contextsieve_eval.journal import JOURNAL_NAME, Journal

    samples = [make_sample(0, 0.2), make_sample(1, 0.8)]
    config = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.1, 0.25), methods=("bm25", "head-tail"), samples=2)
    uninterrupted = run_eval(config, samples=samples, env=env, progress=False)
    journal, done = Journal.start(tmp_path, config, "first", resume=False)
    assert done == {}

    def write_then_stop(record) -> None:
        journal.write(record)
        if record.key == ("head-tail", "needle-test-0", 0.1):  # all of bm25 and one head-tail record are on disk
            raise _Killed

    with pytest.raises(_Killed):
        run_eval(config, samples=samples, env=env, progress=False, on_record=write_then_stop)
    journal.close()
    path = tmp_path / JOURNAL_NAME
    with path.open("a") as handle:
        handle.write('{"task": "needle", "hard": fal')  # killed while writing the next line

    before = path.read_text()
    with pytest.raises(ConfigError, match=r"holds 5 record\(s\) of an unfinished run \(first\); pass --resume"):
        Journal.start(tmp_path, config, "second", resume=False)
    with pytest.raises(ConfigError, match="started with other rates, methods"):
        Journal.start(tmp_path, dataclasses.replace(config, rates=(0.5,), methods=("bm25",)), "other", resume=True)
    assert path.read_text() == before  # refusing leaves the journal as it was

    journal, done = Journal.start(tmp_path, config, "second", resume=True)
    assert journal.command == "first; resumed with 5 of its records by second"
    assert sorted(done) == sorted(r.key for r in uninterrupted[:5])
    built: list[str] = []
    real_make_method = runner.make_method

    def spy(name, method_env):
        built.append(name)
        return real_make_method(name, method_env)

    monkeypatch.setattr(runner, "make_method", spy)
    measured: list = []

    def write(record) -> None:
        measured.append(record)
        journal.write(record)

    records = run_eval(config, samples=samples, env=env, progress=False, done=done, on_record=write)
    assert built == ["head-tail"]  # bm25 had every record already: it was not even loaded
    assert [r.key for r in records] == [r.key for r in uninterrupted]  # same order as a run never stopped
    assert all(records[i] is done[records[i].key] for i in range(5))  # kept as measured, not measured again
    assert [r.key for r in measured] == [r.key for r in uninterrupted[5:]]
    assert [dataclasses.replace(r, seconds=0.0, peak_rss_mb=None, base_rss_mb=None) for r in records] == [
        dataclasses.replace(r, seconds=0.0, peak_rss_mb=None, base_rss_mb=None) for r in uninterrupted
    ]
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 8  # the header, then every record once; the torn line is gone
    assert [json.loads(line)["sample"] for line in lines[1:]] == [r.sample for r in records]
    journal.finish()
    assert not path.exists()


def test_eval_cli_will_not_start_over_an_unfinished_run(tmp_path, capsys) -> None:
    from contextsieve.cli import main
    from contextsieve_eval.journal import JOURNAL_NAME

    config = EvalConfig(tasks=("needle",), lengths=(2000,), rates=(0.1,), methods=("bm25",))
    header = json.dumps({"config": dataclasses.asdict(config), "command": "contextsieve eval --out x"})
    record = json.dumps(dataclasses.asdict(_stored_record()))
    (tmp_path / JOURNAL_NAME).write_text(f"{header}\n{record}\n")
    assert main(["eval", "--out", str(tmp_path), "--methods", "bm25", "--lengths", "2k"]) == 2
    err = capsys.readouterr().err
    assert "holds 1 record(s) of an unfinished run (contextsieve eval --out x); pass --resume" in err
    assert main(["eval", "--out", str(tmp_path), "--resume", "--methods", "bm25", "--lengths", "8k"]) == 2
    assert "it was started with other tasks, lengths, rates (" in capsys.readouterr().err
    assert (tmp_path / JOURNAL_NAME).read_text() == f"{header}\n{record}\n"
    assert not (tmp_path / "results.json").exists()


def _stored_record():
    from contextsieve_eval.runner import Record

    return Record("needle", False, 2000, "needle-0", "bm25", 0.1, 2000, 200, 190, 1.0, 0.5, 300.0)


@pytest.mark.slow
def test_llmlingua_prefix_shim_agrees_where_llmlingua_works_and_survives_indented_documents() -> None:
    from types import SimpleNamespace

    from llmlingua import PromptCompressor
    from transformers import AutoTokenizer

    from contextsieve.models import resolve_model
    from contextsieve_eval.llmlingua_baseline import _prefix_length

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model("smollm2-135m").path))
    lingua = SimpleNamespace(
        tokenizer=tokenizer,
        get_token_length=lambda text, special: len(tokenizer(text, add_special_tokens=special).input_ids),
    )
    prefix = "Which function returns the wrong result?\n\n"
    prose = "The Rowland safe combination is 7-41-9, written on a card in the study."
    expected = PromptCompressor.get_prefix_length(lingua, prefix, prose)
    assert _prefix_length(lingua, prefix, prose) == expected
    assert tokenizer.decode(tokenizer(prefix + prose).input_ids[expected:]) == prose

    code = "    try:\n        m = self.load_module(fqname, fp, pathname, stuff)\n    finally:\n        fp.close()"
    with pytest.raises(AssertionError):  # llmlingua 0.2.2 itself fails: "\n\n" and the indent are one token
        PromptCompressor.get_prefix_length(lingua, prefix, code)
    ids = tokenizer(prefix + code, add_special_tokens=False).input_ids
    n = _prefix_length(lingua, prefix, code)
    assert tokenizer.decode(ids[:n]) == prefix.rstrip()  # every token wholly in the question ...
    assert tokenizer.decode(ids[n : n + 1]) == "\n\n   "  # ... and not the one that straddles the boundary
    assert tokenizer.decode(ids[n:]).endswith(code)
