"""Zero-shot beat tracking with PHALAR, the trackers it is compared with, scoring.

See docs/protocols.md#beat-tracking.

PHALAR is never trained on beats. Metronome templates (one per tempo) are embedded once; every
4.8 s window of a track is scored against every template with the Hermitian similarity s_H; the
rising edges of that tempo × time map, summed over tempi, form an onset envelope that an ordinary
beat decoder turns into beat times.

The references run on the same audio: madmom's RNN beat activation with its DBN decoder, and a
plain spectral-flux onset envelope (librosa) through the same dynamic-programming decoder as
PHALAR's envelope.

Error analysis: :func:`tempo_class` names the metrical relation of an estimated tempo to the
reference one, :func:`error_class` adds phase errors (right tempo, off the beat); over tracks,
:func:`mean_ci` and :func:`paired_comparison` give bootstrap intervals and a Wilcoxon test.
"""

import librosa
import mir_eval
import numpy as np
import torch
from scipy import ndimage, stats

#: Keys of ``mir_eval.beat.evaluate`` that the summary tables report.
SUMMARY_METRICS = ("F-measure", "Correct Metric Level Total", "Any Metric Level Total")
#: Estimated / reference tempo ratio of each metrical level around the beat, by class name.
METRICAL_RATIOS = {
    "correct": 1.0,
    "double": 2.0,
    "half": 0.5,
    "triple": 3.0,
    "third": 1.0 / 3.0,
    "3/2": 1.5,
    "2/3": 2.0 / 3.0,
}


@torch.no_grad()
def similarity_map(model, template_embeddings, window_embeddings) -> np.ndarray:
    r"""Tempo × time similarity map :math:`S[b, i] = s_H(\mathrm{template}_b, \mathrm{window}_i)`.

    Args:
        model (ContrastiveEncoder): the model whose similarity scores the embeddings.
        template_embeddings (torch.Tensor): embeddings of the metronome templates, complex
            ``(n_templates, dim)`` as :meth:`~ContrastiveEncoder.embed` returns them.
        window_embeddings (torch.Tensor): sliding-window embeddings of one track, complex
            ``(n_windows, dim)`` (:meth:`PHALAR.embed_windows`).

    Returns:
        np.ndarray: float64 ``(n_templates, n_windows)``.
    """
    scores = model.score_embeddings(template_embeddings, window_embeddings, all_pairs=True)
    return scores.cpu().numpy().astype(np.float64)


