"""Audio for inference: reading any file soundfile reads, mono at the model's rate, fixed windows.

Windowing: a file is cut into windows of :data:`WINDOW_SECONDS` every :data:`HOP_SECONDS`
(window ``i`` starts at ``i * HOP_SECONDS``); a tail shorter than a hop after the last full
window is dropped, and a file shorter than one window is a single window of its own length.
Every window is embedded on its own, as the training crops were (2-10 s clips,
docs/protocols.md#random-crop), so two files cut this way have windows that start at the same
times and can be paired by index. Windows below the silence floor of the retrieval protocol
(RMS under -60 dBFS, docs/protocols.md#silence-filter,
``phalar_asteroid.data.silence.SILENCE_DB``) are not embedded.
"""

import os

import numpy as np
import soundfile as sf

from ..utils.io import audio_truncated

#: Window length: the longest training crop (docs/protocols.md#random-crop).
WINDOW_SECONDS = 10.0
#: Hop between window starts: half a window, so at most 5 s of a tail goes unseen.
HOP_SECONDS = 5.0
#: A file whose peak stays below this level is silent.
SILENT_PEAK_DBFS = -80.0

#: File names that ``phalar index`` picks up in a folder (formats libsndfile reads).
AUDIO_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".w64",
    ".caf",
)


def _unreadable(path: str, err: Exception) -> OSError:
    return OSError(f"{path}: not a readable audio file ({err})")


def check_audio_file(path: str) -> None:
    """Raises unless ``path`` is a readable file whose header libsndfile understands.

    Reads the header only (milliseconds, no torch), so a command can check all of its inputs
    before it loads a model; :func:`load_audio` starts with this check.

    Args:
        path (str): the audio file.

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: a folder.
        PermissionError: not readable.
        OSError: not an audio file libsndfile reads.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a folder, not an audio file: pass the files in it")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{path}: permission denied")
    try:
        sf.info(path)
    except (sf.SoundFileError, RuntimeError, OSError) as err:
        raise _unreadable(path, err) from None


def load_audio(path: str, sample_rate: int) -> np.ndarray:
    """Reads an audio file, averages its channels and resamples it.

    Args:
        path (str): any file libsndfile reads (WAV, FLAC, OGG, MP3, AIFF, …).
        sample_rate (int): rate to resample to.

    Returns:
        np.ndarray: float32 mono waveform ``(time,)``.

    Raises:
        FileNotFoundError: no such file.
        OSError: not a readable audio file (see :func:`check_audio_file`), or a WAV or AIFF file
            cut short (its header promises more audio than it holds, which libsndfile would read
            without a word).
        ValueError: no samples, NaN/Inf samples, or silence.
    """
    check_audio_file(path)
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        truncated = audio_truncated(path)
    except (sf.SoundFileError, RuntimeError, OSError) as err:
        raise _unreadable(path, err) from None
    if truncated:
        raise OSError(
            f"{path}: truncated audio file (its header promises more audio than the file "
            "holds): copy or export it again"
        )
    if data.size == 0:
        raise ValueError(f"{path}: the file holds no audio samples")
    mono = data.mean(axis=1)
    if not np.isfinite(mono).all():
        raise ValueError(f"{path}: the audio contains NaN or Inf samples")
    if np.abs(mono).max() < 10 ** (SILENT_PEAK_DBFS / 20):
        raise ValueError(f"{path}: the audio is silent (peak below {SILENT_PEAK_DBFS:.0f} dBFS)")
    if rate != sample_rate:
        import torch  # deferred: torch takes seconds to import, `phalar --help` should not
        import torchaudio

        mono = torchaudio.functional.resample(torch.from_numpy(mono), rate, sample_rate).numpy()
    return mono


def find_audio_files(folder: str) -> list:
    """Audio files under ``folder`` (recursive, sorted, hidden files skipped), by extension.

    Args:
        folder (str): directory to scan.

    Returns:
        list: file paths.

    Raises:
        NotADirectoryError: ``folder`` is not a directory.
        FileNotFoundError: it holds no audio file.
    """
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder}: not a directory")
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            os.path.join(root, name)
            for name in sorted(files)
            if not name.startswith(".") and name.lower().endswith(AUDIO_EXTENSIONS)
        ]
    if not found:
        raise FileNotFoundError(f"{folder}: no audio files ({', '.join(AUDIO_EXTENSIONS[:6])}, …)")
    return found


def window_length(n_samples: int, sample_rate: int) -> int:
    """Samples per window of a file: :data:`WINDOW_SECONDS`, or the whole file when shorter."""
    return min(n_samples, round(WINDOW_SECONDS * sample_rate))


def frame_windows(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cuts a waveform into the windows described in the module docstring.

    Args:
        wav (np.ndarray): mono waveform ``(time,)``.
        sample_rate (int): its rate.

    Returns:
        np.ndarray: read-only view ``(n_windows, window)``; window ``i`` starts at sample
        ``i * round(HOP_SECONDS * sample_rate)``.
    """
    window = window_length(len(wav), sample_rate)
    hop = round(HOP_SECONDS * sample_rate)
    return np.lib.stride_tricks.sliding_window_view(wav, window)[::hop]
