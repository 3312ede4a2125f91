"""The model named by ``--model``, and audio files embedded window by window with it."""

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..data.datasets.audio import SILENCE_DB, rms_db

# Importing phalar_asteroid.models registers its classes, which from_pretrained looks up by name.
from ..models.base import PRETRAINED_DIR, ContrastiveEncoder, resolve_pretrained
from .audio import frame_windows, load_audio
from .errors import CliError
from .parser import DEFAULT_MODEL


def file_fingerprint(path: str) -> str:
    """SHA-256 of a file's bytes: identifies the exact weights a library or calibration used."""
    digest = hashlib.sha256()
    with open(path, "rb") as fhandle:
        for block in iter(lambda: fhandle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LoadedModel:
    """A model ready for inference, with what identifies it.

    Attributes:
        model (ContrastiveEncoder): in eval mode, on its device.
        path (str): the checkpoint file.
        fingerprint (str): SHA-256 of the checkpoint file.
    """

    model: ContrastiveEncoder
    path: str
    fingerprint: str


def load_model(name_or_path: str, device: str = None) -> LoadedModel:
    """Loads a checkpoint file or a shipped checkpoint name for inference.

    Args:
        name_or_path (str): path to a ``serialize()`` package, a name in
            ``phalar_asteroid/pretrained/``, a URL or a Hugging Face hub id.
        device (str, optional): torch device; cuda when available by default.

    Returns:
        LoadedModel: the model in eval mode and its checkpoint fingerprint.

    Raises:
        CliError: unknown name, failed download, unreadable or corrupt file, or not a
            contrastive encoder.
    """
    try:
        path = resolve_pretrained(name_or_path)
    except (FileNotFoundError, ConnectionError) as err:
        if name_or_path == DEFAULT_MODEL:
            raise CliError(
                f"the default model {DEFAULT_MODEL!r} is not shipped with this installation "
                f"(expected {os.path.join(PRETRAINED_DIR, DEFAULT_MODEL + '.pth')}); pass "
                "--model PATH to a checkpoint saved with model.serialize()"
            ) from None
        raise CliError(f"--model: {err}") from None
    try:
        model = ContrastiveEncoder.from_pretrained(path)
    except (ValueError, TypeError, RuntimeError, KeyError, AttributeError) as err:
        # The first sentence only: torch's messages run to dozens of lines.
        reason = str(err).strip().splitlines()[0].split(". ")[0][:200]
        raise CliError(f"--model {path}: not a usable model checkpoint ({reason})") from None
    if not isinstance(model, ContrastiveEncoder):
        raise CliError(
            f"--model {path}: holds a {type(model).__name__}, not a PHALAR-style encoder"
        )
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        model = model.to(device)
    except RuntimeError as err:
        raise CliError(f"--device {device}: {err}") from None
    return LoadedModel(model.eval(), path, file_fingerprint(path))


@dataclass
class WindowEmbeddings:
    """Embeddings of the active windows of one file (see :mod:`phalar_asteroid.cli.audio`).

    Attributes:
        embeddings (torch.Tensor): internal layout, ``(n, 2, dim)`` or ``(n, dim)``, on CPU.
        windows (np.ndarray): ``(n,)`` window indices; window ``i`` starts at ``i * hop``.
    """

    embeddings: torch.Tensor
    windows: np.ndarray


@torch.no_grad()
def embed_batches(model: ContrastiveEncoder, clips: np.ndarray, batch_size: int, desc=None):
    """Embeds equal-length clips in batches.

    Args:
        model (ContrastiveEncoder): in eval mode.
        clips (np.ndarray): ``(n, time)`` at the model's rate.
        batch_size (int): clips per forward pass.
        desc (str, optional): progress-bar label.

    Returns:
        torch.Tensor: ``(n, ...)`` embeddings in the internal layout, on CPU.
    """
    out = []
    starts = range(0, len(clips), batch_size)
    for i in tqdm(starts, desc=desc, unit="batch", leave=False, disable=None):
        batch = torch.from_numpy(np.ascontiguousarray(clips[i : i + batch_size]))
        out.append(model(model.prepare_input(batch, model.sample_rate)).cpu())
    return torch.cat(out)


def require_min_length(model, wav: np.ndarray, name: str):
    """Raises CliError when ``wav`` is shorter than the model's minimum input.

    Args:
        model (ContrastiveEncoder): the model.
        wav (np.ndarray): ``(time,)`` at the model's rate.
        name (str): file name for the message.
    """
    rate = int(model.sample_rate)
    if len(wav) < model.min_samples:
        raise CliError(
            f"{name}: {len(wav) / rate:.3f} s of audio is shorter than the model's minimum of "
            f"{model.min_samples / rate:.3f} s"
        )


def embed_waveform(model, wav: np.ndarray, name: str, batch_size: int) -> WindowEmbeddings:
    """Embeds the active windows of a mono waveform at the model's rate.

    Args:
        model (ContrastiveEncoder): in eval mode.
        wav (np.ndarray): ``(time,)``.
        name (str): file name for error messages.
        batch_size (int): windows per forward pass.

    Returns:
        WindowEmbeddings: the active windows.

    Raises:
        CliError: shorter than the model's minimum, or no active window.
    """
    require_min_length(model, wav, name)
    windows = frame_windows(wav, int(model.sample_rate))
    active = np.flatnonzero(rms_db(windows) >= SILENCE_DB)
    if len(active) == 0:
        raise CliError(f"{name}: every window is near-silent (RMS below -60 dBFS)")
    return WindowEmbeddings(embed_batches(model, windows[active], batch_size, desc=name), active)


def embed_file(model, path: str, batch_size: int) -> WindowEmbeddings:
    """Reads an audio file and embeds its active windows (see :func:`embed_waveform`)."""
    return embed_waveform(model, load_audio(path, int(model.sample_rate)), path, batch_size)
