"""Layer 3 of inference: how well a stem fits a (partial) mix, from two files or waveforms.

Both are trimmed to the shorter one and cut into the same windows; the score is the mean of the
model's symmetric (Hermitian, for PHALAR) score over the aligned windows where both are active.
"""

from dataclasses import dataclass

import numpy as np
import torch

from .audio import HOP_SECONDS, WINDOW_SECONDS, load_audio
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


class PairScorer:
    """Scores many (mix, stem) file pairs with one model, as :func:`score_files` would.

    A mix shared by consecutive pairs is read and embedded once: the windows of a mix trimmed to a
    stem's length are the windows of the whole mix that end before that length (when both are at
    least one window long), so its embeddings are picked rather than computed again.

    Args:
        model (ContrastiveEncoder): in eval mode.
        batch_size (int): windows per forward pass.
    """

    def __init__(self, model, batch_size: int = 16):
        self.model, self.batch_size = model, batch_size
        self._mix_path, self._mix, self._mix_windows = None, None, None

    def _load_mix(self, path: str):
        if path != self._mix_path:
            self._mix_path, self._mix_windows = None, None
            self._mix = load_audio(path, int(self.model.sample_rate))
            require_min_length(self.model, self._mix, path)
            self._mix_path = path
        return self._mix

    def __call__(self, mix_path: str, stem_path: str) -> PairScore:
        """The score of one pair (see :func:`score_waveforms`).

        Raises:
            OSError: a missing or unreadable file.
            ValueError: unusable audio.
        """
        rate = int(self.model.sample_rate)
        mix = self._load_mix(mix_path)
        stem = load_audio(stem_path, rate)
        window, length = round(WINDOW_SECONDS * rate), min(len(mix), len(stem))
        if length < window:
            return score_waveforms(self.model, mix, stem, self.batch_size, (mix_path, stem_path))
        require_min_length(self.model, stem, stem_path)
        if self._mix_windows is None:
            self._mix_windows = embed_waveform(self.model, mix, self.batch_size, mix_path)
        last = (length - window) // round(HOP_SECONDS * rate)  # last window inside the stem
        rows = self._mix_windows.windows <= last
        if not rows.any():  # as score_waveforms says it for the trimmed mix
            return score_waveforms(self.model, mix, stem, self.batch_size, (mix_path, stem_path))
        mix_windows = WindowEmbeddings(
            self._mix_windows.embeddings[torch.from_numpy(rows)],
            self._mix_windows.windows[rows],
            length,  # the windows inside the span both files cover
        )
        stem_windows = embed_waveform(self.model, stem[:length], self.batch_size, stem_path)
        score, n_pairs = aligned_score(self.model, mix_windows, stem_windows)
        return PairScore(score, n_pairs, WINDOW_SECONDS)
