"""``phalar align``: recovering a known offset between a stem and a mix.

Why this test is valid for an untrained model: with random weights nothing says the score curve
of a real mix peaks at the true offset. What does hold for any encoder weights is Cauchy–Schwarz:
if the similarity matrix is the identity (W = I, so H = I), the symmetric score
s_H(x, y) = <x/|x|, y/|y|> is at most 1, with equality only when the two normalised embeddings
coincide. When the mix *is* the stem shifted by d samples, the mix window equals, sample for
sample, the stem excerpt at offset d, so its embedding is identical and its score is the
maximum; at any other offset the excerpt differs (the stem has noise-based drums, so no shift
reproduces it) and so does its embedding. The reported offset must therefore be exactly d
whenever d lies on the offset grid: an error in the sign convention or in the window
bookkeeping moves the maximum and fails the test.
"""

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.cli import main

SR = 16000
STEP = 0.04


@pytest.fixture(scope="module")
def identity_model_path(tiny_model, tmp_path_factory):
    model = tiny_model(seed=3)
    weight = model.similarity.weight.weight  # (2 * dim, dim): real part A on top of imaginary B
    dim = weight.shape[1]
    with torch.no_grad():
        weight.zero_()
        weight[:dim] = torch.eye(dim)
    path = tmp_path_factory.mktemp("identity") / "identity.pth"
    torch.save(model.serialize(), path)
    return str(path)


@pytest.mark.parametrize("delay", [0.36, -0.52])
def test_align_recovers_a_known_shift(songs, identity_model_path, tmp_path, capsys, delay):
    stem = songs[2]["drums"][: 14 * SR] + songs[2]["melody"][: 14 * SR]
    shift = round(delay * SR)
    mix = np.concatenate((np.zeros(shift, np.float32), stem)) if shift > 0 else stem[-shift:]
    sf.write(tmp_path / "stem.wav", stem, SR, subtype="FLOAT")
    sf.write(tmp_path / "mix.wav", mix, SR, subtype="FLOAT")
    csv, plot = tmp_path / "curve.csv", tmp_path / "curve.png"
    args = ["align", str(tmp_path / "mix.wav"), str(tmp_path / "stem.wav"), "--max-offset", "0.6"]
    args += ["--step", str(STEP), "--csv", str(csv), "--plot", str(plot)]
    assert main(args + ["--model", identity_model_path]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"best offset {delay:+.3f} s")
    assert ("delay" if delay > 0 else "advance") + f" the stem by {abs(delay):.3f} s" in out

    curve = np.loadtxt(csv, delimiter=",", skiprows=1)
    np.testing.assert_allclose(curve[:, 0], np.arange(-15, 16) * STEP, atol=1e-6)
    best = int(np.argmax(curve[:, 1]))
    assert curve[best, 0] == pytest.approx(delay, abs=1e-6)
    assert curve[best, 1] == pytest.approx(1.0, abs=1e-4)  # identical embeddings
    assert np.all(np.delete(curve[:, 1], best) < curve[best, 1] - 1e-4)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
