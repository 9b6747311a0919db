from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from contextsieve.errors import EmptyInputError, InputError, QueryNotFoundError
from contextsieve.prompts import ContextPart, ParsedPrompt, parse_prompt

INSTRUCTION = "Answer the question based on the context."
DOCS = (
    "[1] The Eiffel Tower was designed by the engineering firm of Gustave Eiffel and built in 1889.\n"
    "[2] It was the entrance arch to the 1889 World's Fair in Paris.\n"
    "[3] Berlin is the capital of Germany."
)
RAG_PROMPT = f"{INSTRUCTION}\n\nContext:\n{DOCS}\n\nQuestion: Who designed the Eiffel Tower?\nAnswer:"


class FakeLCMessage(BaseModel):
    """Mimics a LangChain v0.3 message (a pydantic v2 model) without importing langchain."""

    type: str
    content: Any
    id: str | None = None
    tool_call_id: str | None = None


class PlainMessage:
    """A non-pydantic message object with a ``role`` attribute."""

    def __init__(self, role: str, content: Any, name: str = "") -> None:
        self.role = role
        self.content = content
        self.name = name


def _texts(parsed: ParsedPrompt) -> list[str]:
    return [part.text for part in parsed.contexts]


def _forced_texts(part: ContextPart) -> list[str]:
    return [part.text[lo:hi] for lo, hi in part.forced]


# --------------------------------------------------------------------------- string prompts


def test_rag_template_exact_split() -> None:
    parsed = parse_prompt(RAG_PROMPT)
    assert parsed.query == "Who designed the Eiffel Tower?"
    assert parsed.query_source == "marker"
    assert not parsed.is_messages
    (part,) = parsed.contexts
    context = f"{INSTRUCTION}\n\nContext:\n{DOCS}"
    assert part.message_index is None
    assert (part.start, part.end) == (0, len(context))
    assert part.text == context == RAG_PROMPT[part.start : part.end]
    label_start = len(INSTRUCTION) + 2
    assert part.forced == ((0, len(INSTRUCTION)), (label_start, label_start + len("Context:")))
    assert _forced_texts(part) == [INSTRUCTION, "Context:"]


def test_rag_template_rebuild_identity_and_shortened() -> None:
    parsed = parse_prompt(RAG_PROMPT)
    assert parsed.rebuild(_texts(parsed)) == RAG_PROMPT
    short = f"{INSTRUCTION}\n\nContext:\n[1] The Eiffel Tower was designed by the firm of Gustave Eiffel"
    assert parsed.rebuild([short]) == (
        "Answer the question based on the context.\n\nContext:\n"
        "[1] The Eiffel Tower was designed by the firm of Gustave Eiffel"
        "\n\nQuestion: Who designed the Eiffel Tower?\nAnswer:"
    )
    assert parsed.rebuild([""]) == "\n\nQuestion: Who designed the Eiffel Tower?\nAnswer:"


def test_q_marker_few_shot_last_marker_wins() -> None:
    prompt = (
        "Q: What is the capital of France?\nA: Paris\n\n"
        "Q: What is the capital of Italy?\nA: Rome\n\n"
        "Q: What is the capital of Spain?\nA:"
    )
    parsed = parse_prompt(prompt)
    assert parsed.query == "What is the capital of Spain?"
    assert parsed.query_source == "marker"
    assert _texts(parsed) == [
        "Q: What is the capital of France?\nA: Paris\n\nQ: What is the capital of Italy?\nA: Rome"
    ]
    assert parsed.contexts[0].forced == ()
    assert parsed.rebuild(["X"]) == "X\n\nQ: What is the capital of Spain?\nA:"


def test_markdown_header_question() -> None:
    prompt = "### Context\nThe sky is blue (Rayleigh scattering).\n\n### Question\nWhy is the sky blue?\n"
    parsed = parse_prompt(prompt)
    assert parsed.query == "Why is the sky blue?"
    (part,) = parsed.contexts
    assert part.text == "### Context\nThe sky is blue (Rayleigh scattering)."
    assert _forced_texts(part) == ["### Context"]
    expected = "### Context\nRayleigh.\n\n### Question\nWhy is the sky blue?\n"
    assert parsed.rebuild(["### Context\nRayleigh."]) == expected


