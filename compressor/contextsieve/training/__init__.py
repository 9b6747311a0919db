"""Two-stage training of the cross-attention scoring head on cached frozen-draft hidden states."""

from contextsieve.training.data import STAGES, StageData, stage_samples
from contextsieve.training.features import SampleFeatures, extract_features
from contextsieve.training.trainer import TrainConfig, TrainResult, train_head, validation_recall

__all__ = [
    "STAGES",
    "SampleFeatures",
    "StageData",
    "TrainConfig",
    "TrainResult",
    "extract_features",
    "stage_samples",
    "train_head",
    "validation_recall",
]