def onset_envelope(similarity: np.ndarray, n_sigma: float = 3.0, min_count: int = 3) -> np.ndarray:
    """Onset envelope of a tempo × time similarity map (docs/protocols.md#onset-envelope).

    1. Temporal derivative ``d[b, i] = S[b, i+1] - S[b, i-1]`` (zero padding at both ends).
    2. Mask of outliers ``d - mean(d) > n_sigma * std(d)`` (global mean and sample std).
    3. Erosion: a cell is set when its 3×3 neighbourhood holds at least ``min_count`` mask cells.
       As in the reference code, the cell itself need not be in the mask (a stricter reading,
       keeping only mask cells with enough mask neighbours, would also require that).
    4. Dilation with a 3×3 square.
    5. ``sum_b max(d * mask, 0)``.

    Args:
        similarity (np.ndarray): ``(n_templates, n_windows)`` map from :func:`similarity_map`.
        n_sigma (float): outlier threshold in standard deviations.
        min_count (int): mask cells needed in a 3×3 neighbourhood to survive the erosion.

    Returns:
        np.ndarray: float64 ``(n_windows,)`` envelope, one value per window (50 Hz by default).

    Raises:
        ValueError: when ``similarity`` is not a 2-D map with at least one window.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 2 or similarity.shape[1] == 0:
        raise ValueError(
            f"Expected a (n_templates, n_windows) similarity map, got shape {similarity.shape}"
        )
    derivative = ndimage.correlate1d(similarity, [-1.0, 0.0, 1.0], axis=1, mode="constant")
    # torch.std, used by the reference, is the sample std.
    spread = derivative.std(ddof=1) if derivative.size > 1 else 0.0
    mask = (derivative - derivative.mean()) > n_sigma * spread
    square = np.ones((3, 3), dtype=int)
    counts = ndimage.correlate(mask.astype(int), square, mode="constant")
    mask = ndimage.binary_dilation(counts >= min_count, structure=square)
    return np.maximum(derivative * mask, 0.0).sum(axis=0)


def smooth_envelope(envelope: np.ndarray, fps: float, sigma_seconds: float) -> np.ndarray:
    """Gaussian smoothing of an onset envelope in time (zero outside the track).

    The masked PHALAR envelope is a few isolated spikes; a little smoothing lets a decoder that
    scores the envelope at its predicted beat times tolerate a spike one or two frames off.

    Args:
        envelope (np.ndarray): onset envelope ``(n_frames,)``.
        fps (float): its frame rate.
        sigma_seconds (float): standard deviation of the Gaussian in seconds; 0 returns the
            envelope unchanged. The kernel is cut at 4 sigma and normalised to sum 1.

    Returns:
        np.ndarray: float64 ``(n_frames,)``.

    Raises:
        ValueError: for a negative ``sigma_seconds``.
    """
    if sigma_seconds < 0:
        raise ValueError(f"sigma_seconds must be >= 0, got {sigma_seconds}")
    envelope = np.asarray(envelope, dtype=np.float64)
    if sigma_seconds == 0 or envelope.size == 0:
        return envelope.copy()
    return ndimage.gaussian_filter1d(envelope, sigma_seconds * fps, mode="constant", truncate=4.0)


def dp_beats(
    envelope: np.ndarray,
    fps: float,
    offset: float = 0.0,
    sample_rate: int = 16000,
    start_bpm: float = 120.0,
    tightness: float = 100.0,
) -> np.ndarray:
    """Ellis's dynamic-programming tracker (``librosa.beat.beat_track``).

    Args:
        envelope (np.ndarray): onset envelope ``(n_frames,)``.
        fps (float): frame rate of ``envelope``; ``sample_rate / fps`` must be a whole number.
        offset (float): seconds added to every beat (PHALAR: the templates' first-click time).
        sample_rate (int): nominal rate handed to librosa with ``hop_length = sample_rate / fps``.
        start_bpm (float): centre of the tempo prior (librosa's default, 120).
        tightness (float): how strictly beats keep the estimated period (librosa's default, 100).

    Returns:
        np.ndarray: beat times in seconds.
    """
    hop_length = sample_rate / fps
    if abs(hop_length - round(hop_length)) > 1e-9:
        raise ValueError(f"sample_rate / fps = {sample_rate} / {fps} is not a whole hop")
    _, beats = librosa.beat.beat_track(
        onset_envelope=np.asarray(envelope, dtype=np.float64),
        sr=sample_rate,
        hop_length=int(round(hop_length)),
        start_bpm=start_bpm,
        tightness=tightness,
        units="time",
    )
    return np.asarray(beats, dtype=np.float64) + offset


def dbn_beats(
    envelope: np.ndarray,
    fps: float,
    offset: float = 0.0,
    floor: float = 1e-3,
    min_bpm: float = 55.0,
    max_bpm: float = 215.0,
) -> np.ndarray:
    """madmom's ``DBNBeatTrackingProcessor`` on a max-normalised envelope.

    The DBN reads its input as a beat probability and takes ``log(p)`` and ``log(1 - p)``, so
    the envelope is divided by its maximum and clipped to ``[floor, 1 - floor]``: the masked
    envelope is exactly 0 almost everywhere and exactly 1 at its peak, where both logs diverge.

    Args:
        envelope (np.ndarray): onset envelope ``(n_frames,)``, non-negative.
        fps (float): frame rate of ``envelope``.
        offset (float): seconds added to every beat.
        floor (float): clipping margin of the probability.
        min_bpm (float): slowest tempo of the DBN's state space (madmom's default, 55).
        max_bpm (float): fastest tempo (madmom's default, 215).

    Returns:
        np.ndarray: beat times in seconds (empty for a silent envelope).
    """
    from ..compat.madmom import DBNBeatTrackingProcessor

    envelope = np.asarray(envelope, dtype=np.float64)
    peak = envelope.max(initial=0.0)
    if peak <= 0.0:
        return np.zeros(0)
    activation = np.clip(envelope / peak, floor, 1.0 - floor)
    beats = DBNBeatTrackingProcessor(min_bpm=min_bpm, max_bpm=max_bpm, fps=fps)(activation)
    return np.asarray(beats, dtype=np.float64) + offset


class MadmomBeatTracker:
    """madmom's reference beat tracker: ``RNNBeatProcessor`` then ``DBNBeatTrackingProcessor``.

    Both run with library defaults (100 frames/s). The RNN ensemble is loaded once, at
    construction; its models ship inside the madmom package.

    Args:
        fps (int): frame rate of the RNN activation and of the DBN.
    """

    #: The rate madmom's beat networks were trained at.
    sample_rate = 44100

    def __init__(self, fps: int = 100):
        from ..compat.madmom import DBNBeatTrackingProcessor, RNNBeatProcessor

        self.fps = fps
        self.activation = RNNBeatProcessor(fps=fps)
        self.decoder = DBNBeatTrackingProcessor(fps=fps)

    def __call__(self, wav: np.ndarray, sample_rate: int) -> np.ndarray:
        """Beat times of a mono waveform.

        Args:
            wav (np.ndarray): mono audio ``(time,)``.
            sample_rate (int): its rate; it is resampled to 44.1 kHz when different, since
                madmom frames the signal in samples.

        Returns:
            np.ndarray: beat times in seconds.
        """
        from ..compat.madmom import Signal

        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1:
            raise ValueError(f"Expected mono audio (time,), got shape {wav.shape}")
        if sample_rate != self.sample_rate:
            wav = librosa.resample(wav, orig_sr=sample_rate, target_sr=self.sample_rate)
        activation = self.activation(Signal(wav, sample_rate=self.sample_rate))
        return np.asarray(self.decoder(activation), dtype=np.float64)


def onset_strength_beats(wav: np.ndarray, sample_rate: int, hop_length: int = 320) -> np.ndarray:
    """Baseline: librosa's spectral-flux onset strength through the same DP tracker as PHALAR.

    With the default hop (20 ms at 16 kHz) the envelope has PHALAR's frame rate, so only the
    envelope differs between the two systems.

    Args:
        wav (np.ndarray): mono audio ``(time,)``.
        sample_rate (int): its rate.
        hop_length (int): hop of the onset envelope in samples.

    Returns:
        np.ndarray: beat times in seconds.
    """
    envelope = librosa.onset.onset_strength(
        y=np.asarray(wav, dtype=np.float32), sr=sample_rate, hop_length=hop_length
    )
    return dp_beats(envelope, fps=sample_rate / hop_length, sample_rate=sample_rate)


def beat_metrics(reference, estimate, min_beat_time: float = 0.0) -> dict:
    """All of ``mir_eval.beat.evaluate`` with an explicit trimming convention.

    mir_eval trims beats before 5 s by default (docs/protocols.md#beat-metrics).

    F-measure uses the ±70 ms window. ``min_beat_time=0`` keeps every beat (the primary
    convention, as the PHALAR reference's F-measure); ``5.0`` is mir_eval's default trimming.

    Args:
        reference (array-like): reference beat times in seconds.
        estimate (array-like): estimated beat times in seconds.
        min_beat_time (float): beats before this time are dropped from both lists.

    Returns:
        dict: metric name → value (``F-measure``, ``Correct Metric Level Total`` = CMLt,
        ``Any Metric Level Total`` = AMLt, ...).
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    scores = mir_eval.beat.evaluate(reference, estimate, min_beat_time=min_beat_time)
    return {name: float(value) for name, value in scores.items()}


def extend_beats(beats, end: float, n_intervals: int = 4) -> np.ndarray:
    """Continues a beat list to ``end`` at the period of its last intervals.

    PHALAR's frames stop one window before the end of a track, so its decoders never place a
    beat in the last 4.8 s; this assumes the tempo holds there.

    Args:
        beats (array-like): increasing beat times in seconds.
        end (float): last time a beat may take, in seconds (the track's duration).
        n_intervals (int): the period is the median of the last ``n_intervals`` intervals.

    Returns:
        np.ndarray: ``beats`` followed by ``last + k * period`` for every ``k >= 1`` up to
        ``end``; unchanged with fewer than two beats.
    """
    beats = np.asarray(beats, dtype=np.float64)
    if beats.size < 2:
        return beats.copy()
    period = float(np.median(np.diff(beats)[-int(n_intervals) :]))
    count = int(np.floor((end - beats[-1]) / period + 1e-9))
    return np.concatenate([beats, beats[-1] + period * np.arange(1, max(count, 0) + 1)])


def beat_tempo(beats) -> float:
    """Tempo in BPM from the median inter-beat interval (NaN with fewer than two beats)."""
    beats = np.asarray(beats, dtype=np.float64)
    return 60.0 / float(np.median(np.diff(beats))) if beats.size > 1 else float("nan")


def tempo_class(estimate_bpm: float, reference_bpm: float, tolerance: float = 0.04) -> str:
    """Metrical relation of an estimated tempo to the reference one.

    The ratio ``estimate / reference`` is compared with each ratio of :data:`METRICAL_RATIOS`
    (1, 2, 1/2, 3, 1/3, 3/2, 2/3) within a relative ``tolerance`` (±4 % by default, the tolerance
    of the MIREX tempo accuracy); none in reach is ``"spurious"``.

    Args:
        estimate_bpm (float): estimated tempo (NaN when a system gave fewer than two beats).
        reference_bpm (float): reference tempo, > 0.
        tolerance (float): relative tolerance around each ratio; below 0.2 so that no two
            ratios' ranges overlap.

    Returns:
        str: a key of :data:`METRICAL_RATIOS`, ``"spurious"``, or ``"no beats"`` for NaN.

    Raises:
        ValueError: for a reference tempo that is not positive, or a tolerance out of [0, 0.2).
    """
    if not reference_bpm > 0:
        raise ValueError(f"reference_bpm must be > 0, got {reference_bpm}")
    if not 0 <= tolerance < 0.2:
        raise ValueError(f"tolerance must be in [0, 0.2), got {tolerance}")
    if np.isnan(estimate_bpm):
        return "no beats"
    ratio = estimate_bpm / reference_bpm
    for name, target in METRICAL_RATIOS.items():
        if abs(ratio - target) <= tolerance * target:
            return name
    return "spurious"


def error_class(tempo: str, cmlt: float, f_measure: float, min_score: float = 0.5) -> str:
    """A track's error: its :func:`tempo_class`, or ``"phase"`` for the right tempo off the beat.

    CMLt alone misses a steady offset of a slow track: its continuity tolerance is 17.5 % of the
    beat interval (0.22 s at 47 BPM) while the F-measure's is ±70 ms, so the F-measure is checked
    as well.

    Args:
        tempo (str): the :func:`tempo_class` of the track.
        cmlt (float): its Correct Metric Level Total (continuity at the reference's level).
        f_measure (float): its F-measure (±70 ms).
        min_score (float): a correct tempo with CMLt or F below this is a phase error (beats
            off the beat, drifting across it, or offset by more than the F-measure's window).

    Returns:
        str: ``"phase"`` or ``tempo``.
    """
    phase = tempo == "correct" and min(cmlt, f_measure) < min_score
    return "phase" if phase else tempo


def mean_ci(values, n_resamples: int = 10000, seed: int = 0) -> tuple:
    """Mean over tracks with its 95 % percentile-bootstrap interval (``scipy.stats.bootstrap``).

    Args:
        values (array-like): one score per track, at least two.
        n_resamples (int): bootstrap resamples.
        seed (int): seed of the resampling.

    Returns:
        tuple: ``(mean, low, high)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"mean_ci needs at least two per-track values, got shape {values.shape}")
    interval = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=0.95,
        method="percentile",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return float(values.mean()), float(interval.low), float(interval.high)


def paired_comparison(scores_a, scores_b, n_resamples: int = 10000, seed: int = 0) -> dict:
    """Paired comparison of two systems' per-track scores on the same tracks.

    Args:
        scores_a (array-like): system A, one score per track.
        scores_b (array-like): system B on the same tracks, in the same order.
        n_resamples (int): bootstrap resamples of the paired differences.
        seed (int): seed of the resampling.

    Returns:
        dict: ``diff`` (mean of A - B), ``low`` and ``high`` (its 95 % percentile-bootstrap
        interval over tracks), ``p_wilcoxon`` (two-sided Wilcoxon signed-rank test, exact when
        scipy can; 1.0 when every difference is 0), ``a_better`` and ``b_better`` (tracks) and
        ``n_tracks``.
    """
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(
            f"paired scores need two equal 1-D arrays of >= 2, got {a.shape}, {b.shape}"
        )
    diff = a - b
    _, low, high = mean_ci(diff, n_resamples, seed)
    p_value = stats.wilcoxon(a, b).pvalue if np.any(diff != 0) else 1.0
    return {
        "diff": float(diff.mean()),
        "low": low,
        "high": high,
        "p_wilcoxon": float(p_value),
        "a_better": int(np.sum(diff > 0)),
        "b_better": int(np.sum(diff < 0)),
        "n_tracks": int(diff.size),
    }
