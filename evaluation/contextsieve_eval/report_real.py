"""Report sections of the real benchmarks: HotpotQA and SQuAD (gold kept, answer kept), RULER (its metric).

Each table comes once per context length and per path: one long context (``compress``) or documents under one
shared budget (``compress_documents``), side by side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from statistics import mean

from contextsieve_eval.paired import paired_difference
from contextsieve_eval.report import first_call_seconds
from contextsieve_eval.runner import FULL, Record
from contextsieve_eval.tasks import TASKS

__all__ = ["headline_table", "is_real", "qa_table", "real_section", "ruler_table", "ruler_task_table"]

_PATH_TITLES = {"context": "one long context", "documents": "documents, one shared budget"}


def is_real(record: Record) -> bool:
    """Tell whether a record belongs to a real suite (HotpotQA, SQuAD or RULER)."""
    spec = TASKS.get(record.task)
    return spec is not None and spec.suite != "synthetic"


def _pct(values: Sequence[float]) -> str:
    return f"{100 * mean(values):.0f}%" if values else "–"


def _grid(records: Sequence[Record], cell: Callable[[list[Record]], str]) -> dict[tuple[str, float], str]:
    groups: dict[tuple[str, float], list[Record]] = defaultdict(list)
    for r in records:
        groups[(r.method, r.rate)].append(r)
    return {key: cell(group) for key, group in groups.items()}


def _table(records: Sequence[Record], cell: Callable[[list[Record]], str]) -> str:
    rates = sorted({r.rate for r in records})
    methods = list(dict.fromkeys(r.method for r in records))
    cells = _grid(records, cell)
    lines = ["| method | " + " | ".join(f"rate {x:g}" for x in rates) + " |", "|---|" + "---|" * len(rates)]
    lines += [f"| {m} | " + " | ".join(cells.get((m, x), "–") for x in rates) + " |" for m in methods]
    return "\n".join(lines)


def qa_table(records: Sequence[Record]) -> str:
    """Per method and rate: all gold sentences kept / share of gold kept / answer string kept (n questions).

    The answer share counts the questions whose answer a context can spell out (not HotpotQA's "yes" / "no").
    """

    def cell(group: list[Record]) -> str:
        every = [float(bool(r.all_kept)) for r in group]
        share = [r.recall for r in group]
        answer = [float(r.answer_kept) for r in group if r.answer_kept is not None]
        return f"{_pct(every)} / {_pct(share)} / {_pct(answer)}"

    return _table(records, cell)


def ruler_table(records: Sequence[Record]) -> str:
    """Per method and rate: RULER's metric on the compressed context, averaged over the headline tasks."""
    headline = [r for r in records if TASKS[r.task].headline]
    return _table(headline, lambda group: _pct([r.recall for r in group]))


def ruler_task_table(records: Sequence[Record], rate: float) -> str:
    """RULER's metric per task (columns) and method (rows) at one rate."""
    subset = [r for r in records if r.rate == rate]
    tasks = list(dict.fromkeys(r.task for r in subset))
    methods = list(dict.fromkeys(r.method for r in subset))
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in subset:
        cells[(r.method, r.task)].append(r.recall)
    names = [t.removeprefix("ruler-") + ("" if TASKS[t].headline else "*") for t in tasks]
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(tasks)]
    lines += [f"| {m} | " + " | ".join(_pct(cells[(m, t)]) for t in tasks) + " |" for m in methods]
    return "\n".join(lines)


