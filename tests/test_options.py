"""Every option is declared once: typed kwargs, CLI flags and adapters are derived from the config models."""

from __future__ import annotations

import argparse
from typing import get_type_hints

import pytest

from contextsieve import Compressor
from contextsieve.cli_options import add_model_flags, given_values
from contextsieve.config import (
    HubOptions,
    ScoringConfig,
    ScoringOptions,
    SelectionConfig,
    SelectionOptions,
    selection_config,
)
from contextsieve.errors import ConfigError
from contextsieve.lru import LRUCache
from contextsieve.testing import KeywordScorer


@pytest.mark.parametrize(("options", "model"), [(SelectionOptions, SelectionConfig), (ScoringOptions, ScoringConfig)])
def test_typed_keyword_options_are_exactly_the_config_fields(options, model) -> None:
    assert list(get_type_hints(options)) == list(model.model_fields)


def test_every_field_is_documented() -> None:
    for model in (SelectionConfig, ScoringConfig, HubOptions):
        assert all(field.description for field in model.model_fields.values()), model


def test_options_round_trip_through_the_keyword_arguments() -> None:
    config = selection_config(budget=30, order="edges", force_patterns=r"\d+", separator=" | ")
    assert config.force_patterns == (r"\d+",)
    assert selection_config(**config.options()) == config


def test_cli_flags_cover_every_field_and_parse_back_to_the_same_config() -> None:
    parser = argparse.ArgumentParser()
    for model in (SelectionConfig, ScoringConfig, HubOptions):
        add_model_flags(parser, model, types_={"target_tokenizer": str})
    flags = {a.dest for a in parser._actions}
    assert set(SelectionConfig.model_fields) | set(ScoringConfig.model_fields) | set(HubOptions.model_fields) <= flags
    argv = "--budget 40 --order relevance --force-patterns a+ --force-patterns b --layers 4 --local-files-only"
    args = parser.parse_args(argv.split())
    assert SelectionConfig(**given_values(args, SelectionConfig)) == SelectionConfig(
        budget=40, order="relevance", force_patterns=("a+", "b")
    )
    assert given_values(args, ScoringConfig) == {"layers": 4}
    assert HubOptions(**given_values(args, HubOptions)).kwargs() == {"local_files_only": True}
    with pytest.raises(SystemExit):
        parser.parse_args(["--order", "random"])


def test_compress_methods_take_the_same_options_as_the_config(draft_tokenizer) -> None:
    compressor = Compressor(KeywordScorer(draft_tokenizer))
    text = "The ferry leaves at seven. " * 40 + "Bring a coat."
    config = SelectionConfig(budget=12, order="relevance", separator=" | ")
    by_config = compressor.compress(text, "When does the ferry leave?", **config.options())
    by_kwargs = compressor.compress(text, "When does the ferry leave?", budget=12, order="relevance", separator=" | ")
    assert by_config.text == by_kwargs.text and by_config.compressed_tokens <= 12
    with pytest.raises(ConfigError, match="ratio"):
        compressor.compress(text, "q", ratio=0.5)  # type: ignore[call-arg]


def test_hub_options_are_refused_for_registered_names() -> None:
    with pytest.raises(ConfigError, match="registered model installed from PyPI"):
        Compressor.from_pretrained("smollm2-135m", hub=HubOptions(revision="main"))


def test_lru_evicts_the_least_recently_used_and_counts() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("c") == 3 and len(cache) == 2
    info = cache.info()
    assert (info.hits, info.misses, info.size, info.maxsize) == (2, 1, 2, 2)
    with pytest.raises(ValueError, match=">= 0"):
        LRUCache(-1)


def test_a_weighed_lru_keeps_its_total_weight_within_the_cap() -> None:
    cache: LRUCache[str, str] = LRUCache(10, max_weight=10, weigh=lambda _, value: len(value))
    cache.put("a", "xxxx")
    cache.put("b", "xxxx")
    cache.put("a", "xxxxx")  # a is replaced (weight 5) and is now the most recent
    cache.put("c", "xx")  # 4 + 5 + 2 > 10: b goes
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, "xxxxx", "xx")
    cache.put("d", "x" * 11)  # heavier than the cap alone: not kept, nothing evicted
    assert cache.get("d") is None and len(cache) == 2
    cache.put("c", "x" * 11)  # nor kept in place of an older value, which goes
    assert cache.get("c") is None and len(cache) == 1
    cache.put("e", "x" * 6)  # 5 + 6 > 10: a goes
    assert (len(cache), cache.get("e"), cache.get("a")) == (1, "x" * 6, None)


def test_component_options_take_every_field_flat_or_grouped() -> None:
    from contextsieve.adapters import CompressorOptions

    flat = CompressorOptions(budget=50, order="edges", layers=4, lookahead=0, revision="v1", dtype="float32")
    grouped = CompressorOptions(
        selection=SelectionConfig(budget=50, order="edges"),
        scoring=ScoringConfig(layers=4, lookahead=0),
        hub=HubOptions(revision="v1"),
        dtype="float32",
    )
    assert flat.selection == grouped.selection == SelectionConfig(budget=50, order="edges")
    assert flat.scoring == grouped.scoring and flat.scoring.model_fields_set == {"layers", "lookahead"}
    assert flat.hub == grouped.hub == HubOptions(revision="v1")
    assert CompressorOptions().selection == SelectionConfig(rate=0.5)
    assert CompressorOptions(selection=SelectionConfig(budget=9), top_p=0.5).selection == SelectionConfig(
        budget=9, top_p=0.5
    )
    with pytest.raises(ConfigError, match="selection: give either budget or rate, not both"):
        CompressorOptions(budget=10, rate=0.2)
    with pytest.raises(ConfigError, match="ratio: Extra inputs are not permitted"):
        CompressorOptions(ratio=0.2)


def test_assigning_a_field_keeps_the_configs_typed() -> None:
    from contextsieve.adapters import CompressorOptions

    options = CompressorOptions(budget=40, layers=4)
    options.keep_all = True  # frameworks assign fields after construction (validate_assignment)
    options.device = "cpu"
    assert options.selection == SelectionConfig(budget=40) and options.scoring == ScoringConfig(layers=4)
    assert options.keep_all and options.device == "cpu"
