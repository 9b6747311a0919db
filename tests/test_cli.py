"""The command line, end to end, with a tiny draft saved as a local Hugging Face folder."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from contextsieve.cli import main
from contextsieve.testing import corpus_text, tiny_draft

NEEDLE = "The secret code of the Halvorsen vault is 7391-amber."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, draft_tokenizer) -> Path:
    folder = tmp_path_factory.mktemp("tiny-draft")
    model = tiny_draft(len(draft_tokenizer), layers=2)
    model.config._attn_implementation = "sdpa"
    model.save_pretrained(folder)
    draft_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def text_file(tmp_path) -> Path:
    text = corpus_text(6000)
    text = text[:3000] + " " + NEEDLE + " " + text[3000:]
    path = tmp_path / "context.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _run(args: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
    code = main(args, stdin=fake_stdin, stdout=out)
    return code, out.getvalue()


def test_compress_json_output(model_dir, text_file) -> None:
    code, out = _run(
        [
            "compress",
            str(text_file),
            "--query",
            "Halvorsen vault code?",
            "--rate",
            "0.2",
            "--model",
            str(model_dir),
            "--json",
            "--no-progress",
        ]
    )
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {"text", "spans", "original_tokens", "compressed_tokens", "ratio", "seconds"}
    original = text_file.read_text(encoding="utf-8")
    assert payload["text"] == "\n...\n".join(original[a:b] for a, b in payload["spans"])
    assert 0 < payload["compressed_tokens"] <= int(0.2 * payload["original_tokens"])
    assert payload["ratio"] == payload["compressed_tokens"] / payload["original_tokens"]
    assert payload["seconds"] > 0


def test_compress_reads_stdin_and_prints_text(model_dir, text_file) -> None:
    code, out = _run(
        ["compress", "-", "--query", "vault", "--budget", "40", "--model", str(model_dir), "--no-progress"],
        stdin=text_file.read_text(encoding="utf-8"),
    )
    assert code == 0
    assert out.startswith("query: vault\ntokens: ")
    assert " -> " in out.splitlines()[1]


def test_non_utf8_file_is_a_clear_error(tmp_path, capsys) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e".encode("latin-1"))
    code, _ = _run(["compress", str(path), "--query", "dessert", "--rate", "0.5"])
    assert code == 2
    err = capsys.readouterr().err
    assert "not valid utf-8: byte 3" in err
    assert "--encoding" in err
    assert "Traceback" not in err


def test_encoding_option_reads_latin1(model_dir, tmp_path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(("Caf\u00e9 cr\u00e8me. " * 50).encode("latin-1"))
    code, out = _run(
        [
            "compress",
            str(path),
            "--query",
            "dessert",
            "--rate",
            "0.5",
            "--encoding",
            "latin-1",
            "--model",
            str(model_dir),
            "--json",
            "--no-progress",
        ]
    )
    assert code == 0
    assert "Caf\u00e9" in json.loads(out)["text"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--rate", "1.5"], "rate must be in (0, 1]"), (["--budget", "0"], "budget must be a positive")],
)
def test_bad_budget_is_reported_before_loading_a_model(text_file, capsys, extra, message) -> None:
    code, _ = _run(["compress", str(text_file), "--query", "q", "--model", "/nonexistent/model", *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_unknown_model(text_file, capsys) -> None:
    code, _ = _run(["compress", "/no/such/file.txt", "--query", "q", "--rate", "0.5"])
    assert code == 2
    assert "cannot read '/no/such/file.txt'" in capsys.readouterr().err
    code, _ = _run(["compress", str(text_file), "--query", "q", "--rate", "0.5", "--model", "no-such-model"])
    assert code == 2
    assert "smollm2-135m" in capsys.readouterr().err


def test_models_lists_the_registry() -> None:
    code, out = _run(["models"])
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [
        "smollm2-135m",
        "gemma3-270m",
        "qwen2.5-coder-0.5b",
        "smollm2-135m-head",
        "minilm-l6",
        "minilm-l6-sieve",
        "minilm-l6-lingua",
        "minilm-l3-lingua",
    ]
    assert "(default)" in out.splitlines()[0]
    # The head's weights ship in the package, so it is installed exactly when its draft is.
    draft, head = out.splitlines()[0], out.splitlines()[3]
    assert ("not installed" in head) == ("not installed" in draft)


def test_import_does_not_load_torch() -> None:
    code = "import contextsieve, sys; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_folder_that_is_not_a_causal_lm_is_a_model_error(tmp_path, text_file, capsys) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    code, _ = _run(["compress", str(text_file), "--query", "q", "--rate", "0.5", "--model", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "could not load the draft model" in err
    assert "Traceback" not in err


def test_research_commands_name_their_package_when_it_is_absent(monkeypatch, capsys) -> None:
    import contextsieve.cli as cli

    assert {"eval", "train"} <= set(cli._plugins())  # the checkout installs the research bench
    monkeypatch.setattr(cli, "_plugins", dict)
    assert main(["eval", "--lengths", "2k"]) == 2
    assert "pip install -e ./evaluation" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-batch", "0"], "max_batch"),
        (["--port", "70000"], "port"),
        (["--max-wait-ms", "-1"], "max_wait_ms"),
    ],
)
def test_serve_refuses_bad_options_before_loading_a_model(capsys, extra, message) -> None:
    assert main(["serve", "--model", "/no/such/model", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "no/such/model" not in err  # validated first: the model was never looked up
