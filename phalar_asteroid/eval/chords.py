"""Linear chord probing of frozen embeddings (docs/protocols.md#chord-probing): vocabulary,
window label rules, probes, recording-level cross-validation, mir_eval chord scores and the
paired comparison of two feature sets.

Class order (fixed): 0 = ``N``, 1–12 = ``C:maj`` … ``B:maj``, 13–24 = ``C:min`` … ``B:min``, roots
in sharp spelling.
"""

import random

import mir_eval
import numpy as np
import torch
from scipy.stats import wilcoxon
from torch import nn
from tqdm import tqdm

from ..nn.complex import CplxLinear

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: The 25 class labels, index = class id.
CHORD_CLASSES = (
    ("N",) + tuple(f"{p}:maj" for p in PITCH_CLASSES) + tuple(f"{p}:min" for p in PITCH_CLASSES)
)
CLASS_INDEX = {label: i for i, label in enumerate(CHORD_CLASSES)}
NO_CHORD = 0
#: Class id of frames without annotation: ignored in training and in the frame accuracy.
UNLABELLED = -1


def literal_class(label: str) -> int:
    """The reference's mapping: a label is a class only if it is literally one of the 25.

    Everything else (``A:min7``, ``Bb:maj``, ``C:maj/3``, ``X``, ...) becomes ``N``.

    Args:
        label (str): Harte chord label.

    Returns:
        int: class id.
    """
    return CLASS_INDEX.get(label, NO_CHORD)


def reduced_class(label: str) -> int:
    """Secondary mapping: enharmonic respelling and reduction to a maj/min triad by the third.

    The root is respelled in sharps; a chord with a major third (``7``, ``maj7``, ``aug``,
    ``7(#9)``, inversions, ...) becomes ``<root>:maj``, otherwise one with a minor third (``min7``,
    ``dim``, ``hdim7``, ...) becomes ``<root>:min``; chords without a third (``sus2``, ``sus4``,
    ``5``, single notes), ``N`` and ``X`` become ``N``.

    Args:
        label (str): Harte chord label.

    Returns:
        int: class id.

    Raises:
        ValueError: when ``label`` is not a valid Harte label.
    """
    try:
        root, semitones, _ = mir_eval.chord.encode(label)
    except mir_eval.chord.InvalidChordException as err:
        raise ValueError(f"Invalid chord label {label!r}: {err}") from None
    if root < 0:
        return NO_CHORD
    if semitones[4] > 0:
        return 1 + root
    if semitones[3] > 0:
        return 13 + root
    return NO_CHORD


#: Label mappings by name: ``literal`` (the reference's, primary) and ``reduced``.
CLASS_MAPPINGS = {"literal": literal_class, "reduced": reduced_class}


def label_classes(labels, mapping: str = "literal") -> np.ndarray:
    """Maps Harte labels to class ids with the ``literal`` or ``reduced`` mapping.

    Args:
        labels (iterable of str or None): Harte labels; None (unannotated) gives
            :data:`UNLABELLED`.
        mapping (str): ``"literal"`` (primary) or ``"reduced"``.

    Returns:
        np.ndarray: int64 class ids.
    """
    if mapping not in CLASS_MAPPINGS:
        raise ValueError(f"mapping must be one of {sorted(CLASS_MAPPINGS)}, got {mapping!r}")
    to_class = CLASS_MAPPINGS[mapping]
    return np.array(
        [UNLABELLED if label is None else to_class(label) for label in labels], dtype=np.int64
    )


def frame_labels(intervals, labels, n_frames: int, frame_period: float = 0.02) -> list:
    """Harte label of every frame ``i`` (time ``frame_period * i``), None where unannotated.

    As in the reference, a segment ``[start, end)`` labels the frames
    ``floor(start / frame_period) <= i < floor(end / frame_period)`` (later segments win where
    they overlap), and frames outside every segment get no label: they are left out of training
    and of the frame accuracy, not counted as ``N``.

    Args:
        intervals (np.ndarray): ``(n, 2)`` chord segments in seconds.
        labels (list of str): their Harte labels.
        n_frames (int): number of frames.
        frame_period (float): seconds between frames.

    Returns:
        list: ``n_frames`` labels (str or None).
    """
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    if len(intervals) != len(labels):
        raise ValueError(f"{len(intervals)} chord intervals but {len(labels)} labels")
    # The tolerance keeps e.g. 0.06 / 0.02 = 2.9999999999999996 on frame 3.
    bounds = np.floor(intervals / frame_period + 1e-9).astype(np.int64).clip(0, n_frames)
    out = [None] * n_frames
    for (first, stop), label in zip(bounds, labels):
        out[first:stop] = [label] * max(0, stop - first)
    return out


