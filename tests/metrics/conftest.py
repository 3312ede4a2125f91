"""Fixtures of the metric tests: loaded checkpoints and rendered corpus tracks."""

import numpy as np
import pytest
import torch

from phalar_asteroid.data.render.plan import plan_tracks
from phalar_asteroid.data.render.track import render_track
from phalar_asteroid.inference.model import load_model

#: Seed and size of the rendered chorales: seed 4 opens with three short Bach chorales (as in
#: tests/data/render), rendered for 8 s: one window each.
RENDER_SEED, N_TRACKS, TRACK_SECONDS = 4, 3, 8.0


@pytest.fixture(scope="session")
def tiny(model_path):
    """The tiny random checkpoint of tests/conftest.py, loaded as ``phalar`` loads it."""
    return load_model(model_path, device="cpu")


@pytest.fixture(scope="session")
def shipped():
    """The shipped ``phalar-embedded`` checkpoint on the CPU."""
    return load_model("phalar-embedded", device="cpu")


@pytest.fixture(scope="session")
def chorales():
    """Rendered chorale tracks: ``(stems, beat_seconds)`` each, stems as float32 tensors."""
    tracks = []
    for plan in plan_tracks(N_TRACKS, RENDER_SEED, "chorale"):
        track = render_track(plan, max_seconds=TRACK_SECONDS)
        stems = [torch.from_numpy(s.audio.astype(np.float32) / 32768) for s in track.stems]
        tracks.append((stems, 60.0 / track.tempo * track.beat_unit))
    return tracks
