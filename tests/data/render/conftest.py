"""Fixtures of the renderer tests; the shared settings and readers live in ``render_fixtures.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_fixtures import N_TRACKS, SECONDS, SEED

from phalar_asteroid.data.render import render_corpus


@pytest.fixture(scope="session")
def native(tmp_path_factory) -> tuple[Path, dict]:
    """A three-track native-layout corpus of 6 s excerpts and its render summary, built once."""
    out = tmp_path_factory.mktemp("native")
    return out, render_corpus(out, N_TRACKS, SEED, workers=1, max_seconds=SECONDS)
