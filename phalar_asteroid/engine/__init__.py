"""Training engine: the contrastive Lightning system and its optimisers (imports asteroid)."""

from .callbacks import TimeToAccuracy
from .hard_negatives import HardNegativeSchedule, transpose_up
from .optim import MuonAdamW, make_contrastive_optimizer, newton_schulz, split_parameters
from .sampler import ResumableEpochSampler
from .system import ContrastiveSystem, top1_accuracy

__all__ = [
    "ContrastiveSystem",
    "HardNegativeSchedule",
    "MuonAdamW",
    "ResumableEpochSampler",
    "TimeToAccuracy",
    "make_contrastive_optimizer",
    "newton_schulz",
    "split_parameters",
    "top1_accuracy",
    "transpose_up",
]
