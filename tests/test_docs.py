"""The documentation site builds with ``mkdocs build --strict`` and renders real docstrings."""

from __future__ import annotations

import html
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_mkdocs_build_is_strict_clean_and_renders_docstrings(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    from contextsieve import Compressor

    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(REPO / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr}\n{proc.stdout}"

    # The first line of a real docstring, as mkdocstrings renders it (``x`` becomes <code>x</code>).
    first_line = inspect.getdoc(Compressor.compress).splitlines()[0]
    expected = re.sub(r"``(.+?)``", lambda m: f"<code>{html.escape(m.group(1))}</code>", first_line)
    page = (tmp_path / "api" / "compressor" / "index.html").read_text(encoding="utf-8")
    assert expected in page
    assert 'id="contextsieve.Compressor.compress"' in page

    for name in ("langchain", "llamaindex"):
        assert (tmp_path / "api" / name / "index.html").is_file()
    assert (tmp_path / "integrations" / "langchain" / "index.html").is_file()