def test_bold_marker_and_bold_answer_cue() -> None:
    prompt = "Some retrieved notes about tides.\n\n**Question:** What causes tides?\n\n**Answer:**"
    parsed = parse_prompt(prompt)
    assert parsed.query == "What causes tides?"
    assert _texts(parsed) == ["Some retrieved notes about tides."]


def test_lowercase_marker_with_leading_whitespace() -> None:
    parsed = parse_prompt("Notes: the meeting is on Monday.\nMore notes.\n   question: when is the meeting?")
    assert parsed.query == "when is the meeting?"
    assert _texts(parsed) == ["Notes: the meeting is on Monday.\nMore notes."]


def test_query_marker_and_marker_inside_documents() -> None:
    prompt = (
        "Document 1: FAQ\nQuestion: How do I reset my password?\nUse settings.\n\n"
        "Query: how can a user reset a password?"
    )
    parsed = parse_prompt(prompt)
    assert parsed.query == "how can a user reset a password?"
    assert _texts(parsed) == ["Document 1: FAQ\nQuestion: How do I reset my password?\nUse settings."]


def test_several_question_markers_last_wins() -> None:
    prompt = "Question: first?\nsome text\n\nQuestion: second?\nmore text\n\nQuestion: third?"
    parsed = parse_prompt(prompt)
    assert parsed.query == "third?"
    assert _texts(parsed) == ["Question: first?\nsome text\n\nQuestion: second?\nmore text"]


def test_instruction_marker_alpaca_style() -> None:
    prompt = (
        "Below is an instruction that describes a task.\n\n### Instruction:\nName the largest planet.\n\n### Response:"
    )
    parsed = parse_prompt(prompt)
    assert parsed.query == "Name the largest planet."
    assert _texts(parsed) == ["Below is an instruction that describes a task."]
    assert parsed.contexts[0].forced == ((0, len("Below is an instruction that describes a task.")),)


def test_words_starting_with_q_are_not_markers() -> None:
    prompt = "Qatar: a country.\nQ&A below.\n\nWhat is the capital of Qatar?"
    parsed = parse_prompt(prompt)
    assert parsed.query_source == "final_paragraph"
    assert parsed.query == "What is the capital of Qatar?"


def test_marker_at_start_gives_no_context() -> None:
    parsed = parse_prompt("Question: what is 2 + 2?\nAnswer:")
    assert parsed.query == "what is 2 + 2?"
    assert parsed.contexts == ()
    assert parsed.rebuild([]) == "Question: what is 2 + 2?\nAnswer:"


def test_crlf_prompt_round_trips() -> None:
    prompt = "Context:\r\nThe river is 40 km long.\r\n\r\nQuestion: How long is the river?\r\nAnswer:"
    parsed = parse_prompt(prompt)
    assert parsed.query == "How long is the river?"
    assert _texts(parsed) == ["Context:\r\nThe river is 40 km long."]
    assert parsed.rebuild(_texts(parsed)) == prompt


def test_final_paragraph_fallback() -> None:
    prompt = "Paris is the capital of France.\n\nIt has 2.1 million people.\n\nHow many people live in Paris?"
    parsed = parse_prompt(prompt)
    assert parsed.query_source == "final_paragraph"
    assert parsed.query == "How many people live in Paris?"
    assert _texts(parsed) == ["Paris is the capital of France.\n\nIt has 2.1 million people."]
    assert parsed.rebuild(["Paris: 2.1M."]) == "Paris: 2.1M.\n\nHow many people live in Paris?"


def test_final_paragraph_skips_trailing_answer_cue() -> None:
    prompt = "Water boils at 100 C at sea level.\n\nAt what temperature does water boil?\n\nAnswer:"
    parsed = parse_prompt(prompt)
    assert parsed.query == "At what temperature does water boil?"
    assert _texts(parsed) == ["Water boils at 100 C at sea level."]
    assert parsed.rebuild(_texts(parsed)) == prompt


def test_single_paragraph_raises_with_hint() -> None:
    with pytest.raises(QueryNotFoundError, match="query="):
        parse_prompt("Some text without any question marker on a single paragraph.")


