"""StemCoherence: phalar score's numbers as a torchmetrics Metric, batched, distributed, checked."""

import datetime
import os
import socket

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torchaudio

from phalar_asteroid.inference.audio import load_audio
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.inference.score import score_files, score_waveforms
from phalar_asteroid.metrics import StemCoherence
from phalar_asteroid.utils.io import sha256_file

SR = 16000
WORLD = 2


@pytest.fixture(scope="module")
def pairs(songs):
    """Four 16 s (mix, stem) pairs (two windows each): the bass against drums + chords."""
    mixes = torch.stack([torch.from_numpy(s["drums"] + s["chords"]) for s in songs[:4]])
    stems = torch.stack([torch.from_numpy(s["bass"]) for s in songs[:4]])
    return mixes, stems


def _summary(metric) -> dict:
    return {k: v.item() for k, v in metric.compute().items()}


def _assert_same(a: dict, b: dict, tol: float = 1e-6):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=tol, nan_ok=True), key


def _delayed(stem: torch.Tensor, samples: int) -> torch.Tensor:
    return torch.cat((torch.zeros(samples), stem[:-samples]))


def test_true_stems_beat_off_beat_stems_beat_other_tracks(shipped, chorales, single_thread):
    """Every stem of each chorale against the sum of its other stems; the same stem half a beat
    late (an off-beat quaver); the same-numbered stem of the next track."""
    metrics = {
        name: StemCoherence(SR, shipped, calibrate=False) for name in ("true", "off", "other")
    }
    for i, (stems, beat_seconds) in enumerate(chorales):
        others = chorales[(i + 1) % len(chorales)][0]
        mixes = torch.stack([sum(stems[:k] + stems[k + 1 :]) for k in range(len(stems))])
        late = round(beat_seconds / 2 * SR)
        metrics["true"].update(mixes, torch.stack(stems))
        metrics["off"].update(mixes, torch.stack([_delayed(s, late) for s in stems]))
        metrics["other"].update(
            mixes, torch.stack([others[k % len(others)] for k in range(len(stems))])
        )
    means = {name: m.compute()["mean"].item() for name, m in metrics.items()}
    assert metrics["true"].compute()["count"] == 12  # 3 tracks of 4 stems
    assert means["true"] > means["off"] > means["other"], means


def test_scores_as_phalar_score_scores_files(tiny, audio, tmp_path):
    """A 44.1 kHz stereo pair, as tensors, gets the score of phalar score on the same files."""
    mix, stem = load_audio(audio["mix"], SR), load_audio(audio["bass0"], SR)  # 16 s each
    mix_44k = torchaudio.functional.resample(torch.from_numpy(mix), SR, 44100)
    stem_44k = torchaudio.functional.resample(torch.from_numpy(stem), SR, 44100)
    mix_stereo = torch.stack((mix_44k, 0.25 * mix_44k))  # (channels, time)
    stem_stereo = torch.stack((0.5 * stem_44k, stem_44k))
    sf.write(tmp_path / "mix.wav", mix_stereo.T.numpy(), 44100, subtype="FLOAT")
    sf.write(tmp_path / "stem.wav", stem_stereo.T.numpy(), 44100, subtype="FLOAT")
    expected = score_files(tiny.model, str(tmp_path / "mix.wav"), str(tmp_path / "stem.wav"))

    metric = StemCoherence(44100, tiny, calibrate=False)
    metric.update(mix_stereo[None], stem_stereo[None], sample_rate=44100)
    result = _summary(metric)
    assert result["mean"] == pytest.approx(expected.score, abs=1e-6)
    assert result["n_windows"] == expected.n_windows == 2 and result["count"] == 1


def test_short_pair_is_one_window_of_its_length(tiny, pairs):
    mixes, stems = pairs[0][:2, : 6 * SR], pairs[1][:2, : 6 * SR]
    metric = StemCoherence(SR, tiny, calibrate=False)
    metric.update(mixes[:, None], stems)  # (batch, 1, time) and (batch, time)
    expected = [score_waveforms(tiny.model, m.numpy(), s.numpy()) for m, s in zip(mixes, stems)]
    assert [e.n_windows for e in expected] == [1, 1] and metric.compute()["n_windows"] == 2
    assert torch.cat(metric.scores).tolist() == pytest.approx([e.score for e in expected], abs=0)


def test_summary_of_known_scores(tiny, pairs):
    metric = StemCoherence(SR, tiny)
    metric.update(*pairs)
    scores = torch.cat(metric.scores).numpy()
    result = _summary(metric)
    assert result["count"] == 4 and result["n_windows"] == 8
    assert result["mean"] == pytest.approx(scores.mean(), abs=1e-12)
    assert result["std"] == pytest.approx(scores.std(ddof=1), abs=1e-12)
    assert result["median"] == pytest.approx(np.median(scores), abs=1e-12)
    assert result["q25"] == pytest.approx(np.quantile(scores, 0.25), abs=1e-12)
    assert result["min"] == scores.min() and result["max"] == scores.max()
    half = 3.182446305284263 * scores.std(ddof=1) / 2  # t(0.975, df=3) * s / sqrt(4)
    assert result["ci95_low"] == pytest.approx(scores.mean() - half, abs=1e-9)
    assert result["ci95_high"] == pytest.approx(scores.mean() + half, abs=1e-9)
    calibration = metric.calibration()
    below = [100 * ((calibration < s).mean() + (calibration <= s).mean()) / 2 for s in scores]
    assert result["mean_percentile"] == pytest.approx(np.mean(below), abs=1e-9)
    assert 0 <= result["mean_percentile"] <= 100