def _qa_answers(records: Sequence[Record]) -> str:
    """End-to-end answers on one QA suite, length and path, the full context first.

    Per method and rate: questions answered, evidence kept, exact match, replies holding a gold answer, token F1,
    the F1 difference from the full context question by question (mean, paired bootstrap interval, questions
    above / below), prompt tokens, the compressor's seconds (the call that scored) and the target's prefill.
    """
    answered = [r for r in records if "f1" in r.extra]
    full = {r.sample: float(r.extra["f1"]) for r in answered if r.method == FULL}
    scoring = first_call_seconds(r for r in records if r.method != FULL)
    groups: dict[tuple[str, float], list[Record]] = defaultdict(list)
    for r in sorted(answered, key=lambda r: (r.method != FULL, r.method, -r.rate)):
        groups[(r.method, r.rate)].append(r)
    lines = [
        "| method | rate | questions | evidence kept | exact match | answer in reply | F1 "
        "| F1 minus full context, 95% interval | w/l | prompt tokens | compress (s) | prefill (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (method, rate), group in groups.items():
        is_full = method == FULL
        pairs = [100 * (float(r.extra["f1"]) - full[r.sample]) for r in group if r.sample in full]
        difference, balance = "–", "–"
        if pairs and not is_full:
            d = paired_difference(pairs)
            difference, balance = f"{d.mean:+.1f} [{d.low:+.1f}, {d.high:+.1f}]", f"{d.wins}/{d.losses}"
        cells = [
            method,
            f"{rate:g}",
            str(len(group)),
            "–" if is_full else _pct([float(bool(r.all_kept)) for r in group]),
            _pct([float(r.extra["em"]) for r in group]),
            _pct([float(bool(r.extra.get("correct"))) for r in group]),
            f"{100 * mean(float(r.extra['f1']) for r in group):.1f}",
            difference,
            balance,
            f"{mean(float(r.extra['prompt_tokens']) for r in group):,.0f}",
            "–" if is_full else f"{mean(scoring[(r.method, r.sample)] for r in group):.1f}",
            f"{mean(float(r.extra['prefill_seconds']) for r in group):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline_table(records: Sequence[Record], rates: Sequence[float] = (0.1, 0.25)) -> str:
    """One row per method: HotpotQA both hops and SQuAD's sentence kept, per rate and path ("context / documents").

    Pass the records of one length. Columns for a suite or rate with no record are left out.
    """
    real = [r for r in records if is_real(r) and r.method != FULL]
    columns: list[tuple[str, str, float]] = []
    for task, label in (("hotpotqa", "HotpotQA both hops"), ("squad", "SQuAD sentence")):
        columns += [(task, label, x) for x in rates if any(r.task == task and r.rate == x for r in real)]
    cells: dict[tuple[str, str, float, str], list[float]] = defaultdict(list)
    for r in real:
        cells[(r.method, r.task, r.rate, r.path)].append(float(bool(r.all_kept)))
    header = "| method | " + " | ".join(f"{label}, rate {x:g}" for _, label, x in columns) + " |"
    lines = [header, "|---|" + "---|" * len(columns)]
    for method in dict.fromkeys(r.method for r in real):
        row = [
            f"{_pct(cells[(method, t, x, 'context')])} / {_pct(cells[(method, t, x, 'documents')])}"
            for t, _, x in columns
        ]
        lines.append(f"| {method} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _qa_cells(records: Sequence[Record]) -> Iterator[tuple[str, list[Record]]]:
    """Yield each (suite, length, path) cell's records with its label, suites in first-seen order."""
    for task in dict.fromkeys(r.task for r in records):
        for length in sorted({r.length for r in records if r.task == task}):
            for path in ("context", "documents"):
                subset = [r for r in records if r.task == task and r.length == length and r.path == path]
                if subset:
                    n = len({r.sample for r in subset})
                    yield f"{task}, {length:,} tokens, {_PATH_TITLES[path]} ({n} questions)", subset


def real_section(records: Sequence[Record]) -> list[str]:
    """Return the markdown lines of the real-benchmark section (empty when no record is from a real suite)."""
    real = [r for r in records if is_real(r)]
    compressed = [r for r in real if r.method != FULL]
    if not real:
        return []
    parts = ["## Real benchmarks", ""]
    for length in sorted({r.length for r in compressed if TASKS[r.task].family == "qa"}):
        parts += [
            f"### Headline, {length:,} tokens: one long context / documents",
            "",
            headline_table([r for r in compressed if r.length == length]),
            "",
        ]
    qa_tasks = [t for t in dict.fromkeys(r.task for r in compressed) if TASKS[t].family == "qa"]
    if qa_tasks:
        parts += [
            "HotpotQA and SQuAD, report split. Each cell: every gold sentence kept (HotpotQA: both hops) / share of",
            "gold sentences kept / answer string kept.",
            "",
        ]
    for label, subset in _qa_cells([r for r in compressed if r.task in qa_tasks]):
        parts += [f"### {label}", "", qa_table(subset), ""]
    ruler = [r for r in compressed if TASKS[r.task].family == "ruler"]
    for length in sorted({r.length for r in ruler}):
        for path in ("context", "documents"):
            subset = [r for r in ruler if r.length == length and r.path == path]
            if not subset:
                continue
            parts += [
                f"### RULER, {length:,} tokens, {_PATH_TITLES[path]}",
                "",
                "RULER's metric on the compressed context, averaged over the 11 headline tasks (cwe and fwe, which",
                "need most of the context by design, are left out of this average).",
                "",
                ruler_table(subset),
                "",
            ]
            for rate in sorted({r.rate for r in subset}):
                title = f"Per task at rate {rate:g} (* = not in the average):"
                parts += [title, "", ruler_task_table(subset, rate), ""]
    answered = [r for r in real if "f1" in r.extra]
    if answered:
        parts += [
            "### End-to-end answers on HotpotQA and SQuAD",
            "",
            "F1 minus full context: the mean of the per-question differences, with a 95% paired bootstrap",
            "interval (10,000 resamples, seed 0); w/l: questions whose F1 is above / below the full context's;",
            "answer in reply: replies that contain a gold answer string; compress: the compressor's call that",
            "scored (a second rate reuses its scores); time to first token = compress + prefill.",
            "",
        ]
        for label, subset in _qa_cells(answered):
            parts += [f"{label}:", "", _qa_answers(subset), ""]
    return parts