def test_marker_without_question_text_raises() -> None:
    with pytest.raises(QueryNotFoundError, match="Question:"):
        parse_prompt("Docs here.\n\nQuestion:\nAnswer:")


def test_explicit_query_present() -> None:
    prompt = "Docs about tides.\nThe moon pulls the oceans.\n\nQuestion: What causes tides?\nAnswer:"
    parsed = parse_prompt(prompt, query="  What causes tides?  ")
    assert parsed.query == "What causes tides?"
    assert parsed.query_source == "explicit"
    assert _texts(parsed) == ["Docs about tides.\nThe moon pulls the oceans."]
    assert parsed.rebuild(["Moon."]) == "Moon.\n\nQuestion: What causes tides?\nAnswer:"


def test_explicit_query_uses_last_occurrence_without_marker() -> None:
    prompt = "Why is the sky blue? is a common question.\nRayleigh scattering.\nWhy is the sky blue?"
    parsed = parse_prompt(prompt, query="Why is the sky blue?")
    assert _texts(parsed) == ["Why is the sky blue? is a common question.\nRayleigh scattering."]


def test_explicit_query_absent_means_whole_prompt_is_context() -> None:
    prompt = "Answer using the notes below.\nThe meeting moved to Tuesday at 3pm."
    parsed = parse_prompt(prompt, query="When is the meeting?")
    assert parsed.query == "When is the meeting?"
    assert parsed.query_source == "explicit"
    (part,) = parsed.contexts
    assert (part.start, part.end) == (0, len(prompt))
    assert _forced_texts(part) == ["Answer using the notes below."]


def test_explicit_query_overrides_single_paragraph_error() -> None:
    parsed = parse_prompt("One paragraph of context only.", query="What?")
    assert _texts(parsed) == ["One paragraph of context only."]


@pytest.mark.parametrize("prompt", ["", "   \n\t  "])
def test_empty_string_prompt(prompt: str) -> None:
    with pytest.raises(EmptyInputError):
        parse_prompt(prompt)


def test_empty_explicit_query() -> None:
    with pytest.raises(EmptyInputError):
        parse_prompt("ctx\n\nQuestion: q?", query="   ")


@pytest.mark.parametrize("prompt", [b"bytes prompt", 42, {"role": "user", "content": "hi"}])
def test_unsupported_prompt_type(prompt: Any) -> None:
    with pytest.raises(InputError):
        parse_prompt(prompt)


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_prompt("single paragraph")


def test_rebuild_length_mismatch_and_bad_types() -> None:
    parsed = parse_prompt(RAG_PROMPT)
    with pytest.raises(InputError, match="expected 1"):
        parsed.rebuild([])
    with pytest.raises(InputError, match="expected 1"):
        parsed.rebuild(["a", "b"])
    with pytest.raises(InputError):
        parsed.rebuild("abc")
    with pytest.raises(InputError):
        parsed.rebuild([None])  # type: ignore[list-item]


def test_parsed_prompt_is_frozen() -> None:
    parsed = parse_prompt(RAG_PROMPT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.query = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.contexts[0].start = 3  # type: ignore[misc]


def test_context_part_validates_its_range() -> None:
    with pytest.raises(InputError):
        ContextPart(message_index=None, start=0, end=5, text="abc", forced=())
    with pytest.raises(InputError):
        ContextPart(message_index=None, start=0, end=3, text="abc", forced=((2, 9),))


# --------------------------------------------------------------------------- chat messages as dicts


def _rag_chat() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": RAG_PROMPT, "name": "alice"},
    ]


def test_chat_dicts_system_and_long_user() -> None:
    messages = _rag_chat()
    snapshot = copy.deepcopy(messages)
    parsed = parse_prompt(messages)
    assert parsed.is_messages
    assert parsed.query == "Who designed the Eiffel Tower?"
    assert parsed.query_source == "marker"
    (part,) = parsed.contexts
    assert part.message_index == 1
    assert part.text == f"{INSTRUCTION}\n\nContext:\n{DOCS}"
    assert (part.start, part.end) == (0, len(part.text))
    assert _forced_texts(part) == [INSTRUCTION, "Context:"]

    rebuilt = parsed.rebuild(["short context"])
    assert isinstance(rebuilt, list)
    assert rebuilt is not messages
    assert rebuilt[0] is messages[0]
    assert rebuilt[1] == {
        "role": "user",
        "content": "short context\n\nQuestion: Who designed the Eiffel Tower?\nAnswer:",
        "name": "alice",
    }
    assert messages == snapshot


