"""The package exports exactly its public components."""

from langchain_contextsieve import __all__

EXPECTED_ALL = ["ContextSieveCompressor", "ContextSieveMiddleware"]


def test_all_imports() -> None:
    assert sorted(EXPECTED_ALL) == sorted(__all__)


def test_every_export_resolves() -> None:
    import langchain_contextsieve

    for name in EXPECTED_ALL:
        assert getattr(langchain_contextsieve, name).__name__ == name
