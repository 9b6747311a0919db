"""Deterministic long-context evaluation tasks built from real offline text.

Every task has the same signature (see :class:`BuildFn`) and returns :class:`~contextsieve_eval.samples.Sample`
objects whose context is at least ``length`` tokens as counted by the given ``count_tokens``:

* ``needle``, ``multikey``, ``multivalue``, ``multihop`` and the hard probes plant invented facts at sentence or
  paragraph boundaries of a haystack of whole paragraphs (eval-split Wikipedia summaries mixed with Python
  documentation prose, see :mod:`contextsieve_eval.corpora`) joined by blank lines;
* ``rag`` lists Wikipedia summaries as retrieved documents (``"Title: extract"`` paragraphs) and asks which one
  matches a short description;
* ``code`` concatenates real standard-library functions, one of them with a one-line injected bug.

Samples depend only on the arguments: the random draws of sample ``i`` are seeded with the task name, length,
seed and ``i`` (string seeds hash with SHA-512, so they are stable across processes and Python versions).
Filler paragraphs never contain the planted entities or answers, every gold string occurs exactly once in its
context, and ``gold_spans`` come from the exact insertion offsets. Gold strings are listed in document order.

One module per job: ``entities`` (invented names and values), ``templates`` (hand-written probes), ``overlap``
(content words), ``sampling`` (token counting and the sample loop), ``haystack`` (planting evidence among filler
paragraphs), one module per task family (``needles``, ``multihop``, ``rag``, ``buggy_code``) and ``registry``
(:data:`TASKS`, :func:`build_samples`, :func:`clear_caches`). Every public name is re-exported here.
"""

from __future__ import annotations

from contextsieve_eval.tasks.buggy_code import build_code
from contextsieve_eval.tasks.entities import _draw_slots as _draw_slots  # drawn directly by the template tests
from contextsieve_eval.tasks.haystack import filler_paragraphs
from contextsieve_eval.tasks.multihop import build_multihop, build_multihop_gap
from contextsieve_eval.tasks.needles import (
    build_multikey,
    build_multivalue,
    build_needle,
    build_needle_decoy,
    build_needle_paraphrase,
)
from contextsieve_eval.tasks.overlap import STOPWORDS, content_words, shared_content_words
from contextsieve_eval.tasks.rag import build_rag
from contextsieve_eval.tasks.registry import (
    PATHS,
    SUITES,
    TASKS,
    BuildFn,
    TaskSpec,
    build_samples,
    clear_caches,
    expand_tasks,
)
from contextsieve_eval.tasks.templates import (
    CHAIN_TEMPLATES,
    DECOY_TEMPLATES,
    GAP_TEMPLATES,
    PARAPHRASE_TEMPLATES,
    ProbeTemplate,
)

__all__ = [
    "CHAIN_TEMPLATES",
    "DECOY_TEMPLATES",
    "GAP_TEMPLATES",
    "PARAPHRASE_TEMPLATES",
    "PATHS",
    "STOPWORDS",
    "SUITES",
    "TASKS",
    "BuildFn",
    "ProbeTemplate",
    "TaskSpec",
    "build_code",
    "build_multihop",
    "build_multihop_gap",
    "build_multikey",
    "build_multivalue",
    "build_needle",
    "build_needle_decoy",
    "build_needle_paraphrase",
    "build_rag",
    "build_samples",
    "clear_caches",
    "content_words",
    "expand_tasks",
    "filler_paragraphs",
    "shared_content_words",
]
