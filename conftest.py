"""Every test folder of the checkout (core, evaluation, integrations) shares the offline fixtures of the core."""

from __future__ import annotations

import pytest

pytest_plugins = ["contextsieve.pytest_plugin"]


@pytest.fixture(autouse=True)
def _no_shared_vector_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's persistent vector store out of the tests (each test that wants one names its folder)."""
    monkeypatch.delenv("CONTEXTSIEVE_REUSE_DIR", raising=False)
