"""Serving under load: concurrent clients against one batching server, next to the same requests one at a time.

A ``contextsieve serve`` app (the default model, micro-batching on, reuse off so no pass reads another's states)
runs under uvicorn on a free loopback port. Each request is one real-prose context of 2k-8k tokens with its own
budget. The run sends them:

* in process, one at a time, straight to ``Compressor.compress``: the reference results;
* over HTTP, one at a time (one client);
* over HTTP from N concurrent clients (``--clients 1,8,32,64``), each a bounded loop over its share.

Every HTTP answer must equal the in-process result for its request (text and spans), and every request must come
back exactly once. Reports requests/s, tokens/s, p50/p99 latency and mean batch size per level, with the speedup
over one-at-a-time as a ratio measured in the same run. ``--rounds N`` repeats every level N times, each round in
the opposite order of the one before, and reports each level's ratio of total times (which cancels a drift of the
machine that is linear in time) with the lowest and highest ratio within one round: one pass on a noisy machine
spreads by several percent.
``--share-passes`` lets a micro-batch share forward passes
(``BatchingConfig.share_passes``); answers may then differ from the in-process ones on near-ties, and the table says
how many did not. Writes ``serving.json`` and ``serving.md`` (``serving-shared.*`` with ``--share-passes``) into
``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench_reuse import QUESTIONS  # the same questions over the same prose (benchmarks/ is on sys.path)


def make_requests(compressor: Any, count: int, seed: int) -> list[dict[str, Any]]:
    """Real-prose contexts of 2k-8k tokens (scorer tokenizer), each with a question and a budget of 5-25%."""
    from contextsieve_eval import prose_corpus

    paragraphs = prose_corpus()
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        tokens = rng.randint(2048, 8192)
        start = rng.randrange(len(paragraphs))
        pieces, total = [], 0
        while total < tokens:
            paragraph = paragraphs[(start + len(pieces)) % len(paragraphs)]
            pieces.append(paragraph)
            total += compressor.count_tokens(paragraph) + 1
        budget = int(tokens * rng.choice([0.05, 0.1, 0.15, 0.25]))
        out.append({"context": "\n\n".join(pieces), "query": rng.choice(QUESTIONS), "budget": budget})
    return out


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def send_all(url: str, requests: list[dict[str, Any]], clients: int) -> tuple[list[Any], list[float], float]:
    """Send every request from ``clients`` concurrent loops; return answers (in request order), latencies, wall."""
    import httpx

    answers: list[Any] = [None] * len(requests)
    latencies: list[float] = []
    queue = list(range(len(requests)))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def loop() -> None:
            while queue:  # bounded: stops when the shared list of requests is empty
                index = queue.pop(0)
                started = time.perf_counter()
                response = await client.post("/v1/compress", json=requests[index])
                latencies.append(time.perf_counter() - started)
                if answers[index] is not None:
                    msg = f"request {index} answered twice"
                    raise RuntimeError(msg)
                answers[index] = response.json() if response.status_code == 200 else response.status_code

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(clients)))
        wall = time.perf_counter() - started
    return answers, latencies, wall


def run(
    model: str, device: str, count: int, levels: list[int], seed: int, rounds: int = 1, share_passes: bool = False
) -> dict[str, Any]:
    """Measure one-at-a-time and each concurrency level against the in-process reference, ``rounds`` times."""
    from contextsieve import Compressor
    from contextsieve.config import BatchingConfig
    from contextsieve.serving.app import create_app
    from contextsieve.serving.background import BackgroundServer

    batching = BatchingConfig(max_batch=16, max_wait_ms=5, max_queue=1024, share_passes=share_passes)
    compressor = Compressor.from_pretrained(model, device=device, reuse_mb=0, batching=batching)
    requests = make_requests(compressor, count, seed)
    tokens = sum(compressor.count_tokens(r["context"]) for r in requests)
    reference_started = time.perf_counter()
    reference = [compressor.run([_request(r)])[0] for r in requests]
    in_process = time.perf_counter() - reference_started
    passes = []
    with BackgroundServer(create_app(compressor)) as server:
        for round_index in range(rounds):
            order = [1, *levels] if round_index % 2 == 0 else [*levels[::-1], 1]
            for clients in order:
                passes.append({"round": round_index, **_measure(compressor, server.url, requests, reference, clients)})
                print(json.dumps(passes[-1]), flush=True)
    compressor.close()
    rows = [_summarise(passes, clients, tokens) for clients in [1, *levels]]
    return {"model": compressor.name, "device": device, "tokens": tokens, "in_process_s": round(in_process, 2),
            "rounds": rounds, "share_passes": share_passes, "rows": rows, "passes": passes}  # fmt: skip


def _measure(
    compressor: Any, url: str, requests: list[dict[str, Any]], reference: list[Any], clients: int
) -> dict[str, Any]:
    """Send every request from ``clients`` loops once; count equal answers and the batches the server ran."""
    before = compressor.batch_stats()
    answers, latencies, wall = asyncio.run(send_all(url, requests, clients))
    after = compressor.batch_stats()
    assert before is not None and after is not None
    equal = sum(
        isinstance(a, dict) and a["text"] == r.text and [tuple(s) for s in a["spans"]] == list(r.spans)
        for a, r in zip(answers, reference, strict=True)
    )
    batches = after.batches - before.batches
    return {
        "clients": clients,
        "answered": sum(a is not None for a in answers),
        "equal_to_in_process": equal,
        "seconds": round(wall, 2),
        "latencies": [round(value, 3) for value in latencies],
        "mean_batch": round((after.items - before.items) / batches, 2) if batches else 0.0,
    }


def _summarise(passes: list[dict[str, Any]], clients: int, tokens: int) -> dict[str, Any]:
    """One level over every round: wall time and speedup from the sums over rounds, per-round ratios, pooled latency.

    The rounds alternate their order, so every level sits at the same mean position in the run: the ratio of the
    sums cancels a drift of the machine that is linear in time, where one round's ratio does not.
    """
    mine = [p for p in passes if p["clients"] == clients]
    serial = {p["round"]: p["seconds"] for p in passes if p["clients"] == 1}
    ratios = sorted(serial[p["round"]] / p["seconds"] for p in mine)
    seconds = statistics.mean(p["seconds"] for p in mine)
    latencies = [value for p in mine for value in p["latencies"]]
    count = len(mine[0]["latencies"])
    return {
        "clients": clients,
        "requests": count,
        "passes": len(mine),
        "answered": sum(p["answered"] for p in mine),
        "equal_to_in_process": sum(p["equal_to_in_process"] for p in mine),
        "seconds": round(seconds, 2),
        "requests_per_s": round(count / seconds, 3),
        "tokens_per_s": round(tokens / seconds),
        "p50_s": round(percentile(latencies, 0.5), 3),
        "p99_s": round(percentile(latencies, 0.99), 3),
        "mean_batch": round(statistics.mean(p["mean_batch"] for p in mine), 2),
        "speedup_vs_one_at_a_time": round(sum(serial.values()) / sum(p["seconds"] for p in mine), 3),
        "speedup_low": round(ratios[0], 3),
        "speedup_high": round(ratios[-1], 3),
    }


def _request(body: dict[str, Any]) -> Any:
    from contextsieve.requests import CompressRequest

    return CompressRequest(**body)


def write(result: dict[str, Any], out: Path, command: str) -> None:
    """Write the JSON record and a Markdown table."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"command": command, "machine": {"platform": platform.platform(), "python": platform.python_version()},
              **result}  # fmt: skip
    name = "serving-shared" if result["share_passes"] else "serving"
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Serving under load ({result['model']} on {result['device']}, {result['rows'][0]['requests']} requests, "
        f"{result['tokens']:,} tokens)",
        "",
        f"`{command}`",
        "",
        "| clients | req/s | tokens/s | p50 s | p99 s | mean batch | speedup (lowest-highest) | equal to in-process "
        "| answered |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        sent = row["requests"] * row["passes"]
        lines.append(
            f"| {row['clients']} | {row['requests_per_s']} | {row['tokens_per_s']:,} | {row['p50_s']} | "
            f"{row['p99_s']} | {row['mean_batch']} | {row['speedup_vs_one_at_a_time']}x "
            f"({row['speedup_low']}-{row['speedup_high']}) | {row['equal_to_in_process']}/{sent} | "
            f"{row['answered']}/{sent} |"
        )
    lines.append("")
    serial = [p["seconds"] for p in result["passes"] if p["clients"] == 1]
    lines.append(
        f"{result['rounds']} round(s), each in the opposite order of the one before; per level the mean wall time, the "
        "speedup as the one-at-a-time passes' total time over the level's, and in brackets the lowest and highest "
        f"ratio within one round. One at a time took {' s, '.join(str(x) for x in serial)} s."
    )
    lines.append(f"In process, one at a time: {result['in_process_s']} s.")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="auto")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--clients", default="8,64", help="concurrency levels after one at a time")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every level, alternating the order")
    parser.add_argument("--share-passes", action="store_true", help="score each micro-batch in shared model batches")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",") if x]
    result = run(args.model, args.device, args.requests, levels, args.seed, args.rounds, args.share_passes)
    command = (
        f"python benchmarks/bench_serving.py --model {args.model} --device {args.device} "
        f"--requests {args.requests} --clients {args.clients} --rounds {args.rounds}"
        + (" --share-passes" if args.share_passes else "")
    )
    write(result, args.out, command)


if __name__ == "__main__":
    main()
