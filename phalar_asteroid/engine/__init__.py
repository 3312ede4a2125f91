"""Training engine: the contrastive Lightning system and its optimisers (imports asteroid)."""

from .optim import MuonAdamW, make_contrastive_optimizer, split_parameters
from .system import ContrastiveSystem, top1_accuracy

__all__ = [
    "ContrastiveSystem",
    "MuonAdamW",
    "make_contrastive_optimizer",
    "split_parameters",
    "top1_accuracy",
]
