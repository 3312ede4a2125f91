"""Layer 3 of inference: the time offset at which a stem fits a mix best (``phalar align``).

One window of the mix is fixed (:data:`~phalar_asteroid.inference.audio.WINDOW_SECONDS`, or the whole
mix when shorter, placed where the stem is loudest) and the stem is shifted under it: for an
offset ``d`` the stem excerpt ``stem[t0 - d : t0 - d + window]`` (zero outside the file) is scored
against ``mix[t0 : t0 + window]`` with the symmetric similarity. A positive offset means the stem
must be delayed by ``d`` to fit (the mix plays its content ``d`` later), a negative one that it
must be advanced (e.g. a stem exported late). PHALAR carries timing in the phases of its pooled
components, so the score curve peaks near the right offset for a trained model.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..data.silence import SILENCE_DB
from .audio import load_audio, window_length
from .embedding import require_min_length


def _window_energy(wav: np.ndarray, window: int) -> np.ndarray:
    """Sum of squares of every window ``wav[i : i + window]``."""
    cumulative = np.concatenate(([0.0], np.cumsum(np.square(wav, dtype=np.float64))))
    return cumulative[window:] - cumulative[:-window]


def offset_curve(model, mix, stem, max_offset: int, step: int, batch_size: int, names=None):
    """Scores of the stem shifted by every offset against one mix window.

    Args:
        model (ContrastiveEncoder): in eval mode.
        mix (np.ndarray): mix waveform at the model's rate.
        stem (np.ndarray): stem waveform at the model's rate.
        max_offset (int): largest offset in samples.
        step (int): offset step in samples.
        batch_size (int): windows per forward pass.
        names (tuple, optional): file names of the mix and the stem, for error messages.

    Returns:
        dict: ``offsets`` (samples, ascending), ``scores`` (NaN where the shifted stem window is
        silent), ``mix_start`` and ``window`` (samples).
    """
    mix_name, stem_name = names or ("the mix", "the stem")
    window = window_length(len(mix), int(model.sample_rate))
    floor = window * 10 ** (SILENCE_DB / 10)  # energy of a window at the silence floor
    mix_energy = _window_energy(mix, window)
    usable = mix_energy >= floor
    if not usable.any():
        raise ValueError(f"{mix_name}: every window is near-silent (RMS below -60 dBFS)")
    # Place the mix window where the (unshifted) stem is loudest, among active mix windows.
    stem_energy = _window_energy(np.pad(stem, (0, max(0, len(mix) - len(stem)))), window)
    mix_start = int(np.argmax(np.where(usable, stem_energy[: len(usable)], -1.0)))

    n_steps = max_offset // step
    offsets = np.arange(-n_steps, n_steps + 1) * step
    pad = n_steps * step + window
    padded = np.pad(stem, (pad, pad + max(0, len(mix) - len(stem))))
    # The stem window for offset d starts at mix_start + pad - d in `padded`: the last offset
    # starts first, so take the starts in ascending order and reverse (views, no copy).
    last = mix_start + pad - offsets[-1]
    starts = slice(last, last + len(offsets) * step, step)
    clips = np.lib.stride_tricks.sliding_window_view(padded, window)[starts][::-1]
    active = _window_energy(padded, window)[starts][::-1] >= floor
    if not active.any():
        raise ValueError(
            f"{stem_name}: every window is near-silent at the offsets scanned under the mix window"
        )

    with torch.no_grad():
        mix_emb = model.embed(mix[None, mix_start : mix_start + window])
        stem_emb = model.embed(clips, batch_size=batch_size)  # a view: copied batch by batch
        scores = model.score_embeddings(mix_emb.expand_as(stem_emb), stem_emb)
    scores = np.where(active, scores.double().cpu().numpy(), np.nan)
    return dict(offsets=offsets, scores=scores, mix_start=mix_start, window=window)


@dataclass
class Alignment:
    """The score of a stem against a mix at every offset scanned.

    Attributes:
        offsets (np.ndarray): offsets in seconds, ascending (positive: delay the stem).
        scores (np.ndarray): symmetric scores, NaN where the shifted stem window is silent.
        mix_start (float): start of the fixed mix window, seconds.
        window (float): its length, seconds.
    """

    offsets: np.ndarray
    scores: np.ndarray
    mix_start: float
    window: float

    @property
    def best(self) -> int:
        """Index of the best-scoring offset."""
        return int(np.nanargmax(self.scores))


def align_files(
    model, mix_path: str, stem_path: str, max_offset: float = 2.0, step: float = 0.04, batch_size=16
) -> Alignment:
    """Scans the offsets of a stem file under a mix file (see :func:`offset_curve`).

    Args:
        model (ContrastiveEncoder): in eval mode.
        mix_path (str): the (partial) mix.
        stem_path (str): the stem.
        max_offset (float): largest offset scanned, seconds (non-negative).
        step (float): offset step, seconds (positive, at least one sample).
        batch_size (int): windows per forward pass.

    Returns:
        Alignment: the score curve.

    Raises:
        ValueError: a bad ``step`` or ``max_offset``, or unusable audio.
        OSError: a missing or unreadable file.
    """
    if not step > 0 or not max_offset >= 0:
        raise ValueError("step must be positive and max_offset non-negative")
    rate = int(model.sample_rate)
    step_samples = round(step * rate)
    if step_samples < 1:
        raise ValueError(f"step {step} is below one sample at {rate} Hz")
    mix, stem = load_audio(mix_path, rate), load_audio(stem_path, rate)
    require_min_length(model, mix, mix_path)
    require_min_length(model, stem, stem_path)
    curve = offset_curve(
        model, mix, stem, round(max_offset * rate), step_samples, batch_size, (mix_path, stem_path)
    )
    return Alignment(
        curve["offsets"] / rate, curve["scores"], curve["mix_start"] / rate, curve["window"] / rate
    )