def test_chat_identity_rebuild_equals_input() -> None:
    messages = _rag_chat()
    parsed = parse_prompt(messages)
    assert parsed.rebuild(_texts(parsed)) == messages


def _agent_chat() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a research agent."},
        {"role": "user", "content": "Find facts about the Nile."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "search"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "The Nile is about 6650 km long."},
        {"role": "assistant", "content": "The Nile is about 6650 km long."},
        {"role": "user", "content": "   "},
        {"role": "user", "content": "How long is the Nile in miles?"},
    ]


def test_multi_turn_with_tool_messages() -> None:
    messages = _agent_chat()
    snapshot = copy.deepcopy(messages)
    parsed = parse_prompt(messages)
    assert parsed.query == "How long is the Nile in miles?"
    assert parsed.query_source == "last_user_message"
    assert [p.message_index for p in parsed.contexts] == [1, 3, 4]
    assert _texts(parsed) == [
        "Find facts about the Nile.",
        "The Nile is about 6650 km long.",
        "The Nile is about 6650 km long.",
    ]
    assert all(p.forced == () for p in parsed.contexts)
    rebuilt = parsed.rebuild(["Nile facts?", "Nile: 6650 km.", "6650 km."])
    assert isinstance(rebuilt, list)
    assert [m["content"] for m in rebuilt] == [
        "You are a research agent.",
        "Nile facts?",
        None,
        "Nile: 6650 km.",
        "6650 km.",
        "   ",
        "How long is the Nile in miles?",
    ]
    assert rebuilt[3]["tool_call_id"] == "call_1"
    for index in (0, 2, 5, 6):
        assert rebuilt[index] is messages[index]
    assert messages == snapshot


def test_last_user_final_paragraph_and_trailing_prefill() -> None:
    messages = [
        {"role": "user", "content": "Here is my log:\nERROR disk full\n\nWhy did the job fail?"},
        {"role": "assistant", "content": "The job failed because"},
    ]
    parsed = parse_prompt(messages)
    assert parsed.query == "Why did the job fail?"
    assert parsed.query_source == "final_paragraph"
    (part,) = parsed.contexts
    assert part.message_index == 0
    assert part.text == "Here is my log:\nERROR disk full"
    assert _forced_texts(part) == ["Here is my log:"]
    rebuilt = parsed.rebuild(["ERROR disk full"])
    assert isinstance(rebuilt, list)
    assert rebuilt[0]["content"] == "ERROR disk full\n\nWhy did the job fail?"
    assert rebuilt[1] is messages[1]


def test_human_ai_roles_are_normalized() -> None:
    messages = [
        {"role": "human", "content": "Tell me about owls."},
        {"role": "ai", "content": "Owls are nocturnal birds."},
        {"role": "human", "content": "Do they hunt at night?"},
    ]
    parsed = parse_prompt(messages)
    assert parsed.query == "Do they hunt at night?"
    assert [p.message_index for p in parsed.contexts] == [0, 1]


def test_text_blocks_are_context_and_other_blocks_pass_through() -> None:
    blocks = [{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": "x"}]
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "earlier block message"}, {"type": "image_url"}]},
        {"role": "assistant", "content": "An earlier answer."},
        {"role": "user", "content": blocks},
    ]
    parsed = parse_prompt(messages)
    assert parsed.query == "What is in this image?"
    assert parsed.query_source == "last_user_message"
    assert [(p.message_index, p.block, p.text) for p in parsed.contexts] == [
        (0, 0, "earlier block message"),
        (1, None, "An earlier answer."),
    ]
    rebuilt = parsed.rebuild(["earlier", "Earlier."])
    assert rebuilt[0] == {"role": "user", "content": [{"type": "text", "text": "earlier"}, {"type": "image_url"}]}
    assert rebuilt[0]["content"][1] is messages[0]["content"][1]
    assert messages[0]["content"][0]["text"] == "earlier block message"  # the input is not mutated
    assert rebuilt[1] == {"role": "assistant", "content": "Earlier."}
    assert rebuilt[2] is messages[2]


