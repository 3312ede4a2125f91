"""Building blocks of PHALAR (plain torch): complex layers, backbone, pooling, heads, similarity."""

from .backbone import FreqTimeSeparableBackbone, SeparableResBlock
from .complex import CplxDropout, CplxLinear, CplxRMSNorm, ModReLU, from_complex, to_complex
from .frontend import DecibelScaling, MelFrontend
from .heads import ComplexHead, RealHead
from .pooling import GlobalAveragePooling, LearnedSpectralPooling
from .similarity import (
    COCOLASimilarity,
    CplxBilinearSimilarity,
    CplxCosineSimilarity,
    PSDSimilarity,
    RealBilinearSimilarity,
    Similarity,
    make_similarity,
)

__all__ = [
    "COCOLASimilarity",
    "ComplexHead",
    "CplxBilinearSimilarity",
    "CplxCosineSimilarity",
    "CplxDropout",
    "CplxLinear",
    "CplxRMSNorm",
    "DecibelScaling",
    "FreqTimeSeparableBackbone",
    "GlobalAveragePooling",
    "LearnedSpectralPooling",
    "MelFrontend",
    "ModReLU",
    "PSDSimilarity",
    "RealBilinearSimilarity",
    "RealHead",
    "SeparableResBlock",
    "Similarity",
    "from_complex",
    "make_similarity",
    "to_complex",
]
