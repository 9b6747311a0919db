"""Render: kept chunks become text made only of spans of the input, in the order asked for."""

from __future__ import annotations

from contextsieve.rendering.runs import Rendered, Run, kept_runs, order_runs, render, render_runs

__all__ = ["Rendered", "Run", "kept_runs", "order_runs", "render", "render_runs"]
