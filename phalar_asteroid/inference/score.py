"""Layer 3 of inference: how well a stem fits a (partial) mix, from two files or waveforms.

Both are trimmed to the shorter one and cut into the same windows; the score is the mean of the
model's symmetric (Hermitian, for PHALAR) score over the aligned windows where both are active.
"""

from dataclasses import dataclass

import numpy as np
import torch

from .audio import WINDOW_SECONDS, load_audio
from .embedding import WindowEmbeddings, embed_waveform, require_min_length


@dataclass
class PairScore:
    """The coherence score of a stem against a mix.

    Attributes:
        score (float): mean symmetric score over aligned active windows (higher fits better).
        n_windows (int): the number of aligned windows averaged.
        window_seconds (float): their length.
    """

    score: float
    n_windows: int
    window_seconds: float


@torch.no_grad()
def aligned_score(model, mix: WindowEmbeddings, stem: WindowEmbeddings) -> tuple:
    """Mean symmetric score over aligned active windows of two embedded files.

    Args:
        model (ContrastiveEncoder): the model.
        mix (WindowEmbeddings): the mix's windows.
        stem (WindowEmbeddings): the stem's windows.

    Returns:
        tuple: ``(score, n_pairs)``.

    Raises:
        ValueError: no window index is active in both.
    """
    common, mix_rows, stem_rows = np.intersect1d(mix.windows, stem.windows, return_indices=True)
    if len(common) == 0:
        raise ValueError("the mix and the stem have no window where both are active")
    scores = model.score_embeddings(mix.embeddings[mix_rows], stem.embeddings[stem_rows])
    return float(scores.double().mean()), len(common)


def score_waveforms(model, mix, stem, batch_size: int = 16, names=("mix", "stem")) -> PairScore:
    """Scores a stem against a mix, both mono waveforms at the model's rate.

    Args:
        model (ContrastiveEncoder): in eval mode.
        mix (np.ndarray): ``(time,)``.
        stem (np.ndarray): ``(time,)``.
        batch_size (int): windows per forward pass.
        names (tuple): what the two are, for error messages.

    Returns:
        PairScore: the score.

    Raises:
        ValueError: too short, silent, or no aligned active window.
    """
    require_min_length(model, mix, names[0])
    require_min_length(model, stem, names[1])
    length = min(len(mix), len(stem))
    mix_windows = embed_waveform(model, mix[:length], batch_size, names[0])
    stem_windows = embed_waveform(model, stem[:length], batch_size, names[1])
    score, n_pairs = aligned_score(model, mix_windows, stem_windows)
    return PairScore(score, n_pairs, min(WINDOW_SECONDS, length / int(model.sample_rate)))


def score_files(model, mix_path: str, stem_path: str, batch_size: int = 16) -> PairScore:
    """Scores a stem file against a mix file (see :func:`score_waveforms`).

    Raises:
        OSError: a missing or unreadable file.
        ValueError: unusable audio.
    """
    rate = int(model.sample_rate)
    mix, stem = load_audio(mix_path, rate), load_audio(stem_path, rate)
    return score_waveforms(model, mix, stem, batch_size, (mix_path, stem_path))
