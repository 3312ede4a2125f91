"""Pieces shared by the stage scripts of the beat-tracking recipe."""

import os

import numpy as np

from phalar_asteroid.data.datasets.stems import load_mix  # noqa: F401 (re-exported)
from phalar_asteroid.eval.beat import (
    dbn_beats,
    dp_beats,
    extend_beats,
    onset_envelope,
    smooth_envelope,
)
from phalar_asteroid.eval.templates import template_bpms, template_rows
from phalar_asteroid.recipe_utils import load_manifest, pick_device  # noqa: F401
from phalar_asteroid.utils.config import parse_with_conf as _parse_with_conf
from phalar_asteroid.utils.io import atomic_output

LOCAL = os.path.dirname(os.path.abspath(__file__))
#: Beat trackers run by stage 3 on the data (model independent) and by stage 4 with PHALAR.
REFERENCE_SYSTEMS = ("madmom", "onset_dp")
PHALAR_SYSTEMS = ("phalar_dp", "phalar_dbn")


def beats_file(folder: str, system: str, track_id: str) -> str:
    """Where a system's beats of a track are stored: ``<folder>/<system>/<track_id>.beats``."""
    return os.path.join(folder, system, f"{track_id}.beats")


def write_beat_times(path: str, beats) -> None:
    """Detected beat times, one per line in seconds (annotations with bar positions are the
    renderer's ``.beats`` files), written under a temporary name and renamed."""
    with atomic_output(path) as tmp:
        np.savetxt(tmp, np.asarray(beats, dtype=np.float64), fmt="%.6f")


def read_beat_times(path: str) -> np.ndarray:
    """Beat times written by :func:`write_beat_times` (an empty file gives no beats)."""
    if os.path.getsize(path) == 0:
        return np.zeros(0)
    return np.loadtxt(path, ndmin=1)


def corpus_label(dataset: str, split: str) -> str:
    """What the scored pieces are to the encoder, for every table and output.

    The embedded corpus is split by piece and PHALAR trains on its train split only.
    """
    if dataset != "slakh16k":
        return "a corpus the encoder was not trained on"
    splits = {"train", "valid", "test"} if split == "all" else set(split.split(","))
    if "train" in splits:
        return "INCLUDES TRAINING PIECES: the encoder heard the train split (never a beat label)"
    return "held-out pieces only: the encoder never heard them"


def parse_with_conf(parser) -> dict:
    """Parses the command line over this recipe's ``local/conf.yml``."""
    return _parse_with_conf(parser, os.path.join(LOCAL, "conf.yml"))


def phalar_envelope(similarity: np.ndarray, bpms, fps: float, env: dict) -> np.ndarray:
    """PHALAR's onset envelope of a tempo × time map with the ``envelope`` settings of the conf.

    Args:
        similarity (np.ndarray): ``(n_templates, n_windows)`` map, one row per tempo of ``bpms``.
        bpms (array-like): tempo of each row.
        fps (float): frame rate of the map.
        env (dict): the conf's ``envelope`` group.

    Returns:
        np.ndarray: ``(n_windows,)``; empty for a map without windows.
    """
    if similarity.shape[1] == 0:
        return np.zeros(0)
    bpms = np.asarray(bpms)
    chosen = template_bpms(
        env["envelope_bpm_min"] or int(bpms.min()),
        env["envelope_bpm_max"] or int(bpms.max()),
        env["envelope_bpm_step"],
    )
    envelope = onset_envelope(
        similarity[template_rows(bpms, chosen)], env["n_sigma"], env["min_count"]
    )
    return smooth_envelope(envelope, fps, env["smooth_seconds"])


def phalar_decode(
    envelope: np.ndarray, fps: float, offset: float, dec: dict, decoder: str, duration: float
) -> np.ndarray:
    """Beats of a PHALAR envelope with the conf's ``decoder`` settings.

    Args:
        envelope (np.ndarray): onset envelope from :func:`phalar_envelope`.
        fps (float): its frame rate.
        offset (float): seconds added to every beat (the templates' first click), besides
            ``dec["beat_shift_seconds"]``.
        dec (dict): the conf's ``decoder`` group.
        decoder (str): ``"dp"`` (librosa) or ``"dbn"`` (madmom).
        duration (float): the track's length in seconds (for ``extend_to_end``).

    Returns:
        np.ndarray: beat times in seconds.
    """
    if not envelope.size:
        return np.zeros(0)
    # The envelope marks where the similarity rises, before the click lines up with the window
    # start: beat_shift_seconds calibrates that lag.
    offset = offset + dec["beat_shift_seconds"]
    if decoder == "dp":
        beats = dp_beats(
            envelope,
            fps,
            offset,
            start_bpm=dec["dp_start_bpm"],
            tightness=dec["dp_tightness"],
        )
    elif decoder == "dbn":
        beats = dbn_beats(
            envelope, fps, offset, dec["dbn_floor"], dec["dbn_min_bpm"], dec["dbn_max_bpm"]
        )
    else:
        raise ValueError(f"decoder must be 'dp' or 'dbn', got {decoder!r}")
    return extend_beats(beats, duration) if dec["extend_to_end"] else beats
