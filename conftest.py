"""Every test folder of the checkout (core, evaluation, integrations) shares the offline fixtures of the core."""

from __future__ import annotations

import importlib.util

import pytest

pytest_plugins = ["contextsieve.pytest_plugin"]


@pytest.fixture(autouse=True)
def _no_shared_vector_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's persistent vector store out of the tests (each test that wants one names its folder)."""
    monkeypatch.delenv("CONTEXTSIEVE_REUSE_DIR", raising=False)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test marked ``ruler`` where RULER's package (HotpotQA, SQuAD and RULER's generators) is missing."""
    if item.get_closest_marker("ruler") and importlib.util.find_spec("long_context_eval") is None:
        from contextsieve_eval.real.source import RULER_INSTALL

        pytest.skip(f"needs RULER's package: {RULER_INSTALL} (make data)")
