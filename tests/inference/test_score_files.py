"""``score_files``: the mean symmetric score over aligned active windows, from two files."""

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.inference.audio import frame_windows, load_audio
from phalar_asteroid.inference.score import score_files, score_waveforms

SR = 16000


def test_equals_window_by_window_scores(model, audio):
    mix, stem = load_audio(audio["mix"], SR), load_audio(audio["bass2"], SR)  # 16 s and 7 s
    length = min(len(mix), len(stem))
    with torch.no_grad():
        expected = [
            float(model.score_embeddings(model.embed(m[None]), model.embed(s[None])))
            for m, s in zip(frame_windows(mix[:length], SR), frame_windows(stem[:length], SR))
        ]
    result = score_files(model, audio["mix"], audio["bass2"], batch_size=2)
    assert result.n_windows == len(expected) == 1 and result.window_seconds == 7.0
    assert result.score == pytest.approx(np.mean(expected), abs=1e-5)
    longer = score_files(model, audio["mix"], audio["bass0"])  # 16 s: windows at 0 and 5 s
    assert longer.n_windows == 2 and longer.window_seconds == 10.0


def test_symmetric_in_its_arguments(model, audio):
    forward = score_files(model, audio["mix"], audio["bass0"])
    assert score_files(model, audio["bass0"], audio["mix"]).score == pytest.approx(
        forward.score, abs=1e-5
    )


def test_unusable_input_raises_value_errors(model, audio, tmp_path):
    mix = load_audio(audio["mix"], SR)
    with pytest.raises(ValueError, match="quiet: every window is near-silent"):
        score_waveforms(model, mix, np.full_like(mix, 3e-4), names=("mix", "quiet"))
    with pytest.raises(ValueError, match="short: .* shorter than the model's minimum"):
        score_waveforms(model, mix, mix[:100], names=("mix", "short"))
    text = tmp_path / "text.wav"
    text.write_text("not audio")
    with pytest.raises(OSError, match="text.wav: not a readable audio file"):
        score_files(model, audio["mix"], str(text))
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR, np.float32), SR)
    with pytest.raises(ValueError, match="silent.wav: the audio is silent"):
        score_files(model, str(silent), audio["mix"])
