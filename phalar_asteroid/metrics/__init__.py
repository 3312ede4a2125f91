"""Metrics for generation models, as torchmetrics ``Metric`` classes built on :mod:`..inference`.

- :class:`StemCoherence`: how well generated stems fit their mixes (PHALAR's windowed symmetric
  score, its distribution and its percentile among random pairs), with a fixed preprocessing
  (docs/metrics.md).
"""

from .stem_coherence import StemCoherence

__all__ = ["StemCoherence"]
