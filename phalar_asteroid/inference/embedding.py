"""Layer 2 of inference: the active windows of a waveform or an audio file, embedded.

A file is cut into the windows of :mod:`phalar_asteroid.inference.audio`; windows below the
silence floor of the retrieval protocol (RMS under -60 dBFS,
``phalar_asteroid.data.silence.SILENCE_DB``) are skipped; the others go through
:meth:`~phalar_asteroid.models.base.ContrastiveEncoder.embed` in batches.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..data.silence import SILENCE_DB, rms_db
from .audio import frame_windows, load_audio


@dataclass
class WindowEmbeddings:
    """Embeddings of the active windows of one file.

    Attributes:
        embeddings (torch.Tensor): ``(n, dim)`` on the CPU, as ``model.embed`` returns them
            (complex64 for complex models).
        windows (np.ndarray): ``(n,)`` window indices; window ``i`` starts at ``i * hop``.
        samples (int): length of the waveform the windows were cut from, at the model's rate
            (a file shorter than one window is one window of this length).
    """

    embeddings: torch.Tensor
    windows: np.ndarray
    samples: int


def require_min_length(model, wav: np.ndarray, name: str):
    """Raises ValueError when ``wav`` is shorter than the model's minimum input.

    Args:
        model (ContrastiveEncoder): the model.
        wav (np.ndarray): ``(time,)`` at the model's rate.
        name (str): file name for the message.
    """
    rate = int(model.sample_rate)
    if len(wav) < model.min_samples:
        raise ValueError(
            f"{name}: {len(wav) / rate:.3f} s of audio is shorter than the model's minimum of "
            f"{model.min_samples / rate:.3f} s"
        )


@torch.no_grad()
def embed_waveform(model, wav: np.ndarray, batch_size: int = 16, name: str = "audio"):
    """Embeds the active windows of a mono waveform at the model's rate.

    Args:
        model (ContrastiveEncoder): in eval mode.
        wav (np.ndarray): ``(time,)``.
        batch_size (int): windows per forward pass.
        name (str): what ``wav`` is (a file name), for error messages.

    Returns:
        WindowEmbeddings: the active windows.

    Raises:
        ValueError: shorter than the model's minimum, or no active window.
    """
    require_min_length(model, wav, name)
    windows = frame_windows(wav, int(model.sample_rate))
    active = np.flatnonzero(rms_db(windows) >= SILENCE_DB)
    if len(active) == 0:
        raise ValueError(f"{name}: every window is near-silent (RMS below -60 dBFS)")
    embeddings = model.embed(windows[active], batch_size=batch_size).cpu()
    return WindowEmbeddings(embeddings, active, len(wav))


def embed_file(model, path: str, batch_size: int = 16) -> WindowEmbeddings:
    """Reads an audio file and embeds its active windows (see :func:`embed_waveform`).

    Raises:
        OSError: a missing or unreadable file.
        ValueError: unusable audio (silent, NaN, too short).
    """
    wav = load_audio(path, int(model.sample_rate))
    return embed_waveform(model, wav, batch_size, path)