#: Which chord a window is labelled with: the one sounding at its start (the reference's), at its
#: centre, or the one covering most of it.
LABEL_RULES = ("start", "centre", "majority")


def window_frames(seconds: float, frame_period: float, name: str = "window_seconds") -> int:
    """Frames of ``frame_period`` seconds in a window of ``seconds``, refusing a partial frame.

    Args:
        seconds (float): window length, a whole positive number of frame periods.
        frame_period (float): seconds per frame.
        name (str): the option's name, for the error message.

    Returns:
        int: ``seconds / frame_period``.

    Raises:
        ValueError: when ``seconds`` is not a positive whole number of frames.
    """
    frames = seconds / frame_period
    if round(frames) < 1 or abs(frames - round(frames)) > 1e-6:
        raise ValueError(
            f"{name}={seconds} is not a positive whole number of {1000 * frame_period:g} ms frames"
        )
    return int(round(frames))


def label_offset(rule: str, window_seconds: float) -> float:
    """Seconds from a window's start to the time its label describes (0, or half the window).

    The decoded label sequence of a probe is placed there for the mir_eval scores.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"label rule must be one of {LABEL_RULES}, got {rule!r}")
    return 0.0 if rule == "start" else window_seconds / 2


def window_labels(
    intervals, labels, n_windows: int, hop_seconds: float, window_seconds: float, rule: str
) -> list:
    """The label of every window ``[hop_seconds * i, hop_seconds * i + window_seconds)``.

    - ``start`` (the reference's): :func:`frame_labels`, the chord at the window's start.
    - ``centre``: the same rule at the window's centre.
    - ``majority``: the label covering most of the window's annotated time (summed over its
      segments; ties go to the label whose first segment comes first). ``N`` is a label like any
      other; time outside every segment does not count.

    A window whose labelled time is empty gets None (unannotated).

    Args:
        intervals (np.ndarray): ``(n, 2)`` chord segments in seconds.
        labels (list): their labels (Harte strings, or class ids).
        n_windows (int): number of windows.
        hop_seconds (float): seconds between window starts.
        window_seconds (float): window length in seconds.
        rule (str): one of :data:`LABEL_RULES`.

    Returns:
        list: ``n_windows`` labels (or None).
    """
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    offset = label_offset(rule, window_seconds)
    if rule != "majority":
        return frame_labels(intervals - offset, labels, n_windows, hop_seconds)
    if len(intervals) != len(labels):
        raise ValueError(f"{len(intervals)} chord intervals but {len(labels)} labels")
    starts = hop_seconds * np.arange(n_windows)[:, None]
    ends = np.minimum(intervals[:, 1], starts + window_seconds)
    overlap = np.clip(ends - np.maximum(intervals[:, 0], starts), 0.0, None)
    distinct = list(dict.fromkeys(labels))  # in order of first appearance
    per_label = np.zeros((n_windows, len(distinct)))
    for column, label in enumerate(labels):
        per_label[:, distinct.index(label)] += overlap[:, column]
    best = per_label.argmax(axis=1) if distinct else np.zeros(n_windows, dtype=np.int64)
    covered = per_label.sum(axis=1) > 1e-9
    return [distinct[b] if c else None for b, c in zip(best, covered)]


def frames_to_intervals(classes, frame_period: float = 0.02):
    """Merges runs of equal frame classes into labelled intervals (for ``mir_eval.chord``).

    Args:
        classes (array-like): class id per frame; frame ``i`` spans
            ``[frame_period * i, frame_period * (i + 1))``.
        frame_period (float): seconds per frame.

    Returns:
        tuple: ``(intervals (n, 2) np.ndarray, labels list of str)``.
    """
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size == 0:
        return np.zeros((0, 2)), []
    starts = np.concatenate(([0], np.flatnonzero(np.diff(classes)) + 1))
    ends = np.concatenate((starts[1:], [len(classes)]))
    intervals = frame_period * np.stack((starts, ends), axis=1).astype(np.float64)
    return intervals, [CHORD_CLASSES[c] for c in classes[starts]]


def crop_intervals(intervals, labels, end: float, start: float = 0.0) -> tuple:
    """Labelled intervals cut to ``[start, end)``: those outside dropped, those across shortened.

    Returns:
        tuple: ``(intervals (n, 2) np.ndarray, labels list)``.
    """
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    keep = (intervals[:, 0] < end) & (intervals[:, 1] > start)
    return np.clip(intervals[keep], start, end), [label for label, k in zip(labels, keep) if k]


def chord_scores(ref_intervals, ref_labels, est_intervals, est_labels) -> dict:
    """mir_eval's duration-weighted ``root`` and ``majmin`` scores over the common span.

    Both annotations are cut to the span they share: the end of a track that no window starts in
    (its last window length) is not counted as an error, and neither is a last frame running past
    the annotation, nor the first half window before an estimate placed at window centres.

    Args:
        ref_intervals (np.ndarray): ``(n, 2)`` reference segments in seconds.
        ref_labels (list of str): reference Harte labels.
        est_intervals (np.ndarray): ``(m, 2)`` estimated segments (:func:`frames_to_intervals`,
            shifted by :func:`label_offset`).
        est_labels (list of str): estimated labels.

    Returns:
        dict: ``{"root": float, "majmin": float}``.

    Raises:
        ValueError: when the two annotations do not overlap.
    """
    start = max(np.min(ref_intervals, initial=np.inf), np.min(est_intervals, initial=np.inf), 0.0)
    end = min(np.max(ref_intervals, initial=0.0), np.max(est_intervals, initial=0.0))
    ref_intervals, ref_labels = crop_intervals(ref_intervals, ref_labels, end, start)
    est_intervals, est_labels = crop_intervals(est_intervals, est_labels, end, start)
    if not ref_labels or not est_labels or end <= start:
        raise ValueError(
            f"Reference and estimated chords do not overlap (common span {start}-{end} s)"
        )
    scores = mir_eval.chord.evaluate(ref_intervals, ref_labels, est_intervals, est_labels)
    return {"root": float(scores["root"]), "majmin": float(scores["majmin"])}


def recording_folds(recordings, n_folds: int = 5, seed: int = 42) -> list:
    """Splits recordings into folds as the reference: sorted, shuffled, consecutive blocks.

    ``random.Random(seed).shuffle`` draws the same permutation as the reference's
    ``random.seed(seed); random.shuffle(...)``. Every block holds ``len // n_folds`` recordings
    except the last, which takes the remainder.

    Args:
        recordings (iterable of str): recording ids (duplicates are ignored).
        n_folds (int): number of folds.
        seed (int): shuffle seed.

    Returns:
        list of list of str: the folds.

    Raises:
        ValueError: with fewer recordings than folds.
    """
    ids = sorted(set(recordings))
    if len(ids) < n_folds:
        raise ValueError(
            f"{n_folds}-fold cross-validation needs >= {n_folds} recordings, got {len(ids)}"
        )
    random.Random(seed).shuffle(ids)
    size = len(ids) // n_folds
    return [ids[k * size : (k + 1) * size if k < n_folds - 1 else len(ids)] for k in range(n_folds)]


class ComplexLinearProbe(nn.Module):
    r"""The reference probe: a complex linear map without bias whose **real part** is the logit.

    :math:`\mathrm{logit} = A z_{re} - B z_{im}` for :math:`W = A + iB`.

    Args:
        in_features (int): complex embedding size.
        n_classes (int): number of classes.

    Shape:
        - Input: :math:`(batch, 2, in\_features)`
        - Output: :math:`(batch, n\_classes)`
    """

    def __init__(self, in_features: int = 512, n_classes: int = len(CHORD_CLASSES)):
        super().__init__()
        self.linear = CplxLinear(in_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)[:, 0]


def make_probe(features: torch.Tensor, n_classes: int = len(CHORD_CLASSES)) -> nn.Module:
    """The probe matching a feature layout: complex ``(n, 2, d)`` or real ``(n, d)`` (chroma).

    Args:
        features (torch.Tensor): the features the probe will read.
        n_classes (int): number of classes.

    Returns:
        nn.Module: :class:`ComplexLinearProbe` or ``nn.Linear(d, n_classes)``.
    """
    if features.dim() == 3 and features.shape[1] == 2:
        return ComplexLinearProbe(features.shape[-1], n_classes)
    if features.dim() == 2:
        return nn.Linear(features.shape[-1], n_classes)
    raise ValueError(f"Expected features (n, 2, d) or (n, d), got shape {tuple(features.shape)}")


def train_probe(
    probe: nn.Module,
    features: torch.Tensor,
    labels: torch.Tensor,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    desc: str = "probe",
) -> nn.Module:
    """Trains a probe with cross-entropy and RAdam on shuffled mini-batches (the reference's loop).

    The shuffling draws from torch's global generator: seed it once before a cross-validation,
    as the reference does.

    Args:
        probe (nn.Module): maps features to logits.
        features (torch.Tensor): ``(n, ...)`` float features.
        labels (torch.Tensor): ``(n,)`` class ids.
        epochs (int): passes over the data.
        batch_size (int): mini-batch size.
        lr (float): RAdam learning rate.
        desc (str): progress-bar label.

    Returns:
        nn.Module: the trained probe, in eval mode.
    """
    features, labels = features.float(), labels.long()
    optimizer = torch.optim.RAdam(probe.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    probe.train()
    for _ in tqdm(range(epochs), desc=desc, leave=False):
        # A fresh permutation per epoch, as DataLoader(shuffle=True) draws, without its
        # per-sample collation (which dominates the cost of a linear probe).
        order = torch.randperm(len(labels))
        for i in range(0, len(order), batch_size):
            batch = order[i : i + batch_size]
            optimizer.zero_grad()
            criterion(probe(features[batch]), labels[batch]).backward()
            optimizer.step()
    return probe.eval()


@torch.no_grad()
def predict(probe: nn.Module, features: torch.Tensor, batch_size: int = 4096) -> np.ndarray:
    """Arg-max class of every frame.

    Returns:
        np.ndarray: int64 ``(n,)``.
    """
    probe.eval()
    out = [
        probe(features[i : i + batch_size].float()).argmax(-1)
        for i in range(0, len(features), batch_size)
    ]
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, dtype=np.int64)


def seed_everything(seed: int = 42) -> None:
    """Seeds Python's ``random``, NumPy and torch, as the reference probe script does."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cross_validate(
    features: dict,
    labels: dict,
    n_folds: int = 5,
    seed: int = 42,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    desc: str = "fold",
) -> list:
    """K-fold cross-validation of a fresh probe per fold, split by recording.

    Frames labelled :data:`UNLABELLED` are left out of training and of the accuracy, but every
    frame of a held-out recording gets a prediction (for the mir_eval scores).

    Args:
        features (dict): recording id → float tensor ``(n_frames, 2, d)`` or ``(n_frames, d)``.
        labels (dict): recording id → int class ids ``(n_frames,)``.
        n_folds (int): folds (see :func:`recording_folds`).
        seed (int): fold shuffle seed, and the global seed set once before the first fold.
        epochs (int): training epochs per fold.
        batch_size (int): mini-batch size.
        lr (float): RAdam learning rate.
        desc (str): progress-bar label.

    Returns:
        list of dict: one per fold, ``{"fold", "recordings", "accuracy", "predictions"}`` where
        accuracy is the held-out frame accuracy in [0, 1] and predictions maps each held-out
        recording to its predicted class ids.
    """
    if set(features) != set(labels):
        raise ValueError("features and labels must cover the same recordings")
    for rec in features:
        if len(features[rec]) != len(labels[rec]):
            raise ValueError(
                f"Recording {rec}: {len(features[rec])} feature frames, {len(labels[rec])} labels"
            )
    folds = recording_folds(features, n_folds, seed)
    seed_everything(seed)
    results = []
    for k, held_out in enumerate(tqdm(folds, desc=desc)):
        train_ids = [r for j, fold in enumerate(folds) if j != k for r in fold]
        x = torch.cat([torch.as_tensor(features[r]) for r in train_ids])
        y = torch.cat([torch.as_tensor(labels[r]) for r in train_ids])
        probe = make_probe(x)
        labelled = y != UNLABELLED
        train_probe(
            probe,
            x[labelled],
            y[labelled],
            epochs,
            batch_size,
            lr,
            desc=f"{desc} {k + 1}/{n_folds}",
        )
        predictions = {r: predict(probe, torch.as_tensor(features[r])) for r in held_out}
        truth = {r: np.asarray(labels[r]) for r in held_out}
        correct = sum(int((predictions[r] == t)[t != UNLABELLED].sum()) for r, t in truth.items())
        total = sum(int((t != UNLABELLED).sum()) for t in truth.values())
        results.append(
            {
                "fold": k,
                "recordings": list(held_out),
                "accuracy": correct / max(total, 1),
                "predictions": predictions,
            }
        )
    return results


