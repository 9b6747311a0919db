"""Turn evaluation records into results.json, a markdown report and PNG plots."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from contextsieve_eval.runner import FULL, EvalConfig, Record, machine_info, records_as_dicts

__all__ = [
    "answer_table",
    "answer_task_table",
    "first_call_seconds",
    "length_table",
    "markdown_report",
    "plot_recall",
    "plot_speed",
    "recall_table",
    "speed_table",
    "write_report",
]


def _fmt_rate(rate: float) -> str:
    return f"{rate:g}"


def _percent(recalls: Sequence[float]) -> str:
    """Mean of recalls in [0, 1] as a whole percentage, or a dash when there are none."""
    return f"{100 * mean(recalls):.0f}%" if recalls else "–"


def _rate_table(
    methods: Sequence[str], rates: Sequence[float], cell: Callable[[str, float], str], title_column: str = "method"
) -> str:
    """Lay out a markdown table with one row per method and one column per keep rate."""
    lines = [
        f"| {title_column} | " + " | ".join(f"rate {_fmt_rate(x)}" for x in rates) + " |",
        "|---|" + "---|" * len(rates),
    ]
    lines += [f"| {method} | " + " | ".join(cell(method, x) for x in rates) + " |" for method in methods]
    return "\n".join(lines)


def recall_table(records: Sequence[Record], *, title_column: str = "method") -> str:
    """Mean evidence recall (%) per method (rows) and keep rate (columns)."""
    rates = sorted({r.rate for r in records})
    methods = list(dict.fromkeys(r.method for r in records))
    cells: dict[tuple[str, float], list[float]] = defaultdict(list)
    for r in records:
        cells[(r.method, r.rate)].append(r.recall)
    return _rate_table(methods, rates, lambda method, rate: _percent(cells[(method, rate)]), title_column)


def length_table(records: Sequence[Record], methods: Sequence[str] = ()) -> str:
    """Mean evidence recall (%) per method and keep rate at one length: standard tasks / hard probes per cell.

    Rows follow ``methods`` (then any other method, in record order).
    """
    rates = sorted({r.rate for r in records})
    present = {r.method for r in records}
    methods = [m for m in dict.fromkeys([*methods, *(r.method for r in records)]) if m in present]
    cells: dict[tuple[str, float, bool], list[float]] = defaultdict(list)
    for r in records:
        cells[(r.method, r.rate, r.hard)].append(r.recall)

    def cell(method: str, rate: float) -> str:
        return f"{_percent(cells[(method, rate, False)])} / {_percent(cells[(method, rate, True)])}"

    return _rate_table(methods, rates, cell)


def first_call_seconds(records: Iterable[Record]) -> dict[tuple[str, str], float]:
    """Per (method, sample): the slowest of its rates, which is the call that paid for scoring."""
    out: dict[tuple[str, str], float] = {}
    for r in records:
        key = (r.method, r.sample)
        out[key] = max(out.get(key, 0.0), r.seconds)
    return out


def speed_table(records: Sequence[Record]) -> str:
    """Compression speed (target tokens per second, scoring included) per method and context length."""
    lengths = sorted({r.length for r in records})
    methods = list(dict.fromkeys(r.method for r in records))
    seconds = first_call_seconds(records)
    tokens = {r.sample: r.tokens for r in records}
    length_of = {r.sample: r.length for r in records}
    added: dict[str, float] = {}
    for r in records:
        if r.peak_rss_mb is not None and r.base_rss_mb is not None:
            added[r.method] = max(added.get(r.method, 0.0), r.peak_rss_mb - r.base_rss_mb)
    lines = [
        "| method | " + " | ".join(f"{n:,} tok/s" for n in lengths) + " | memory added |",
        "|---|" + "---|" * (len(lengths) + 1),
    ]
    for method in methods:
        row = []
        for n in lengths:
            pairs = [(tokens[s], t) for (m, s), t in seconds.items() if m == method and length_of[s] == n]
            total_time = sum(t for _, t in pairs)
            row.append(f"{sum(k for k, _ in pairs) / total_time:,.0f}" if pairs and total_time > 0 else "–")
        peak = f"{added[method] / 1024:.2f} GB" if method in added else "–"
        lines.append(f"| {method} | " + " | ".join(row) + f" | {peak} |")
    return "\n".join(lines)


def _mean_or_dash(values: Sequence[float], fmt: str) -> str:
    return format(mean(values), fmt) if values else "–"


def _answer_rows(records: Sequence[Record]) -> dict[tuple[str, float], list[Record]]:
    """Answered records grouped by (method, rate): the full context first, then by decreasing rate."""
    rows: dict[tuple[str, float], list[Record]] = defaultdict(list)
    for r in sorted((r for r in records if "correct" in r.extra), key=lambda r: (r.method != FULL, -r.rate)):
        rows[(r.method, r.rate)].append(r)
    return rows


def answer_table(records: Sequence[Record]) -> str:
    """End-to-end accuracy and mean time to first token per method and rate, the full context first.

    Time to first token is the compressor's time for the sample (the call that paid for scoring) plus the
    target's prefill of the compressed prompt; for the full context it is the prefill alone. Pass the
    records of one context length: times are averaged over every answered record of a row.
    """
    scoring = first_call_seconds(r for r in records if r.method != FULL)
    rows = _answer_rows(records)
    lines = [
        "| method | rate | accuracy | standard | hard | prompt tokens | compressor (s) | prefill (s) | TTFT (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (method, rate), group in rows.items():
        correct = [float(r.extra["correct"]) for r in group]
        standard = [100 * float(r.extra["correct"]) for r in group if not r.hard]
        hard = [100 * float(r.extra["correct"]) for r in group if r.hard]
        compress = mean(0.0 if method == FULL else scoring.get((r.method, r.sample), 0.0) for r in group)
        prefill = mean(float(r.extra["prefill_seconds"]) for r in group)
        cells = [
            f"{100 * mean(correct):.0f}% ({int(sum(correct))}/{len(correct)})",
            _mean_or_dash(standard, ".0f") + ("%" if standard else ""),
            _mean_or_dash(hard, ".0f") + ("%" if hard else ""),
            f"{mean(float(r.extra['prompt_tokens']) for r in group):,.0f}",
            f"{compress:.1f}",
            f"{prefill:.1f}",
            f"{compress + prefill:.1f}",
        ]
        lines.append(f"| {method} | {rate:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def answer_task_table(records: Sequence[Record]) -> str:
    """End-to-end accuracy per task (columns) for each method and rate (rows)."""
    rows = _answer_rows(records)
    tasks = list(dict.fromkeys(r.task for group in rows.values() for r in group))
    lines = ["| method | rate | " + " | ".join(tasks) + " |", "|---|---|" + "---|" * len(tasks)]
    for (method, rate), group in rows.items():
        by_task: dict[str, list[float]] = defaultdict(list)
        for r in group:
            by_task[r.task].append(float(r.extra["correct"]))
        row = [f"{100 * mean(by_task[t]):.0f}%" if by_task[t] else "–" for t in tasks]
        lines.append(f"| {method} | {rate:g} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _answer_section(records: Sequence[Record], config: EvalConfig) -> list[str]:
    answered = [r for r in records if "correct" in r.extra]
    if not answered:
        return []
    skipped = sum(1 for r in records if "answer_skipped" in r.extra)
    parts = [
        f"## End-to-end answers (target `{config.target}`, greedy, up to {config.answer_tokens} tokens)",
        "",
        "Accuracy = share of answers that contain every required answer string (case and spacing ignored).",
        "TTFT = compressor seconds + the target's prefill of the compressed prompt; for the full context, the",
        "prefill alone.",
        "",
    ]
    for length in sorted({r.length for r in answered}):
        subset = [r for r in records if r.length == length]
        parts += [
            f"### {length:,}-token contexts",
            "",
            answer_table(subset),
            "",
            "Accuracy per task:",
            "",
            answer_task_table(subset),
            "",
        ]
    if skipped:
        parts += [f"{skipped} prompts were longer than the target's window and were not answered.", ""]
    return parts


def _budget_check(records: Sequence[Record]) -> str:
    over = [r for r in records if r.kept_tokens > r.budget]
    if not over:
        n = len(records)
        return f"Every one of the {n:,} compressions stayed within its budget (counted in the target tokenizer)."
    worst = max(over, key=lambda r: r.kept_tokens / r.budget)
    return (
        f"**{len(over)} of {len(records):,} compressions exceeded their budget**; worst: {worst.method} on "
        f"{worst.sample} at rate {worst.rate:g} ({worst.kept_tokens} > {worst.budget})."
    )


def markdown_report(records: Sequence[Record], config: EvalConfig, machine: dict[str, Any], command: str) -> str:
    """Return the markdown report: headline tables, per-task tables, hard probes, speed, budget, answers."""
    from contextsieve_eval.report_real import is_real, real_section

    real = real_section(records)
    answers = _answer_section([r for r in records if not is_real(r)], config)
    everything = [r for r in records if r.method != FULL]
    records = [r for r in everything if not is_real(r)]
    standard = [r for r in records if not r.hard]
    hard = [r for r in records if r.hard]
    parts = [
        "# Evaluation report",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine.get('platform')}, {machine.get('cpus')} CPUs, torch {machine.get('torch', '–')}; "
        f"target tokenizer `{config.target}`, draft `{config.draft}`, split `{config.split}`, seed {config.seed}, "
        f"{config.samples} samples per task and length, lengths {', '.join(f'{n:,}' for n in config.lengths)}.",
        "",
        "Evidence recall = share of gold evidence strings that survive intact in the compressed context.",
        "",
        *real,
    ]
    if records:
        parts += ["## Synthetic tasks", ""]
    if standard:
        parts += ["## All standard tasks", "", recall_table(standard), ""]
    if hard:
        parts += [
            "## Hard probes (paraphrased questions, decoys, multi-hop with a lexical gap)",
            "",
            recall_table(hard),
            "",
        ]
    lengths = sorted({r.length for r in records})
    order = list(dict.fromkeys(r.method for r in records))
    if len(lengths) > 1:
        parts += ["## By context length", "", "Each cell: standard tasks / hard probes.", ""]
        for length in lengths:
            subset = [r for r in records if r.length == length]
            parts += [f"### {length:,} tokens", "", length_table(subset, order), ""]
        parts += ["## By task", ""]
    for task in dict.fromkeys(r.task for r in records):
        subset = [r for r in records if r.task == task]
        parts += [f"### {task}", "", recall_table(subset), ""]
    parts += [
        "## Speed and memory",
        "",
        "Tokens per second count the call that paid for scoring (later rates reuse cached scores). Memory added is",
        "the peak resident memory while the method ran minus the process's memory before it was loaded (weights",
        "included); memory freed by earlier methods and reused by the allocator can make it read low.",
        "",
        speed_table(everything),
        "",
        _budget_check(everything),
        "",
        *answers,
    ]
    return "\n".join(parts)


def _panel(record: Record) -> str:
    """Name the plot panel of a record: its task, and its path when that is the documents path."""
    return record.task + (" (documents)" if record.path == "documents" else "")


def plot_recall(records: Sequence[Record], path: Path) -> None:
    """Plot recall against keep rate, one panel per task and path, one line per method (HotpotQA: both hops)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(_panel(r) for r in records))
    methods = list(dict.fromkeys(r.method for r in records))
    rates = sorted({r.rate for r in records})
    styles = ["-", "--", "-.", ":"]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*", "h"]
    columns = min(4, len(tasks))
    rows = -(-len(tasks) // columns)
    legend_columns = min(len(methods), 5)
    legend_inches = 0.25 * -(-len(methods) // legend_columns) + 0.15  # room below the panels for every legend row
    height = 3.2 * rows + legend_inches
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, height), squeeze=False, sharey=True)
    for ax, task in zip(axes.flat, tasks, strict=False):
        for k, method in enumerate(methods):
            points: dict[float, list[float]] = defaultdict(list)
            for r in records:
                if _panel(r) == task and r.method == method:
                    points[r.rate].append(r.recall if r.all_kept is None or r.task != "hotpotqa" else float(r.all_kept))
            xs = sorted(points)
            ax.plot(
                xs,
                [100 * mean(points[x]) for x in xs],
                marker=markers[k % len(markers)],
                linestyle=styles[k % len(styles)],
                alpha=0.85,
                label=method,
            )
        ax.set_title(task + (", both hops" if task.startswith("hotpotqa") else ""))
        ax.set_xscale("log")
        ax.set_xticks(rates)
        ax.set_xticklabels([_fmt_rate(x) for x in rates])
        ax.minorticks_off()
        ax.set_xlabel("keep rate")
        ax.set_ylim(-5, 105)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    axes[0][0].set_ylabel("evidence recall (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=legend_columns, frameon=False)
    fig.tight_layout(rect=(0, legend_inches / height, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_speed(records: Sequence[Record], path: Path) -> None:
    """Plot compression speed (tokens/s, scoring included) against context length, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = first_call_seconds(records)
    tokens = {r.sample: r.tokens for r in records}
    length_of = {r.sample: r.length for r in records}
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(r.method for r in records):
        by_length: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for (m, s), t in seconds.items():
            if m == method:
                by_length[length_of[s]].append((tokens[s], t))
        xs = sorted(by_length)
        ys = [sum(k for k, _ in by_length[x]) / max(sum(t for _, t in by_length[x]), 1e-9) for x in xs]
        ax.plot(xs, ys, marker="o", label=method)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("context length (target tokens)")
    ax.set_ylabel("tokens / second")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(records: Sequence[Record], config: EvalConfig, out: Path, command: str) -> dict[str, Path]:
    """Write ``results.json``, ``report.md``, ``recall.png`` and ``speed.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    paths = {
        "json": out / "results.json",
        "markdown": out / "report.md",
        "recall": out / "recall.png",
        "speed": out / "speed.png",
    }
    payload = {
        "command": command,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(config).items()},
        "machine": machine,
        "records": records_as_dicts(records),
    }
    paths["json"].write_text(json.dumps(payload, indent=1), encoding="utf-8")
    paths["markdown"].write_text(markdown_report(records, config, machine, command), encoding="utf-8")
    compressed = [r for r in records if r.method != FULL]
    plot_recall(compressed, paths["recall"])
    plot_speed(compressed, paths["speed"])
    return paths