def test_the_question_marker_is_found_inside_the_last_text_block() -> None:
    long = "The ferry leaves pier four at 7:15. Tickets cost twelve euros."
    messages = [
        {"role": "tool", "content": [{"type": "text", "text": "Tool says: the pier is closed on Sundays."}]},
        {
            "role": "user",
            "content": ["Doc A: owls hunt at night.", {"type": "text", "text": long + "\n\nQuestion: When?"}],
        },
    ]
    parsed = parse_prompt(messages)
    assert parsed.query == "When?"
    assert parsed.query_source == "marker"
    assert [(p.message_index, p.block, p.text) for p in parsed.contexts] == [
        (0, 0, "Tool says: the pier is closed on Sundays."),
        (1, 0, "Doc A: owls hunt at night."),
        (1, 1, long),
    ]
    rebuilt = parsed.rebuild(["Tool says.", "Doc A.", "The ferry leaves pier four at 7:15."])
    assert rebuilt[1]["content"] == [
        "Doc A.",
        {"type": "text", "text": "The ferry leaves pier four at 7:15.\n\nQuestion: When?"},
    ]


def test_explicit_query_in_messages() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Report: revenue grew 12% in Q3.\nCosts fell.\nWhat was the growth?"},
    ]
    parsed = parse_prompt(messages, query="What was the growth?")
    assert parsed.query_source == "explicit"
    assert _texts(parsed) == ["Report: revenue grew 12% in Q3.\nCosts fell."]

    absent = parse_prompt(messages, query="Summarize the report.")
    assert absent.query == "Summarize the report."
    assert [p.message_index for p in absent.contexts] == [1]
    assert absent.contexts[0].text == messages[1]["content"]


def test_no_user_message() -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "assistant", "content": "A long earlier answer."},
        {"role": "tool", "content": "tool output", "tool_call_id": "t1"},
    ]
    with pytest.raises(QueryNotFoundError, match="query="):
        parse_prompt(messages)
    parsed = parse_prompt(messages, query="What did the tool say?")
    assert parsed.query_source == "explicit"
    assert [p.message_index for p in parsed.contexts] == [1, 2]


def test_empty_last_user_message_raises() -> None:
    with pytest.raises(QueryNotFoundError):
        parse_prompt([{"role": "system", "content": "sys"}, {"role": "user", "content": "  "}])


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "user", "content": ""}],
        [{"role": "user", "content": "  "}, {"role": "assistant", "content": None}],
    ],
)
def test_empty_message_lists(messages: list[dict[str, Any]]) -> None:
    with pytest.raises(EmptyInputError):
        parse_prompt(messages)


@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        ({"content": "no role"}, "message 1"),
        ({"role": "wizard", "content": "x"}, "message 1"),
        ({"role": "user"}, "message 1"),
        ({"role": "user", "content": 5}, "message 1"),
        ("just a string", "message 1"),
        (object(), "message 1"),
    ],
)
def test_bad_message_names_its_index(bad: Any, pattern: str) -> None:
    messages = [{"role": "system", "content": "sys"}, bad, {"role": "user", "content": "hi?"}]
    with pytest.raises(InputError, match=pattern):
        parse_prompt(messages)


def test_tuple_of_messages_is_accepted() -> None:
    messages = ({"role": "assistant", "content": "Earlier."}, {"role": "user", "content": "Next?"})
    parsed = parse_prompt(messages)
    assert parsed.query == "Next?"
    assert isinstance(parsed.rebuild(["E."]), list)


# --------------------------------------------------------------------------- message objects


def _lc_chat() -> list[FakeLCMessage]:
    return [
        FakeLCMessage(type="system", content="You are a helpful assistant.", id="m0"),
        FakeLCMessage(type="human", content="Look up the weather in Oslo.", id="m1"),
        FakeLCMessage(type="ai", content="Calling the weather tool.", id="m2"),
        FakeLCMessage(type="tool", content="Oslo: 4 C, light rain.", id="m3", tool_call_id="call_9"),
        FakeLCMessage(type="human", content=f"Context:\n{DOCS}\n\nQ: Who designed the Eiffel Tower?", id="4"),
    ]


