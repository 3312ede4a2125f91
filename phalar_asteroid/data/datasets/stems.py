"""The audio of manifest tracks: time-aligned stem windows (and their mix) at 16 kHz mono.

All stems of a track are read at the same native offset with ``soundfile``, averaged to mono,
resampled together with ``torchaudio.functional.resample`` and right-padded with zeros.
"""

from typing import Optional, Sequence

import numpy as np
import soundfile as sf
import torch
from torchaudio.functional import resample

from ..levels import SILENCE_DB, rms_db  # noqa: F401 (re-exported: the loaders read them here)


def read_mono(path: str, start: int, frames: int) -> np.ndarray:
    """Read ``frames`` frames from ``start`` and average the channels.

    Args:
        path (str): audio file.
        start (int): first frame.
        frames (int): number of frames (fewer are returned at the end of the file).

    Returns:
        np.ndarray: float32 samples, shape (n,).
    """
    audio, _ = sf.read(path, start=start, frames=frames, dtype="float32", always_2d=True)
    return audio.mean(axis=1)


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

    Shape:
        - output: :math:`(n\\_stems, T)`
    """
    by_name = {stem["name"]: stem for stem in track["stems"]}
    names = [stem["name"] for stem in track["stems"]] if stems is None else list(stems)
    native = track["sample_rate"]
    frames = max(0, min(window_frames(seconds, native), track["num_frames"] - offset))
    audio = np.stack([read_mono(by_name[name]["path"], offset, frames) for name in names])
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
