"""Settings and readers shared by the renderer tests: a small native corpus and its folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile

SEED = 4  # its first three tracks are short Bach chorales: quick to parse
N_TRACKS = 3
SECONDS = 6.0
SAMPLE_RATE = 16000
COCO_DIR = Path("cocochorales", "main_dataset")
SLAKH_DIR = Path("slakh", "slakh2100_redux_16k")
MOISES_DIR = Path("moisesdb", "moisesdb_v0.1")


def md5_tree(root: Path) -> dict[str, str]:
    """md5 of every file under ``root``, keyed by relative path."""
    return {
        str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def files_under(folder: Path) -> set[str]:
    """Relative paths of the files under ``folder``."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def coco_tracks(root: Path) -> list[Path]:
    """CocoChorales-layout track folders under a corpus root."""
    return sorted((root / COCO_DIR).glob("*/*_track*"))


def slakh_tracks(root: Path) -> list[Path]:
    """Slakh-layout track folders under a corpus root."""
    return sorted((root / SLAKH_DIR).glob("*/Track*"))


def read_audio(path: Path) -> np.ndarray:
    """Samples of a 16 kHz mono file (asserting both)."""
    info = soundfile.info(path)
    assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1), path
    return soundfile.read(path, dtype="float64")[0]
