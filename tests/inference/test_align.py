"""``align_files``: the offset grid, and the score at each offset is that of the shifted clip;
``peak_confidence``: the second-best peak and the margin of hand-made score curves."""

import json

import numpy as np
import pytest
import torch

from phalar_asteroid.inference.align import align_files, peak_confidence
from phalar_asteroid.inference.audio import load_audio

SR = 16000


def test_scores_are_those_of_the_shifted_stem(model, audio):
    alignment = align_files(model, audio["mix"], audio["bass0"], max_offset=0.5, step=0.25)
    np.testing.assert_allclose(alignment.offsets, [-0.5, -0.25, 0.0, 0.25, 0.5])
    assert alignment.window == 10.0 and 0.0 <= alignment.mix_start <= 6.0
    mix, stem = load_audio(audio["mix"], SR), load_audio(audio["bass0"], SR)
    start, window = round(alignment.mix_start * SR), 10 * SR
    padded = np.pad(stem, (SR, SR))
    with torch.no_grad():
        mix_emb = model.embed(mix[None, start : start + window])
        for offset, score in zip(alignment.offsets, alignment.scores):
            first = SR + start - round(offset * SR)  # delaying the stem by d reads it d earlier
            clip = model.embed(padded[None, first : first + window])
            assert score == pytest.approx(float(model.score_embeddings(mix_emb, clip)), abs=1e-5)
    assert alignment.best == int(np.argmax(alignment.scores))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(step=0.0), "step must be positive"),
        (dict(max_offset=-1.0), "max_offset non-negative"),
        (dict(step=1e-6), "below one sample"),
    ],
)
def test_bad_settings(model, audio, kwargs, message):
    with pytest.raises(ValueError, match=message):
        align_files(model, audio["mix"], audio["bass0"], **kwargs)


def test_alignment_carries_its_confidence_as_plain_values(model, audio):
    alignment = align_files(model, audio["mix"], audio["bass0"], max_offset=0.5, step=0.25)
    expected = peak_confidence(alignment.offsets, alignment.scores)
    assert {name: getattr(alignment, name) for name in expected} == expected
    json.dumps(expected)  # plain Python values, ready for a JSON writer


# peak_confidence on hand-made curves: offsets in steps of 0.04 s, separation 0.1 s.
OFFSETS = np.round(np.arange(-5, 6) * 0.04, 2)


def test_a_single_peak_has_no_alternative():
    scores = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    assert peak_confidence(OFFSETS, scores) == dict(
        second_offset=None, second_score=None, margin=None, margin_std=None, ambiguous=False
    )


def test_two_near_equal_peaks_are_ambiguous():
    scores = np.array([0.0, 1.0, 4.9, 1.0, 0.0, 0.0, 0.0, 1.0, 5.0, 1.0, 0.0])
    confidence = peak_confidence(OFFSETS, scores)
    assert confidence["second_offset"] == pytest.approx(-0.12)
    assert confidence["second_score"] == 4.9
    assert confidence["margin"] == pytest.approx(0.1)
    assert confidence["margin_std"] == pytest.approx(0.1 / np.std(scores))
    assert confidence["ambiguous"] is True
    # The same curve is confident under a threshold below its normalised margin.
    assert peak_confidence(OFFSETS, scores, threshold=0.01)["ambiguous"] is False


def test_a_clear_peak_is_confident_and_its_own_shoulder_does_not_count():
    # A bump 0.08 s from the best (inside its peak) is ignored; the peak at -0.2 s is the second.
    scores = np.array([2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0, 2.5, 5.0, 1.0, 0.0])
    confidence = peak_confidence(OFFSETS, scores)
    assert confidence["second_offset"] == pytest.approx(-0.2)  # an end of the scan counts
    assert confidence["margin"] == pytest.approx(3.0)
    assert confidence["margin_std"] == pytest.approx(3.0 / np.std(scores))
    assert confidence["ambiguous"] is False
    # With no separation the bump is the second-best offset.
    assert peak_confidence(OFFSETS, scores, separation=0.0)["second_offset"] == pytest.approx(0.04)


def test_nan_scores_are_skipped():
    nan = np.nan
    # The best is at +0.12 s; the local maximum at -0.08 s borders NaNs on both sides and counts.
    scores = np.array([nan, 0.0, nan, 3.0, nan, nan, 1.0, 2.0, 4.0, 1.0, nan])
    confidence = peak_confidence(OFFSETS, scores)
    assert confidence["second_offset"] == pytest.approx(-0.08)
    assert confidence["margin"] == pytest.approx(1.0)
    finite = scores[np.isfinite(scores)]
    assert confidence["margin_std"] == pytest.approx(1.0 / np.std(finite))
    with pytest.raises(ValueError, match="no finite score"):
        peak_confidence(OFFSETS, np.full(len(OFFSETS), nan))


def test_a_flat_curve_is_ambiguous_and_bad_shapes_raise():
    confidence = peak_confidence(OFFSETS, np.ones(len(OFFSETS)))
    # The best is the first offset; the second is the first one at least 0.1 s from it.
    assert confidence["second_offset"] == pytest.approx(-0.08)
    assert confidence["margin"] == 0.0 and confidence["margin_std"] == 0.0
    assert confidence["ambiguous"] is True
    with pytest.raises(ValueError, match="same length"):
        peak_confidence(OFFSETS, np.ones(3))


@pytest.mark.parametrize(
    "kwargs, n_offsets",
    [
        (dict(max_offset=0.01), 1),  # below one step: the scan is the single offset 0
        (dict(max_offset=0.5, step=0.25, batch_size=2), 5),  # batches of 2, 2 and 1
        (dict(max_offset=0.4, step=0.05, batch_size=16), 17),  # 16 + 1
    ],
)
def test_a_last_batch_of_one_offset_is_scanned(model, audio, kwargs, n_offsets):
    # The one-row view of the last batch kept negative strides, which torch refused.
    alignment = align_files(model, audio["mix"], audio["bass0"], **kwargs)
    assert len(alignment.offsets) == n_offsets and np.isfinite(alignment.scores).all()
