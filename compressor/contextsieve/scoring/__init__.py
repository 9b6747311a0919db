"""Score: a backend tokenizes a context with offsets and scores each token against a query.

Backends are found through :mod:`contextsieve.scoring.registry`; the draft-based ones share
:class:`~contextsieve.scoring.block_scorer.BlockScorer`. Importing this package does not import torch.
"""

from __future__ import annotations

from contextsieve.scoring.base import ScoreRequest, TokenScorer

__all__ = ["ScoreRequest", "TokenScorer"]