def window_mean(features: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Mean of ``window`` consecutive frames every ``stride`` frames, start-aligned like PHALAR's.

    Frame ``i`` of the result averages input frames ``[i * stride, i * stride + window)``, so a
    frame feature (e.g. chroma every 20 ms) sees the span a PHALAR window of the same length sees,
    on the same grid of window starts.

    Args:
        features (np.ndarray): ``(n_frames, dim)``.
        window (int): frames per window, at least 1.
        stride (int): frames between window starts, at least 1.

    Returns:
        np.ndarray: ``((n_frames - window) // stride + 1, dim)`` (no frame when
        ``window > n_frames``).
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be at least one frame, got {window}, {stride}")
    features = np.asarray(features, dtype=np.float64)
    sums = np.concatenate([np.zeros((1,) + features.shape[1:]), np.cumsum(features, axis=0)])
    means = (sums[window:] - sums[:-window]) / window
    return means[::stride].astype(np.float32)


def recording_accuracy(folds: list, labels: dict) -> dict:
    """Held-out frame accuracy of every recording, from :func:`cross_validate`'s folds.

    Args:
        folds (list of dict): the folds, with their ``predictions``.
        labels (dict): recording id → class ids (``UNLABELLED`` frames are left out).

    Returns:
        dict: recording id → accuracy in [0, 1] (recordings without a labelled frame are left
        out).
    """
    out = {}
    for fold in folds:
        for rec, predicted in fold["predictions"].items():
            truth = np.asarray(labels[rec])
            labelled = truth != UNLABELLED
            if labelled.any():
                out[rec] = float(np.mean(predicted[labelled] == truth[labelled]))
    return out


def paired_difference(scores_a: dict, scores_b: dict) -> dict:
    """Paired comparison of two systems scored on the same recordings.

    The mean of the per-recording differences A − B comes with its 95 % normal interval
    (1.96 · std(ddof=1) / √n) and the two-sided p-value of the Wilcoxon signed-rank test
    (``scipy.stats.wilcoxon``; 1 when every difference is zero).

    Args:
        scores_a (dict): recording id → score of system A.
        scores_b (dict): recording id → score of system B, for the same recordings.

    Returns:
        dict: ``diff``, ``ci95`` (half-width), ``p_value``, ``a_better``, ``b_better`` (counts of
        recordings) and ``n_recordings``.

    Raises:
        ValueError: when the two systems were not scored on the same recordings.
    """
    if set(scores_a) != set(scores_b) or not scores_a:
        raise ValueError("paired scores need the same, non-empty set of recordings")
    recs = sorted(scores_a)
    diff = np.array([scores_a[r] - scores_b[r] for r in recs], dtype=np.float64)
    mean, half = mean_confidence(diff)
    p_value = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    return {
        "diff": mean,
        "ci95": half,
        "p_value": p_value,
        "a_better": int(np.sum(diff > 0)),
        "b_better": int(np.sum(diff < 0)),
        "n_recordings": len(recs),
    }


def mean_confidence(values) -> tuple:
    """Mean and 95 % half-width ``1.96 * std(ddof=1) / sqrt(n)``, with the sample std.

    See docs/protocols.md#fold-confidence-interval.

    Args:
        values (array-like): one value per fold.

    Returns:
        tuple: ``(mean, half_width)``; the half-width is 0 for a single value.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return float(values.mean()), 0.0
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(values.size))
