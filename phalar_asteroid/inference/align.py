"""Layer 3 of inference: the time offset at which a stem fits a mix best (``phalar align``).

One window of the mix is fixed (:data:`~phalar_asteroid.inference.audio.WINDOW_SECONDS`, or the whole
mix when shorter, placed where the stem is loudest) and the stem is shifted under it: for an
offset ``d`` the stem excerpt ``stem[t0 - d : t0 - d + window]`` (zero outside the file) is scored
against ``mix[t0 : t0 + window]`` with the symmetric similarity. A positive offset means the stem
must be delayed by ``d`` to fit (the mix plays its content ``d`` later), a negative one that it
must be advanced (e.g. a stem exported late). PHALAR carries timing in the phases of its pooled
components, so the score curve peaks near the right offset for a trained model.

A periodic part (a drum groove, a repeated bass figure) makes the curve peak once per beat at
nearly equal scores, so :func:`peak_confidence` also reports how far the best peak stands above
the best *other* peak, and flags the answer as ambiguous when it barely does.
"""

from dataclasses import dataclass, field
from typing import Optional

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


#: Offsets less than this far (seconds) from the best one belong to the best peak.
PEAK_SEPARATION = 0.1
#: An answer is ambiguous when the best peak stands less than this many standard deviations of
#: the score curve above the best other peak. Chosen on a development set (48 shifted stems of
#: valid-split pieces, ``benchmarks/align_accuracy.py --split valid``) as the margin below which
#: accuracy drops: 13 of 19 answers at or above it were right, 6 of 29 below it. The curves
#: oscillate with the beat, so their standard deviation is large and margins are small.
AMBIGUOUS_MARGIN_STD = 0.08


def _local_maxima(scores: np.ndarray) -> np.ndarray:
    """Whether each finite score is at least as high as each of its finite neighbours."""
    finite = np.isfinite(scores)
    filled = np.where(finite, scores, -np.inf)
    left = np.concatenate(([-np.inf], filled[:-1]))
    right = np.concatenate((filled[1:], [-np.inf]))
    return finite & (filled >= left) & (filled >= right)


def peak_confidence(
    offsets,
    scores,
    separation: float = PEAK_SEPARATION,
    threshold: float = AMBIGUOUS_MARGIN_STD,
) -> dict:
    """How clearly the best offset of a score curve beats the best alternative.

    The *second-best offset* is the offset of the highest local maximum of the curve at least
    ``separation`` away from the best offset. A local maximum is a finite score at least as
    high as each of its finite neighbours in the grid (NaN neighbours are ignored, so an offset
    next to a silent stretch or at either end of the scan counts when the curve falls away from
    it on its other side); the best offset itself is the first highest finite score (that of
    ``np.nanargmax``). The *margin* is the best score minus that second-best score, and
    ``margin_std`` is the margin in units of the standard deviation (``ddof=0``) of the finite
    scores, which makes it comparable between curves and models (0 for a flat curve). The
    answer is *ambiguous* when ``margin_std < threshold``. When no local maximum lies outside
    the best peak, the second-best fields and the margins are None and the answer is not
    ambiguous.

    Args:
        offsets (array-like): offsets, ascending (any unit: that of ``separation``).
        scores (array-like): the score at each offset; NaN where there is none.
        separation (float): smallest distance from the best offset of an alternative peak
            (non-negative; the best offset itself never counts).
        threshold (float): the ambiguity threshold on ``margin_std``.

    Returns:
        dict: ``second_offset`` (float or None), ``second_score`` (float or None), ``margin``
        (float or None), ``margin_std`` (float or None) and ``ambiguous`` (bool): plain Python
        values, ready for JSON.

    Raises:
        ValueError: when the lengths differ or no score is finite.
    """
    offsets = np.asarray(offsets, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if offsets.shape != scores.shape or offsets.ndim != 1:
        raise ValueError("offsets and scores must be 1-D arrays of the same length")
    finite = np.isfinite(scores)
    if not finite.any():
        raise ValueError("no finite score in the curve")
    best = int(np.nanargmax(np.where(finite, scores, np.nan)))
    # A relative tolerance keeps grid offsets such as 0.3 - 0.2 at a separation of 0.1.
    outside = np.abs(offsets - offsets[best]) >= separation * (1 - 1e-9)
    outside[best] = False
    candidates = np.flatnonzero(_local_maxima(scores) & outside)
    if candidates.size == 0:
        return dict(
            second_offset=None, second_score=None, margin=None, margin_std=None, ambiguous=False
        )
    second = int(candidates[np.argmax(scores[candidates])])
    margin = float(scores[best] - scores[second])
    spread = float(np.std(scores[finite]))
    margin_std = margin / spread if spread > 0 else 0.0
    return dict(
        second_offset=float(offsets[second]),
        second_score=float(scores[second]),
        margin=margin,
        margin_std=margin_std,
        ambiguous=bool(margin_std < threshold),
    )


@dataclass
class Alignment:
    """The score of a stem against a mix at every offset scanned, and how clear its best is.

    The confidence attributes are computed from the curve by :func:`peak_confidence` with the
    default separation (:data:`PEAK_SEPARATION`, seconds) and threshold
    (:data:`AMBIGUOUS_MARGIN_STD`); they are plain Python values (None where there is no
    alternative peak).

    Attributes:
        offsets (np.ndarray): offsets in seconds, ascending (positive: delay the stem).
        scores (np.ndarray): symmetric scores, NaN where the shifted stem window is silent.
        mix_start (float): start of the fixed mix window, seconds.
        window (float): its length, seconds.
        second_offset (float or None): offset of the best other peak, seconds.
        second_score (float or None): its score.
        margin (float or None): best score minus ``second_score``.
        margin_std (float or None): ``margin`` over the standard deviation of the curve.
        ambiguous (bool): ``margin_std`` is below :data:`AMBIGUOUS_MARGIN_STD`.
    """

    offsets: np.ndarray
    scores: np.ndarray
    mix_start: float
    window: float
    second_offset: Optional[float] = field(init=False)
    second_score: Optional[float] = field(init=False)
    margin: Optional[float] = field(init=False)
    margin_std: Optional[float] = field(init=False)
    ambiguous: bool = field(init=False)

    def __post_init__(self):
        for name, value in peak_confidence(self.offsets, self.scores).items():
            setattr(self, name, value)

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
