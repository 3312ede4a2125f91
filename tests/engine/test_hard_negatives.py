"""Transposed negatives and the hard-negative schedule of ContrastiveSystem."""

import pytest
import torch

from phalar_asteroid.engine import (
    ContrastiveSystem,
    HardNegativeSchedule,
    make_contrastive_optimizer,
    transpose_up,
)
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.models import PHALAR, COCOLA

TINY_PHALAR = dict(
    hop_length=320, backbone_width=2, depth=1, lsp_channels=4, lsp_components=2, embed_dim=8
)


def test_transpose_up_moves_each_spectrogram_by_its_own_bins():
    spec = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3) + 1
    out = transpose_up(spec, torch.tensor([0, 2]))
    torch.testing.assert_close(out[0], spec[0])
    torch.testing.assert_close(out[1, 2:], spec[1, :3])  # bin b takes bin b - 2
    assert out[1, :2].abs().sum() == 0  # vacated low bins sit at the floor


def test_transpose_up_of_a_cqt_is_a_transposed_tone():
    # A 440 Hz tone moved up 7 bins peaks where a tone 7 semitones higher does.
    model = PHALAR(**TINY_PHALAR)
    t = torch.arange(32000) / 16000
    tone = lambda f: torch.sin(2 * torch.pi * f * t)[None]  # noqa: E731
    spec = model.spectrogram(tone(440.0))
    shifted = transpose_up(spec, torch.tensor([7]))
    target = model.spectrogram(tone(440.0 * 2 ** (7 / 12)))
    assert shifted[0].mean(-1).argmax() == target[0].mean(-1).argmax()
    assert shifted[0].mean(-1).argmax() == spec[0].mean(-1).argmax() + 7


def test_transpose_up_rejects_bad_shifts():
    with pytest.raises(ValueError, match="shifts must lie"):
        transpose_up(torch.zeros(1, 4, 2), torch.tensor([4]))
    with pytest.raises(ValueError, match="2 shifts for 1"):
        transpose_up(torch.zeros(1, 4, 2), torch.tensor([1, 1]))


@pytest.mark.parametrize(
    "start, ramp, expected",
    [
        (0, 0, [1.0, 1.0, 1.0, 1.0]),
        (0, 4, [0.0, 0.25, 0.5, 1.0]),
        (2, 0, [0.0, 0.0, 0.0, 1.0]),
        (1, 2, [0.0, 0.0, 0.5, 1.0]),
    ],
)
def test_schedule_weights(start, ramp, expected):
    schedule = HardNegativeSchedule(start, ramp)
    steps = [0, 1, 2, 4] if ramp == 4 else [0, 1, 2, 3]
    assert [schedule.weight(s) for s in steps] == expected


def test_schedule_rejects_negative_steps():
    with pytest.raises(ValueError, match=">= 0"):
        HardNegativeSchedule(-1, 0)


def _system(**kwargs):
    model = PHALAR(**TINY_PHALAR)
    return ContrastiveSystem(
        model, make_contrastive_optimizer(model), InfoNCELoss(), None, **kwargs
    )


def test_transposed_positives_become_extra_columns():
    torch.manual_seed(0)
    system = _system(transpose_fraction=0.5, transpose_semitones=(3, 3)).eval()
    anchors, positives = torch.randn(2, 4, 20000).unbind(0)
    logits = system.batch_logits((anchors, positives), train=True)
    assert logits.shape == (4, 4 + 2)
    # Rebuild the two extra columns by hand: the step's seed picks the pairs.
    gen = torch.Generator().manual_seed(system._step_seed())
    pairs = torch.randperm(4, generator=gen)[:2]
    with torch.no_grad():
        spec = system.model.spectrogram(torch.cat((anchors, positives)))
        extra = transpose_up(spec[4 + pairs], torch.tensor([3, 3]))
        emb = system.model.embed_spectrogram(torch.cat((spec, extra)))
        expected = system.model.similarity(emb[:4], emb[4:])
    torch.testing.assert_close(logits, expected)
    # Validation never adds them.
    assert system.batch_logits((anchors, positives), train=False).shape == (4, 4)


def test_schedule_ramps_transposed_and_extra_negatives():
    system = _system(transpose_fraction=1.0, hard_schedule=HardNegativeSchedule(0, 4)).eval()
    anchors, positives, extras = torch.randn(3, 4, 20000).unbind(0)
    # global_step is 0 without a trainer: weight 0, so neither kind is used yet.
    assert system.batch_logits((anchors, positives, extras), train=True).shape == (4, 4)
    system.hard_schedule = HardNegativeSchedule(0, 0)
    assert system.batch_logits((anchors, positives, extras), train=True).shape == (4, 4 + 4 + 4)


def test_transposition_needs_a_cqt_model():
    with pytest.raises(ValueError, match="CQT front end"):
        _ = ContrastiveSystem(
            COCOLA(features="mel"), None, InfoNCELoss(), None, transpose_fraction=0.5
        )
    with pytest.raises(ValueError, match="transpose_fraction"):
        _system(transpose_fraction=1.5)
    with pytest.raises(ValueError, match="transpose_semitones"):
        _system(transpose_fraction=0.5, transpose_semitones=(0, 11))
