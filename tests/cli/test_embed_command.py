"""``phalar embed``: window embeddings of files of any rate and channel count."""

import numpy as np
import soundfile as sf
import torch
import torchaudio

from phalar_asteroid.cli import main
from phalar_asteroid.utils.io import sha256_file as file_fingerprint

SR = 16000


def embed_by_hand(model, wav):
    with torch.no_grad():
        return model.embed(torch.as_tensor(wav, dtype=torch.float32)[None])[0].numpy()


def test_embed_writes_window_embeddings(audio, model_path, model, tmp_path, capsys):
    out = tmp_path / "emb.npz"
    files = [audio["mix"], audio["melody"], audio["bass2"]]
    assert main(["embed", *files, "--model", model_path, "--out", str(out)]) == 0
    assert "5 windows of 3 files" in capsys.readouterr().out
    with np.load(out) as npz:
        assert npz["files"].tolist() == files
        assert str(npz["model"]) == model_path
        assert str(npz["model_sha256"]) == file_fingerprint(model_path)
        assert float(npz["window_seconds"]) == 10.0 and float(npz["hop_seconds"]) == 5.0
        assert int(npz["sample_rate"]) == SR
        emb = npz["embeddings"]
        np.testing.assert_array_equal(npz["file_index"], [0, 0, 1, 1, 2])
        np.testing.assert_array_equal(npz["window_index"], [0, 1, 0, 1, 0])
        np.testing.assert_array_equal(npz["start_seconds"], [0, 5, 0, 5, 0])
    assert emb.dtype == np.complex64 and emb.shape == (5, 16)

    mix, _ = sf.read(audio["mix"], dtype="float32")
    np.testing.assert_allclose(emb[1], embed_by_hand(model, mix[5 * SR : 15 * SR]), atol=1e-5)
    # 44.1 kHz stereo: channels averaged, then resampled to 16 kHz.
    stereo, rate = sf.read(audio["melody"], dtype="float32")
    mono = torchaudio.functional.resample(torch.from_numpy(stereo.mean(axis=1)), rate, SR)
    np.testing.assert_allclose(emb[2], embed_by_hand(model, mono[: 10 * SR]), atol=1e-5)
    # A 7 s file is one window of its own length.
    short, _ = sf.read(audio["bass2"], dtype="float32")
    assert len(short) == 7 * SR
    np.testing.assert_allclose(emb[4], embed_by_hand(model, short), atol=1e-5)


def test_embed_skips_silent_windows(model_path, model, tmp_path):
    wav = np.zeros(20 * SR, dtype=np.float32)
    wav[15 * SR :] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(5 * SR) / SR)
    sf.write(tmp_path / "late.wav", wav, SR)
    out = tmp_path / "late.npz"
    assert (
        main(["embed", str(tmp_path / "late.wav"), "--model", model_path, "--out", str(out)]) == 0
    )
    wav, _ = sf.read(tmp_path / "late.wav", dtype="float32")  # as quantised in the file
    with np.load(out) as npz:
        # Windows start at 0, 5 and 10 s; only the last one reaches the tone at 15 s.
        np.testing.assert_array_equal(npz["window_index"], [2])
        np.testing.assert_allclose(
            npz["embeddings"][0], embed_by_hand(model, wav[10 * SR :]), atol=1e-5
        )
