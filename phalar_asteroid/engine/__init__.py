"""Training engine: the contrastive Lightning system and its optimisers (imports asteroid)."""

from .callbacks import TimeToAccuracy
from .optim import MuonAdamW, make_contrastive_optimizer, newton_schulz, split_parameters
from .sampler import ResumableEpochSampler
from .system import ContrastiveSystem, top1_accuracy

__all__ = [
    "ContrastiveSystem",
    "MuonAdamW",
    "ResumableEpochSampler",
    "TimeToAccuracy",
    "make_contrastive_optimizer",
    "newton_schulz",
    "split_parameters",
    "top1_accuracy",
]
