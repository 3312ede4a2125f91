"""``align_files``: the offset grid, and the score at each offset is that of the shifted clip."""

import numpy as np
import pytest
import torch

from phalar_asteroid.inference.align import align_files
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