def test_langchain_like_objects() -> None:
    messages = _lc_chat()
    snapshot = [m.model_copy(deep=True) for m in messages]
    parsed = parse_prompt(messages)
    assert parsed.query == "Who designed the Eiffel Tower?"
    assert parsed.query_source == "marker"
    assert [p.message_index for p in parsed.contexts] == [1, 2, 3, 4]
    assert parsed.contexts[3].text == f"Context:\n{DOCS}"
    assert _forced_texts(parsed.contexts[3]) == ["Context:"]

    rebuilt = parsed.rebuild(["Weather in Oslo?", "Calling tool.", "Oslo 4 C rain.", "Context:\n[1] Eiffel."])
    assert isinstance(rebuilt, list)
    assert rebuilt is not messages
    assert rebuilt[0] is messages[0]
    assert all(isinstance(m, FakeLCMessage) for m in rebuilt)
    assert [m.id for m in rebuilt] == ["m0", "m1", "m2", "m3", "4"]
    assert [m.type for m in rebuilt] == [m.type for m in messages]
    assert rebuilt[3].tool_call_id == "call_9"
    assert rebuilt[3].content == "Oslo 4 C rain."
    assert rebuilt[4].content == "Context:\n[1] Eiffel.\n\nQ: Who designed the Eiffel Tower?"
    assert messages == snapshot
    assert all(new is not old for new, old in zip(rebuilt[1:], messages[1:], strict=True))


def test_langchain_like_identity_rebuild() -> None:
    messages = _lc_chat()
    parsed = parse_prompt(messages)
    assert parsed.rebuild(_texts(parsed)) == messages


def test_plain_objects_with_role_attribute() -> None:
    messages = [
        PlainMessage("system", "Rules."),
        PlainMessage("assistant", "Earlier reply.", name="bot"),
        PlainMessage("user", "Background text.\n\nWhat now?"),
    ]
    parsed = parse_prompt(messages)
    assert parsed.query == "What now?"
    assert [p.message_index for p in parsed.contexts] == [1, 2]
    rebuilt = parsed.rebuild(["Reply.", "Bg."])
    assert isinstance(rebuilt, list)
    assert rebuilt[0] is messages[0]
    assert rebuilt[1] is not messages[1]
    assert (rebuilt[1].role, rebuilt[1].content, rebuilt[1].name) == ("assistant", "Reply.", "bot")
    assert rebuilt[2].content == "Bg.\n\nWhat now?"
    assert messages[1].content == "Earlier reply."
    assert messages[2].content == "Background text.\n\nWhat now?"


def test_rebuild_detects_messages_changed_after_parsing() -> None:
    messages = [{"role": "assistant", "content": "Earlier."}, {"role": "user", "content": "Next?"}]
    parsed = parse_prompt(messages)
    messages[0]["content"] = "Changed!"
    with pytest.raises(InputError, match="changed"):
        parsed.rebuild(["E."])


def test_tool_results_after_the_last_user_turn_are_context() -> None:
    messages = [
        {"role": "system", "content": "You are a helpful agent."},
        {"role": "user", "content": "What does the release log say about the Halvorsen vault?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1"}]},
        {"role": "tool", "content": "  Log line one.\nThe Halvorsen vault code changed.  ", "tool_call_id": "call_1"},
    ]
    parsed = parse_prompt(messages)
    assert parsed.query == "What does the release log say about the Halvorsen vault?"
    assert [(p.message_index, p.text) for p in parsed.contexts] == [
        (3, "Log line one.\nThe Halvorsen vault code changed.")
    ]
    rebuilt = parsed.rebuild(["The Halvorsen vault code changed."])
    assert rebuilt[3] == {"role": "tool", "content": "  The Halvorsen vault code changed.  ", "tool_call_id": "call_1"}
    assert rebuilt[:3] == messages[:3]
    assert messages[3]["content"].startswith("  Log line one.")
