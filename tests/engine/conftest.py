"""A tiny manifest of synthetic multitrack audio and a tiny PHALAR for the engine tests."""

import numpy as np
import pytest
import soundfile as sf

RATE = 16000
SECONDS = 4.0


def synth_track(folder, track_id, seed):
    """Three stems sharing one beat: a bass tone, a chord tone and clicks, written as WAV."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * RATE)
    t = np.arange(n) / RATE
    period = rng.uniform(0.3, 0.6)
    pulse = np.exp(-((t % period) / 0.05))
    stems = {
        "bass": 0.3 * pulse * np.sin(2 * np.pi * rng.uniform(50, 100) * t),
        "keys": 0.2 * pulse * np.sin(2 * np.pi * rng.uniform(200, 600) * t),
        "drums": 0.3 * (np.exp(-((t % period) / 0.005)) * rng.standard_normal(n)),
    }
    entries = []
    for name, audio in stems.items():
        path = str(folder / f"{track_id}_{name}.wav")
        sf.write(path, audio.astype(np.float32), RATE)
        entries.append({"name": name, "family": name, "path": path})
    return {
        "dataset": "synthetic",
        "track_id": track_id,
        "split": "train",
        "sample_rate": RATE,
        "num_frames": n,
        "duration": SECONDS,
        "stems": entries,
        "beats_path": None,
        "chords_path": None,
    }


@pytest.fixture(scope="session")
def manifest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stems")
    return [synth_track(folder, f"track{i}", seed=i) for i in range(3)]
