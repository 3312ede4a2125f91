"""``FrameEmbedder``: one frame per hop, in the layout of ``embed``, with its throughput."""

import json

import numpy as np
import pytest
import torch

from phalar_asteroid.inference.frames import FrameEmbedder
from phalar_asteroid.models import COCOLA


def test_frames_and_throughput(model, tmp_path):
    assert (model.frames(2.0), model.frames(0.5)) == (200, 50)  # 10 ms hops
    embedder = FrameEmbedder(model, window_seconds=2.0, hop_seconds=0.5, batch_size=3)
    wav = 0.1 * np.random.default_rng(0).standard_normal(5 * 16000).astype(np.float32)
    frames = embedder(wav)
    n_spec = model.spectrogram(torch.from_numpy(wav)[None]).shape[-1]
    assert frames.shape == ((n_spec - 200) // 50 + 1, 16) and frames.is_complex()
    torch.testing.assert_close(
        frames, model.embed_windows(torch.from_numpy(wav), 200, 50, batch_size=64)
    )
    embedder(wav)
    assert embedder.n_windows == 2 * len(frames) and embedder.seconds > 0
    embedder.report_throughput(str(tmp_path / "throughput.json"))
    stats = json.loads((tmp_path / "throughput.json").read_text())
    assert stats["windows"] == 2 * len(frames) and stats["windows_per_second"] > 0
    with pytest.raises(ValueError, match="shorter than one window"):
        embedder(wav[:16000])


def test_bad_settings_and_models(model):
    with pytest.raises(ValueError, match="hop_seconds"):
        FrameEmbedder(model, 2.0, 0.0123)
    with pytest.raises(ValueError, match="need a PHALAR model"):
        FrameEmbedder(COCOLA(n_mels=32, embed_dim=16), 2.0, 0.5)
