"""The two-stage recipe behind the shipped head: generated stages, cached draft states, ``contextsieve train``."""

from contextsieve_eval.recipe.stages import STAGES, StageData, stage_samples

__all__ = ["STAGES", "StageData", "stage_samples"]
