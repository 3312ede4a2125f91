"""Shared fixtures: a tiny random PHALAR checkpoint, generated audio, and a private cache."""

import os
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from phalar_asteroid.data.render import synth_song
from phalar_asteroid.models import PHALAR

#: A small PHALAR (CQT from 65 Hz: 4,097-sample minimum; 16-dim embeddings), fast on CPU.
TINY = dict(
    n_bins=24,
    fmin=65.4,
    backbone_width=4,
    depth=3,
    lsp_channels=8,
    lsp_components=4,
    embed_dim=16,
    dropout=0.0,
)
SR = 16000


@pytest.fixture(scope="session")
def tiny_model():
    """Factory: ``tiny_model(seed)`` is a randomly initialised tiny PHALAR in eval mode."""

    def build(seed: int = 0) -> PHALAR:
        torch.manual_seed(seed)
        return PHALAR(**TINY).eval()

    return build


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, tiny_model):
    """A randomly initialised tiny PHALAR saved with ``serialize()``."""
    path = tmp_path_factory.mktemp("model") / "tiny.pth"
    torch.save(tiny_model().serialize(), path)
    return str(path)


@pytest.fixture(scope="session")
def model(model_path):
    return PHALAR.from_pretrained(model_path).eval()


@pytest.fixture(scope="module")
def single_thread():
    """One intra-op thread for a test module (restored after it): on a busy machine the tiny
    convolutions only lose time to OpenMP synchronisation."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory, monkeypatch):
    """Downloads and calibrations go to one per-session folder, never the user's cache."""
    folder = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("PHALAR_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def songs():
    """Five synthetic 16 s songs (stem name -> 16 kHz waveform)."""
    rng = np.random.default_rng(7)
    return [synth_song(rng, 16.0, SR) for _ in range(5)]


@pytest.fixture(scope="session")
def audio(tmp_path_factory, songs):
    """WAV files: a 16 kHz mono partial mix and stems in several rates, channels and lengths.

    ``mix``: drums + chords of song 0 (16 s, 16 kHz mono); the bass of every song as 16 kHz mono
    of 16 s, 12 s or 7 s, in ``stems/`` but for the 7 s ``bass2``, shorter than a library's
    10 s windows; and in ``stems/`` song 1's melody as 44.1 kHz stereo.
    """
    root = tmp_path_factory.mktemp("audio")
    (root / "stems").mkdir()
    files = {"mix": root / "mix.wav"}
    sf.write(files["mix"], songs[0]["drums"] + songs[0]["chords"], SR)
    for i, (song, seconds) in enumerate(zip(songs, (16, 12, 7, 16, 12))):
        files[f"bass{i}"] = root / ("stems" if seconds >= 10 else "") / f"bass{i}.wav"
        sf.write(files[f"bass{i}"], song["bass"][: seconds * SR], SR, subtype="FLOAT")
    melody = torch.from_numpy(songs[1]["melody"])
    melody_44k = torchaudio.functional.resample(melody, SR, 44100).numpy()
    files["melody"] = root / "stems" / "melody_44k.wav"
    sf.write(files["melody"], np.stack((melody_44k, 0.5 * melody_44k), axis=1), 44100)
    return {k: str(v) for k, v in files.items()}


@pytest.fixture
def stems(audio, tmp_path):
    """A private copy of the ``stems/`` folder of :func:`audio`, for tests that change it."""
    folder = tmp_path / "stems"
    shutil.copytree(os.path.dirname(audio["bass0"]), folder)
    return str(folder)


@pytest.fixture
def count_calls(monkeypatch):
    """Factory: ``count_calls(module, name)`` wraps ``module.name`` (for this test) and returns
    the list that the positional arguments of each call are appended to."""

    def wrap(module, name):
        calls, original = [], getattr(module, name)

        def wrapper(*args, **kwargs):
            calls.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
        return calls

    return wrap


@pytest.fixture
def embedded(monkeypatch):
    """The base names of the files that ``inference.embedding.embed_file`` embeds in this test,
    in order (every caller imports it from there when it runs)."""
    from phalar_asteroid.inference import embedding

    names, original = [], embedding.embed_file

    def wrapper(model, path, *args, **kwargs):
        names.append(os.path.basename(path))
        return original(model, path, *args, **kwargs)

    monkeypatch.setattr(embedding, "embed_file", wrapper)
    return names
