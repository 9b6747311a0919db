"""Prometheus metrics of a server: requests, latency, batch sizes, queue depth, tokens in and out."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ServerMetrics"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)


class ServerMetrics:
    """The metrics of one app, in a registry of their own (two apps in one process never mix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "contextsieve_requests", "Requests answered, by endpoint and status.", ["endpoint", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "contextsieve_request_seconds", "Request latency in seconds.", ["endpoint"], buckets=_LATENCY,
            registry=self.registry,
        )  # fmt: skip
        self.batch_size = Histogram(
            "contextsieve_batch_size", "Requests per scoring batch.", buckets=_SIZES, registry=self.registry
        )
        self.batch_seconds = Histogram(
            "contextsieve_batch_seconds", "Seconds per scoring batch.", buckets=_LATENCY, registry=self.registry
        )
        self.queue_depth = Gauge("contextsieve_queue_depth", "Requests waiting for a batch.", registry=self.registry)
        self.tokens_in = Counter("contextsieve_tokens_in", "Target tokens received.", registry=self.registry)
        self.tokens_out = Counter("contextsieve_tokens_out", "Target tokens kept.", registry=self.registry)
        self.cancelled = Counter(
            "contextsieve_cancelled", "Requests whose client left before the answer.", registry=self.registry
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        """Record one batch (a :class:`~contextsieve.batching.MicroBatcher` listener)."""
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def observe_result(self, result: Any) -> None:
        """Count a result's tokens in and out."""
        self.tokens_in.inc(result.original_tokens)
        self.tokens_out.inc(result.compressed_tokens)

    def render(self) -> bytes:
        """Return the Prometheus text exposition."""
        return generate_latest(self.registry)
