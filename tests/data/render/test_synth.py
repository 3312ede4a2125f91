"""Tests of synthesis and mixing: 16 kHz mono stems, normalised, that sum to the mix."""

from __future__ import annotations

import numpy as np
from render_fixtures import SAMPLE_RATE, SECONDS, coco_tracks, read_audio, slakh_tracks


def test_stems_are_16k_mono_and_sum_to_the_mix(native):
    out, _ = native
    layouts = [(t, "stems_audio/*.wav", "mix.wav") for t in coco_tracks(out)]
    layouts += [(t, "stems/*.flac", "mix.flac") for t in slakh_tracks(out)]
    for track, pattern, mix_name in layouts:
        stems = [read_audio(path) for path in sorted(track.glob(pattern))]
        mix = read_audio(track / mix_name)
        assert all(len(s) == len(mix) == SECONDS * SAMPLE_RATE for s in stems)
        assert np.abs(mix - np.sum(stems, axis=0)).max() <= 1e-4
        assert 0.5 < np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-4  # target peak -1 dBFS
        assert min(np.sqrt(np.mean(s**2)) for s in stems) > 1e-3
