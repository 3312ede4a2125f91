import math

import pytest
import torch

from phalar_asteroid.losses import InfoNCELoss, SymmetricInfoNCELoss, info_nce, symmetric_info_nce
from phalar_asteroid.losses.infonce import soft_targets


def test_soft_targets_values():
    probs = soft_targets(torch.zeros(64, 64), torch.arange(64), 0.9)
    assert probs[0, 0].item() == pytest.approx(0.9)
    assert probs[0, 1].item() == pytest.approx(0.1 / 63)
    torch.testing.assert_close(probs.sum(1), torch.ones(64))


def test_uniform_logits_give_log_b():
    assert info_nce(torch.zeros(8, 8)).item() == pytest.approx(math.log(8), rel=1e-6)


def test_matches_torch_label_smoothing():
    logits = torch.randn(16, 16)
    b = 16
    eps = b * (1 - 0.9) / (b - 1)  # the reference's epsilon gives the same soft targets
    expected = torch.nn.functional.cross_entropy(logits, torch.arange(b), label_smoothing=eps)
    torch.testing.assert_close(info_nce(logits), expected)


def test_no_smoothing_is_cross_entropy():
    logits = torch.randn(6, 9)
    targets = torch.tensor([0, 2, 4, 6, 8, 1])
    expected = torch.nn.functional.cross_entropy(logits, targets)
    torch.testing.assert_close(InfoNCELoss(1.0)(logits, targets), expected)


def test_symmetric_averages_rows_and_columns():
    logits = torch.randn(5, 5)
    expected = 0.5 * (info_nce(logits) + info_nce(logits.T))
    torch.testing.assert_close(symmetric_info_nce(logits), expected)


def test_bad_shapes_raise_type_error():
    with pytest.raises(TypeError):
        info_nce(torch.randn(8))
    with pytest.raises(TypeError):
        info_nce(torch.randn(8, 4))
    with pytest.raises(TypeError):
        info_nce(torch.randn(4, 4), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError):
        SymmetricInfoNCELoss()(torch.randn(4, 6))


def test_gradient_pushes_positive_up():
    logits = torch.zeros(4, 4, requires_grad=True)
    info_nce(logits).backward()
    assert torch.all(torch.diagonal(logits.grad) < 0)
