"""Run methods over task samples at several keep rates and record recall, compression, time and memory."""

from __future__ import annotations

import gc
import logging
import math
import os
import platform
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from contextsieve.counting import TokenCounter, make_counter
from contextsieve_eval.documents import DOCUMENTS_SUFFIX
from contextsieve_eval.methods import SEPARATOR, Method, MethodEnv, make_method
from contextsieve_eval.metrics import kept
from contextsieve_eval.samples import Sample

if TYPE_CHECKING:
    from contextsieve_eval.answering import TargetLM

__all__ = ["FULL", "EvalConfig", "Record", "RecordKey", "machine_info", "parse_length", "run_eval"]

logger = logging.getLogger(__name__)

RecordKey = tuple[str, str, float]
"""(method, sample id, keep rate): what identifies one record of a run."""

FULL = "full"
"""Method name of the uncompressed reference records written when the target answers (rate 1)."""


@dataclass(frozen=True)
class EvalConfig:
    """What to run: tasks × lengths × samples, each compressed by every method at every keep rate."""

    tasks: tuple[str, ...]
    lengths: tuple[int, ...]
    rates: tuple[float, ...]
    methods: tuple[str, ...]
    samples: int = 3
    seed: int = 0
    target: str = "gemma3-270m"
    draft: str = "smollm2-135m"
    device: str | None = None
    dtype: str | None = None
    split: str = "eval"
    answer: bool = False
    answer_tokens: int = 48
    paths: tuple[str, ...] = ("context",)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalConfig:
        """Rebuild a config written as JSON (lists become tuples again)."""
        stored: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**stored)


@dataclass(frozen=True)
class Record:
    """One compression of one sample by one method at one rate."""

    task: str
    hard: bool
    length: int
    sample: str
    method: str
    rate: float
    tokens: int
    budget: int
    kept_tokens: int
    recall: float
    seconds: float
    peak_rss_mb: float | None
    base_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: str = "context"
    all_kept: bool | None = None
    answer_kept: bool | None = None

    @property
    def key(self) -> RecordKey:
        """(method, sample, rate): a rerun with the same key replaces this record; a resumed run skips it."""
        return self.method, self.sample, self.rate


def parse_length(value: str) -> int:
    """Parse ``"8k"`` (8,192), ``"128k"`` or a plain integer number of tokens."""
    text = value.strip().lower()
    if text.endswith("k"):
        return int(float(text[:-1]) * 1024)
    return int(text)


def machine_info() -> dict[str, Any]:
    """Describe the machine a run was made on."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


class _PeakRSS:
    """Sample this process's resident memory every few milliseconds while a block runs (Linux)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def rss() -> int | None:
        """Return the resident set size of this process in bytes, or None where /proc is unavailable."""
        try:
            with open("/proc/self/statm", encoding="ascii") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None

    def _watch(self) -> None:
        while not self._stop.is_set():
            value = self.rss()
            if value is not None:
                self.peak = max(self.peak or 0, value)
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakRSS:
        self.peak = self.rss()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        value = self.rss()
        if value is not None and self.peak is not None:
            self.peak = max(self.peak, value)

    @property
    def peak_mb(self) -> float | None:
        return None if self.peak is None else self.peak / 2**20