def test_one_update_of_four_equals_two_updates_of_two(tiny, pairs):
    whole, halves = StemCoherence(SR, tiny), StemCoherence(SR, tiny)
    whole.update(*pairs)
    halves.update(pairs[0][:2], pairs[1][:2])
    halves.update(pairs[0][2:], pairs[1][2:])
    _assert_same(_summary(whole), _summary(halves))
    halves.reset()
    halves.update(pairs[0][:1], pairs[1][:1])
    assert _summary(halves)["count"] == 1


def test_reduced_states_equal_one_metric_on_the_union(tiny, pairs):
    """torchmetrics' own reduction of list states (what forward() uses to merge batches)."""
    whole, first, second = (StemCoherence(SR, tiny) for _ in range(3))
    whole.update(*pairs)
    first.update(pairs[0][:3], pairs[1][:3])
    second.update(pairs[0][3:], pairs[1][3:])
    first._reduce_states({"scores": second.scores, "n_windows": second.n_windows})
    _assert_same(_summary(whole), _summary(first))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _distributed_rank(rank: int, port: int, model_path: str, pairs, shards, out: str):
    """One gloo process: scores the pairs of its shard (none: no update at all), then compute().

    A collective that one process never joins fails after the timeout instead of hanging.
    """
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        metric = StemCoherence(SR, load_model(model_path, device="cpu"))
        start, stop = shards[rank]
        if stop > start:
            metric.update(pairs[0][start:stop], pairs[1][start:stop])
        torch.save({k: v.item() for k, v in metric.compute().items()}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("shards", [((0, 3), (3, 4)), ((0, 4), (4, 4))], ids=["3+1", "4+none"])
def test_two_gloo_processes_equal_one_on_the_concatenated_batch(
    tiny, model_path, pairs, shards, tmp_path
):
    single = StemCoherence(SR, tiny)
    single.update(*pairs)
    expected = _summary(single)  # also writes the calibration cache the processes read
    # Forked, not spawned: the processes inherit this one's imports (torch, asteroid) instead of
    # spending seconds on them; each sets one thread first, as DataLoader workers do.
    mp.start_processes(
        _distributed_rank,
        args=(_free_port(), model_path, pairs, shards, str(tmp_path)),
        nprocs=WORLD,
        join=True,
        start_method="fork",
    )
    for rank in range(WORLD):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert result["count"] == 4
        _assert_same(result, expected)


def test_model_is_no_child_of_the_metric(tiny, model_path, pairs):
    metric = StemCoherence(SR, model_path, device="cpu", calibrate=False)
    assert list(metric.children()) == [] and list(metric.parameters()) == []
    assert metric.state_dict() == {}  # list states are not persistent, and no weights
    metric.train()
    metric.double()
    assert not metric.model.training
    assert next(metric.model.parameters()).dtype == torch.float32
    metric.update(pairs[0][:1], pairs[1][:1])
    assert not metric.scores[0].requires_grad


def test_report_names_the_checkpoint(tiny, model_path, pairs):
    metric = StemCoherence(22050, tiny)
    metric.update(pairs[0][:2], pairs[1][:2])
    report = metric.report()
    assert report["model_sha256"] == sha256_file(model_path) == metric.fingerprint
    assert report["model"] == os.path.abspath(model_path)
    assert (report["sample_rate"], report["model_sample_rate"]) == (22050, SR)
    assert (report["window_seconds"], report["hop_seconds"]) == (10.0, 5.0)
    assert report["n_random_pairs"] == 32 * 31
    assert report["stem_coherence"]["count"] == 2
    assert isinstance(report["stem_coherence"]["mean"], float)


@pytest.mark.parametrize(
    "rate, message",
    [(0, "got 0"), (44100.5, "got 44100.5"), ("16000", "got '16000'"), (True, "got True")],
)
def test_refuses_a_bad_sample_rate(tiny, rate, message):
    with pytest.raises(ValueError, match=f"^sample_rate: .*{message}"):
        StemCoherence(rate, tiny)


def test_bad_input_is_refused_naming_the_argument(tiny, pairs):
    mixes, stems = pairs
    metric = StemCoherence(SR, tiny, calibrate=False)
    with pytest.raises(ValueError, match="^generated_stem: shape \\(4, 255999\\) does not match"):
        metric.update(mixes, stems[:, 1:])
    with pytest.raises(ValueError, match="^generated_stem: shape \\(3, 256000\\) does not match"):
        metric.update(mixes, stems[:3])
    with pytest.raises(ValueError, match="^mix: expected \\(batch, time\\) or"):
        metric.update(mixes[0], stems[0])
    with pytest.raises(TypeError, match="^generated_stem: expected a floating-point"):
        metric.update(mixes, (stems * 1000).long())
    with pytest.raises(TypeError, match="^mix: .* got ndarray"):
        metric.update(mixes.numpy(), stems)
    with pytest.raises(ValueError, match="^mix: no audio"):
        metric.update(mixes[:0], stems[:0])
    with pytest.raises(ValueError, match="^sample_rate: got 44100 Hz audio, but this metric"):
        metric.update(mixes, stems, sample_rate=44100)
    broken = stems.clone()
    broken[2, 100] = float("nan")
    with pytest.raises(ValueError, match="^generated_stem\\[2\\]: NaN or Inf"):
        metric.update(mixes, broken)
    with pytest.raises(ValueError, match="^mix\\[0\\]: .* shorter than the model's minimum"):
        metric.update(mixes[:, :1000], stems[:, :1000])
    quiet = stems.clone()
    quiet[1] = 1e-5
    with pytest.raises(ValueError, match="^generated_stem\\[1\\]: every window is near-silent"):
        metric.update(mixes, quiet)
    # A refused batch leaves nothing behind: rows scored before the failing one are not kept.
    assert metric.scores == []
    with pytest.raises(ValueError, match="no pair scored yet"):
        metric.compute()
