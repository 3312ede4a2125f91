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

The confidence line is checked on hand-made curves, with ``align_files`` replaced.
"""

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.cli import main
from phalar_asteroid.inference import align as inference_align
from phalar_asteroid.inference.align import Alignment

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
    assert out.splitlines()[1].startswith("confidence: margin ")

    curve = np.loadtxt(csv, delimiter=",", skiprows=1)
    np.testing.assert_allclose(curve[:, 0], np.arange(-15, 16) * STEP, atol=1e-6)
    best = int(np.argmax(curve[:, 1]))
    assert curve[best, 0] == pytest.approx(delay, abs=1e-6)
    assert curve[best, 1] == pytest.approx(1.0, abs=1e-4)  # identical embeddings
    assert np.all(np.delete(curve[:, 1], best) < curve[best, 1] - 1e-4)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "scores, line",
    [
        (
            [0.0, 1.0, 4.9, 1.0, 0.0, 0.0, 0.0, 1.0, 5.0, 1.0, 0.0],
            "confidence: margin 0.1000 (0.056 std of the curve) over the second-best offset "
            "-0.120 s (score 4.9000); ambiguous: margin below 0.08 std, the stem may fit at "
            "-0.120 s as well",
        ),
        (
            [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 5.0, 1.0, 0.0],
            "confidence: margin 4.0000 (2.817 std of the curve) over the second-best offset "
            "-0.120 s (score 1.0000)",
        ),
        (
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0],
            "confidence: no other peak in the scanned range",
        ),
    ],
)
def test_confidence_line(model_path, audio, capsys, monkeypatch, scores, line):
    offsets = np.round(np.arange(-5, 6) * STEP, 2)
    curve = Alignment(offsets, np.array(scores), mix_start=0.0, window=10.0)
    # cli.align imports the inference layer only once the inputs are checked: patch it there.
    monkeypatch.setattr(inference_align, "align_files", lambda *args: curve)
    assert main(["align", audio["mix"], audio["bass0"], "--model", model_path]) == 0
    assert capsys.readouterr().out.splitlines()[1] == line
