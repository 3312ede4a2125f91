"""Inference with a trained model, in layers that are each usable alone.

1. :mod:`~.model`: :func:`load_model` (a file, a shipped name, a URL or a hub id).
2. :mod:`~.audio` and :mod:`~.embedding`: audio files read and conditioned (mono, the model's
   rate), cut into fixed windows, silent windows skipped, the rest embedded
   (:func:`embed_file`); :mod:`~.frames` for the dense frame embeddings of the downstream tasks.
3. :mod:`~.score` (a stem against a mix; :class:`PairScorer` for many pairs, with
   :mod:`~.pairs` reading lists of them), :mod:`~.library` (build, grow and search a stem
   library), :mod:`~.align` (the offset at which a stem fits), :mod:`~.calibration` (what a
   score means).

Errors are ``ValueError`` or ``OSError`` whose message names the file or argument at fault. The
``phalar`` command is a thin layer over these functions. Names are imported on first use, so
that ``import phalar_asteroid.inference`` (and ``phalar --help``) does not load torch.
"""

import importlib

_EXPORTS = {
    "LoadedModel": "model",
    "load_model": "model",
    "load_audio": "audio",
    "check_audio_file": "audio",
    "find_audio_files": "audio",
    "frame_windows": "audio",
    "WINDOW_SECONDS": "audio",
    "HOP_SECONDS": "audio",
    "WindowEmbeddings": "embedding",
    "embed_waveform": "embedding",
    "embed_file": "embedding",
    "FrameEmbedder": "frames",
    "PairScore": "score",
    "score_waveforms": "score",
    "score_files": "score",
    "PairScorer": "score",
    "Pair": "pairs",
    "read_pairs": "pairs",
    "expand_pairs": "pairs",
    "StemLibrary": "library",
    "SearchHit": "library",
    "build_library": "library",
    "search_file": "library",
    "plan_update": "library",
    "LibraryUpdate": "library",
    "BuildInterrupted": "library",
    "Alignment": "align",
    "align_files": "align",
    "peak_confidence": "align",
    "load_calibration": "calibration",
    "percentile": "calibration",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__():
    return __all__
