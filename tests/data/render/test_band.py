"""Tests of the band's rhythm section: the drum stem marks the beat grid."""

from __future__ import annotations

import librosa
import numpy as np
import yaml
from mirdata.datasets.gtzan_genre import load_beats
from render_fixtures import SAMPLE_RATE, read_audio, slakh_tracks


def test_drum_onsets_land_on_the_beats(native):
    out, _ = native
    (track,) = slakh_tracks(out)
    stems = yaml.safe_load((track / "metadata.yaml").read_text())["stems"]
    (drum_id,) = [stem_id for stem_id, entry in stems.items() if entry["is_drum"]]
    drums = read_audio(track / "stems" / f"{drum_id}.flac")
    assert np.sqrt(np.mean(drums**2)) > 0.01
    onsets = librosa.onset.onset_detect(y=drums, sr=SAMPLE_RATE, hop_length=160, units="time")
    beats = load_beats(str(track / "beats.beats")).times
    errors = np.array([np.abs(onsets - beat).min() for beat in beats])
    assert np.mean(errors < 0.03) >= 0.8
