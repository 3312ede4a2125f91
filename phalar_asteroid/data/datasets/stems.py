"""The audio of manifest tracks: time-aligned stem windows (and their mix) at 16 kHz mono.

All stems of a track are read at the same native offset with ``soundfile``, averaged to mono,
resampled together with ``torchaudio.functional.resample`` and right-padded with zeros. Every
file opened is checked against the manifest (its rate, and its length: the stem's own
``num_frames``, or at least the track's): a file changed after the manifest was written raises a
``DatasetError`` (a ``ValueError``) naming the track and the files, instead of misaligned audio.
"""

import os
from typing import Optional, Sequence

import numpy as np
import soundfile as sf
import torch
from torchaudio.functional import resample

from ..silence import SILENCE_DB, rms_db  # noqa: F401 (re-exported: the loaders' silence floor)
from .common import DatasetError


def _read_stem(track: dict, stem: dict, start: int, frames: int):
    """One stem's window, mono, or why its file no longer matches the manifest.

    Args:
        track (dict): manifest entry.
        stem (dict): the stem's entry in ``track["stems"]``.
        start (int): first frame.
        frames (int): number of frames (``start + frames`` is within the track).

    Returns:
        tuple: ``(samples, None)`` with float32 samples of shape (frames,), or ``(None, problem)``
        with a description of the file for the error message.
    """
    path = stem["path"]
    if not os.path.isfile(path):
        return None, f"{path} (missing)"
    expected = stem.get("num_frames")
    # Manifests written before stems carried their own length give the track's (the shortest).
    wanted = f">= {track['num_frames']}" if expected is None else str(expected)
    try:
        with sf.SoundFile(path) as fhandle:
            rate, length = fhandle.samplerate, fhandle.frames
            fits = length >= track["num_frames"] if expected is None else length == expected
            if rate != track["sample_rate"] or not fits:
                return None, (
                    f"{path} ({rate} Hz, {length} frames; "
                    f"manifest: {track['sample_rate']} Hz, {wanted} frames)"
                )
            fhandle.seek(start)
            audio = fhandle.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        return None, f"{path} (unreadable: {err})"
    return audio.mean(axis=1), None


def window_frames(seconds: float, sample_rate: int) -> int:
    """Number of samples of a ``seconds`` long window at ``sample_rate``."""
    return int(round(seconds * sample_rate))


def load_stems(
    track: dict,
    offset: int,
    seconds: float,
    stems: Optional[Sequence[str]] = None,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Load a window of several stems of a manifest track, time-aligned.

    Args:
        track (dict): manifest entry.
        offset (int): window start in native frames.
        seconds (float): window length.
        stems (sequence of str or None): stem names to load, in this order; None loads all.
        sample_rate (int): output rate.

    Returns:
        np.ndarray: float32, shape (n_stems, T) with T = round(seconds * sample_rate); zeros past
        the end of the track (whose length is the shortest stem's).

    Raises:
        DatasetError: (a ``ValueError``) naming the track and every stem file to load that is
            missing or whose rate or length differs from the manifest's.

    Shape:
        - output: :math:`(n\\_stems, T)`
    """
    by_name = {stem["name"]: stem for stem in track["stems"]}
    names = [stem["name"] for stem in track["stems"]] if stems is None else list(stems)
    native = track["sample_rate"]
    frames = max(0, min(window_frames(seconds, native), track["num_frames"] - offset))
    reads = [_read_stem(track, by_name[name], offset, frames) for name in names]
    problems = [problem for _, problem in reads if problem is not None]
    if problems:
        raise DatasetError(
            f"track {track['track_id']} of {track.get('dataset')}: its stem files changed after "
            f"the manifest was written: {'; '.join(problems)}. Delete the manifest and rerun the "
            "data stage that writes it"
        )
    audio = np.stack([samples for samples, _ in reads])
    if native != sample_rate:
        audio = resample(torch.from_numpy(audio), native, sample_rate).numpy()
    out = np.zeros((len(names), window_frames(seconds, sample_rate)), dtype=np.float32)
    length = min(out.shape[1], audio.shape[1])
    out[:, :length] = audio[:, :length]
    return out


def load_mix(track: dict, sample_rate: int = 16000) -> np.ndarray:
    """A whole manifest track as the plain sum of its stems, mono at ``sample_rate``.

    Args:
        track (dict): manifest entry.
        sample_rate (int): output rate.

    Returns:
        np.ndarray: float32 ``(time,)``.
    """
    return load_stems(track, 0, track["duration"], sample_rate=sample_rate).sum(axis=0)
