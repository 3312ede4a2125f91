import math

import pytest
import torch

from phalar_asteroid.nn import LearnedSpectralPooling


def _lsp(**kwargs):
    torch.manual_seed(0)
    return LearnedSpectralPooling(96 * 60, **kwargs)


@pytest.mark.parametrize("frames, shift", [(32, 3), (32, 11), (19, 5), (40, 1)])
def test_circular_shift_is_a_phase_rotation(frames, shift):
    lsp = _lsp()
    features = torch.randn(2, 60, 96, frames)
    r = lsp(features)
    r_shifted = lsp(torch.roll(features, shift, dims=-1))
    z = torch.complex(r[:, 0].double(), r[:, 1].double())
    z_shifted = torch.complex(r_shifted[:, 0].double(), r_shifted[:, 1].double())
    k = torch.arange(1, 9, dtype=torch.float64)
    rotation = torch.exp(-2j * math.pi * k * shift / frames)
    torch.testing.assert_close(z_shifted, z * rotation, atol=1e-5, rtol=1e-5)


def test_output_shapes_and_padding():
    lsp = _lsp()
    assert lsp(torch.randn(3, 60, 96, 7)).shape == (3, 2, 80, 8)
    assert _lsp(output="magnitude")(torch.randn(3, 60, 96, 32)).shape == (3, 80, 8)
    z = torch.ones(1, 80, 15)
    assert lsp.pad(z).shape[-1] == 19
    assert torch.equal(lsp.pad(z)[..., :2], torch.zeros(1, 80, 2))  # center: 2 left, 2 right
    lsp.padding = "right"
    assert torch.equal(lsp.pad(z)[..., :15], z)


def test_global_normalisation_and_gain_invariance():
    lsp = _lsp()
    x = torch.randn(2, 60, 96, 16)
    r = lsp(x)
    mag = torch.sqrt(r[:, 0] ** 2 + r[:, 1] ** 2)
    torch.testing.assert_close(mag.mean(dim=(1, 2)), torch.ones(2), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(lsp(3.0 * x), r, atol=1e-5, rtol=1e-4)


def test_flatten_order_frequency_major():
    lsp = _lsp()
    features = torch.zeros(1, 60, 96, 4)
    features[0, 7, 2, :] = 1.0  # channel 7 at frequency 2 → flat index 2 * 60 + 7
    frames = lsp.project_frames(features)
    torch.testing.assert_close(frames[0, :, 0], lsp.project.weight[:, 2 * 60 + 7])


def test_runs_in_float32_under_autocast():
    lsp = _lsp()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = lsp(torch.randn(1, 60, 96, 16).bfloat16())
    assert out.dtype == torch.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        _lsp(padding="left")
    with pytest.raises(ValueError, match="norm"):
        _lsp(norm="l2")