def run_eval(
    config: EvalConfig,
    *,
    samples: Sequence[Sample] | None = None,
    counter: TokenCounter | None = None,
    env: MethodEnv | None = None,
    progress: bool = True,
    on_record: Callable[[Record], None] | None = None,
    target: TargetLM | None = None,
    answered: Mapping[RecordKey, Record] | None = None,
    done: Mapping[RecordKey, Record] | None = None,
) -> list[Record]:
    """Compress every sample with every method at every rate; budgets and lengths are in target tokens.

    With ``config.answer`` the target model also answers each question from the full context (one
    ``"full"`` record per sample at rate 1) and from every compressed context; the answer, its correctness
    and the target's prefill time go into each record's ``extra``. ``answered`` maps (method, sample id, rate)
    to earlier answered records: when the new prompt has the same ``prompt_key`` (same target, answer length and
    prompt ids), the earlier answer and its measured prefill time are reused instead of asked again, since greedy
    decoding would repeat them. Compressed contexts are still compressed (and timed) anew; only an identical
    prompt skips the target. A documents-path sample also reuses the full answer of its context-path twin, which
    holds the same text. ``done`` maps (method, sample id, rate) to records a stopped attempt of this same run
    already measured: they are returned as they are, and a method with nothing left to measure is not even loaded.
    ``on_record`` sees only the records measured now. ``samples``, ``counter``, ``env`` and ``target`` default to
    what ``config`` describes (tests pass their own).
    """
    from tqdm.auto import tqdm

    counter = counter or (env.counter if env is not None else make_counter(config.target, None))
    if samples is None:
        from contextsieve_eval.tasks import build_samples

        started = time.perf_counter()
        samples = build_samples(
            config.tasks, counter, config.lengths, config.samples, config.seed, config.split, paths=config.paths
        )
        logger.info("Built %d samples in %.1fs", len(samples), time.perf_counter() - started)
    sizes = {s.id: counter(s.context) for s in samples}
    env = env or MethodEnv(counter=counter, draft=config.draft, device=config.device, dtype=config.dtype)
    if config.answer and target is None:
        from contextsieve_eval.answering import TargetLM

        target = TargetLM.load(config.target, device=config.device, max_new_tokens=config.answer_tokens)
    asked = target if config.answer else None
    done = done or {}
    answered = answered or {}
    records: list[Record] = []
    full_of: dict[str, Record] = {}
    total = len(config.methods) * len(samples) * len(config.rates) + (len(samples) if asked else 0)
    with tqdm(total=total, desc="eval", unit="run", disable=not progress) as bar:
        if asked is not None:
            bar.set_postfix_str(f"{FULL} context")
            for sample in samples:
                record = done.get((FULL, sample.id, 1.0))
                if record is None:
                    same_text = sample.id.removesuffix(DOCUMENTS_SUFFIX)  # the context path's id of this text
                    earlier = (
                        answered.get((FULL, sample.id, 1.0))
                        or full_of.get(same_text)
                        or answered.get((FULL, same_text, 1.0))
                    )
                    record = _full_record(sample, sizes[sample.id], asked, earlier)
                    if on_record is not None:
                        on_record(record)
                full_of[sample.id] = record
                records.append(record)
                bar.update()
        for name in config.methods:
            bar.set_postfix_str(name)
            method: Method | None = None  # loaded at its first record left to measure (never, if all are done)
            base: int | None = None
            for sample in samples:
                tokens = sizes[sample.id]
                for rate in config.rates:
                    record_key = (name, sample.id, rate)
                    if record_key in done:
                        records.append(done[record_key])
                        bar.update()
                        continue
                    if method is None:
                        gc.collect()
                        base = _PeakRSS.rss()
                        method = make_method(name, env)
                    budget = max(1, math.floor(rate * tokens))
                    with _PeakRSS() as memory:
                        started = time.perf_counter()
                        text, kept_tokens = _compress(method, sample, budget, counter)
                        seconds = time.perf_counter() - started
                    survived = kept(sample, text)
                    record = Record(
                        task=sample.task,
                        hard=sample.hard,
                        length=sample.length,
                        sample=sample.id,
                        method=name,
                        rate=rate,
                        tokens=tokens,
                        budget=budget,
                        kept_tokens=kept_tokens,
                        recall=survived.recall,
                        seconds=seconds,
                        peak_rss_mb=memory.peak_mb,
                        base_rss_mb=None if base is None else base / 2**20,
                        extra={} if asked is None else _ask(asked, sample, text, earlier=answered.get(record_key)),
                        path=sample.path,
                        all_kept=survived.all_kept,
                        answer_kept=survived.answer_kept,
                    )
                    records.append(record)
                    if on_record is not None:
                        on_record(record)
                    bar.update()
            del method
    return records


def _compress(method: Method, sample: Sample, budget: int, counter: TokenCounter) -> tuple[str, int]:
    """Compress a sample on its path; return the text the target reads and its target tokens.

    On the documents path the kept documents are joined by the separator, and the budget counts the documents'
    own tokens (what :meth:`~contextsieve.Compressor.compress_documents` budgets).
    """
    if not sample.documents:
        text = method.compress(sample.context, sample.question, budget)
        return text, counter(text)
    texts = [t for t in method.compress_documents(sample.document_texts, sample.question, budget) if t.strip()]
    return SEPARATOR.join(texts), sum(counter(t) for t in texts)


def _full_record(sample: Sample, tokens: int, target: TargetLM, earlier: Record | None) -> Record:
    """Build the uncompressed reference record: the whole context at rate 1, answered by the target.

    ``earlier`` is a full record of this text (an earlier run's, or the context-path twin's): its answer is
    reused when its prompt key matches (see :func:`_ask`).
    """
    return Record(
        task=sample.task,
        hard=sample.hard,
        length=sample.length,
        sample=sample.id,
        method=FULL,
        rate=1.0,
        tokens=tokens,
        budget=tokens,
        kept_tokens=tokens,
        recall=1.0,
        seconds=0.0,
        peak_rss_mb=None,
        extra=_ask(target, sample, sample.context, earlier=earlier),
        path=sample.path,
    )


def _ask(target: TargetLM, sample: Sample, context: str, *, earlier: Record | None = None) -> dict[str, Any]:
    """Have the target answer ``sample``'s question from ``context``; say why when the prompt does not fit.

    When ``earlier`` was answered from the same prompt (its ``prompt_key`` matches), its answer and measured
    prefill time are returned with the answer scored against ``sample`` again, and the target is not asked.
    """
    from contextsieve_eval.metrics import answer_scores

    ids = target.prompt_ids(context, sample.question)
    if not target.fits(len(ids)):
        return {"answer_skipped": f"prompt of {len(ids):,} tokens exceeds the target's window"}
    key = target.prompt_key(ids)
    if earlier is not None and earlier.extra.get("prompt_key") == key:
        logger.info("Reusing the answer %s gave for %s (same target and prompt)", earlier.method, sample.id)
        return {**earlier.extra, **answer_scores(sample, earlier.extra["answer"])}
    reply = target.answer_prompt(ids)
    return {
        "answer": reply.text,
        **answer_scores(sample, reply.text),
        "prompt_tokens": reply.prompt_tokens,
        "prefill_seconds": reply.prefill_seconds,
        "prompt_key": key,
    }


def records_as_dicts(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Return the records as plain dicts (for JSON)."""
    return [asdict(r) for r in records]
