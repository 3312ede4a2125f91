"""No-learning retrieval baselines: onset-envelope and chroma correlation (librosa features).

A baseline has the interface of :class:`~phalar_asteroid.eval.retrieval.ModelScorer`:
``embed(clips)`` computes one feature per clip, ``pair_scores(q, c)`` compares matched rows and
``score_matrix(q, c)`` every query with every candidate. Anchors and positives of a pair are time-aligned, so both baselines
compare features frame by frame.
"""

import librosa
import numpy as np
import torch

#: librosa's default hop of the onset envelope and chroma (32 ms at 16 kHz).
HOP_LENGTH = 512


def _standardize(x: torch.Tensor) -> torch.Tensor:
    """Zero-mean, unit-variance rows (a constant row stays zero), so dot / n is Pearson's r."""
    x = x - x.mean(dim=1, keepdim=True)
    return x / x.std(dim=1, unbiased=False, keepdim=True).clamp_min(1e-8)


class OnsetCorrelation:
    r"""Rhythmic agreement: the largest Pearson correlation of onset-strength envelopes over lags.

    ``librosa.onset.onset_strength`` (hop 512) of each clip; the score of (x, y) is
    :math:`\max_{|l| \le L} r(o_x[t], o_y[t + l])` over the overlapping frames, where r is the
    Pearson correlation of the standardised envelopes. Small lags absorb onsets that fall one or
    two frames apart in different instruments.

    Args:
        sample_rate (int): audio rate.
        max_lag (int): largest lag L in frames (2 frames = 64 ms at 16 kHz).
    """

    name = "onset_corr"

    def __init__(self, sample_rate: int = 16000, max_lag: int = 2):
        self.sample_rate = sample_rate
        self.max_lag = max_lag

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """Onset envelopes ``(N, frames)`` of clips ``(N, T)``."""
        env = librosa.onset.onset_strength(
            y=clips.detach().cpu().numpy().astype(np.float32),
            sr=self.sample_rate,
            hop_length=HOP_LENGTH,
        )
        return torch.from_numpy(np.ascontiguousarray(env)).float()

    def _lagged(self, queries, candidates, compare):
        n = queries.shape[1]
        best = None
        for lag in range(-self.max_lag, self.max_lag + 1):
            q = _standardize(queries[:, max(0, -lag) : n - max(0, lag)])
            c = _standardize(candidates[:, max(0, lag) : n - max(0, -lag)])
            r = compare(q, c) / q.shape[1]
            best = r if best is None else torch.maximum(best, r)
        return best

    def pair_scores(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Max-over-lags correlation ``(M,)`` of matched envelopes ``(M, F)``."""
        return self._lagged(queries, candidates, lambda q, c: (q * c).sum(dim=1))

    def score_matrix(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Max-over-lags correlation ``(Nq, Nc)`` of envelopes ``(Nq, F)`` and ``(Nc, F)``."""
        return self._lagged(queries, candidates, lambda q, c: q @ c.T)


class ChromaCorrelation:
    r"""Harmonic agreement: Pearson correlation of time-aligned chromagrams.

    ``librosa.feature.chroma_cqt`` (hop 512, 12 pitch classes) of each clip, flattened over
    (pitch class, frame); the score is the Pearson correlation of the two flattened chromagrams.

    Args:
        sample_rate (int): audio rate.
    """

    name = "chroma_corr"

    def __init__(self, sample_rate: int = 16000):
        self.sample_rate = sample_rate

    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """Standardised flattened chromagrams ``(N, 12 · frames)`` of clips ``(N, T)``."""
        chroma = librosa.feature.chroma_cqt(
            y=clips.detach().cpu().numpy().astype(np.float32),
            sr=self.sample_rate,
            hop_length=HOP_LENGTH,
        )
        return _standardize(torch.from_numpy(chroma.reshape(len(chroma), -1)).float())

    def pair_scores(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Pearson correlations ``(M,)`` of matched rows."""
        return (queries * candidates).sum(dim=1) / queries.shape[1]

    def score_matrix(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Pearson correlations ``(Nq, Nc)``."""
        return queries @ candidates.T / queries.shape[1]


BASELINES = {cls.name: cls for cls in (OnsetCorrelation, ChromaCorrelation)}
