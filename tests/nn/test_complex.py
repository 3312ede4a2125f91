import math

import pytest
import torch

from phalar_asteroid.nn import (
    CplxDropout,
    CplxLinear,
    CplxRMSNorm,
    ModReLU,
    from_complex,
    to_complex,
)
from phalar_asteroid.nn.complex import complex_rotate


def test_cplx_linear_matches_complex_matmul():
    layer = CplxLinear(6, 4)
    x = torch.randn(3, 2, 6)
    w = torch.complex(layer.real_weight, layer.imag_weight)
    expected = to_complex(x) @ w.T
    torch.testing.assert_close(to_complex(layer(x)), expected)
    assert layer.weight.shape == (8, 6)


def test_cplx_linear_init_scale():
    layer = CplxLinear(640, 512)
    bound = 1 / math.sqrt(640) / math.sqrt(2)
    assert layer.weight.abs().max().item() <= bound + 1e-7
    assert layer.weight.abs().max().item() > 0.9 * bound


def test_identity_init():
    layer = CplxLinear(5, 5, identity_init=True)
    x = torch.randn(2, 2, 5)
    torch.testing.assert_close(layer(x), x)


def test_converters_round_trip():
    x = torch.randn(4, 2, 7)
    torch.testing.assert_close(from_complex(to_complex(x)), x)
    with pytest.raises(ValueError, match="dim -2"):
        to_complex(torch.randn(4, 3, 7))


def test_rms_norm():
    norm = CplxRMSNorm(8)
    y = norm(torch.randn(5, 2, 8) * 7)
    power = y.pow(2).sum(1).mean(1)
    torch.testing.assert_close(power, torch.ones(5), rtol=1e-4, atol=1e-4)


def test_modrelu_preserves_phase_and_gates_magnitude():
    act = ModReLU(3, bias_init=-1.0)
    z = torch.tensor([[[0.3, 3.0, -2.0], [0.4, 4.0, 0.0]]])  # |z| = 0.5, 5, 2
    y = act(z)
    assert torch.all(y[0, :, 0] == 0)
    mag = torch.sqrt(y.pow(2).sum(1))[0]
    torch.testing.assert_close(mag[1:], torch.tensor([4.0, 1.0]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        torch.atan2(y[0, 1, 1], y[0, 0, 1]), torch.atan2(z[0, 1, 1], z[0, 0, 1])
    )


@pytest.mark.parametrize("phi", [0.3, 1.7, -2.5])
def test_layers_are_phase_equivariant(phi):
    torch.manual_seed(0)
    x = torch.randn(4, 2, 16)
    for layer in (CplxLinear(16, 16), CplxRMSNorm(16), ModReLU(16)):
        torch.testing.assert_close(
            layer(complex_rotate(x, phi)), complex_rotate(layer(x), phi), atol=1e-5, rtol=1e-5
        )


def test_dropout_shares_mask_between_parts():
    drop = CplxDropout(0.5).train()
    y = drop(torch.ones(64, 2, 80, 8))
    assert torch.equal(y[:, 0] == 0, y[:, 1] == 0)
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert 0.4 < (y[:, 0] == 0).float().mean().item() < 0.6
    drop.eval()
    assert torch.equal(drop(torch.ones(2, 2, 3)), torch.ones(2, 2, 3))
