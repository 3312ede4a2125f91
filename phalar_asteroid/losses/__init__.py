"""Contrastive losses (Asteroid style: classes plus lowercase instances)."""

from .infonce import InfoNCELoss, SymmetricInfoNCELoss, info_nce, symmetric_info_nce

__all__ = ["InfoNCELoss", "SymmetricInfoNCELoss", "info_nce", "symmetric_info_nce"]
