"""The module exports exactly the postprocessor, and LlamaIndex serialises it under its class name."""

from llama_index.core.postprocessor.types import BaseNodePostprocessor

from llama_index.postprocessor.contextsieve import ContextSievePostprocessor, __all__

EXPECTED_ALL = ["ContextSievePostprocessor"]


def test_all_imports() -> None:
    assert sorted(EXPECTED_ALL) == sorted(__all__)


def test_class_is_a_node_postprocessor() -> None:
    names = [b.__name__ for b in ContextSievePostprocessor.__mro__]
    assert BaseNodePostprocessor.__name__ in names
    assert ContextSievePostprocessor.class_name() == "ContextSievePostprocessor"
