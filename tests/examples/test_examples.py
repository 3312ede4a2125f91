"""Every script in examples/ runs, in-process through its ``main(argv)``, and does its job."""

import importlib.util
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.data.datasets.stems import SILENCE_DB, rms_db
from phalar_asteroid.data.render import render_corpus

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pytestmark = pytest.mark.usefixtures("single_thread")


def test_cqt_separation_model_trains():
    results = load_example("cqt_separation_model").main(["--steps", "20"])
    assert results["si_sdr_after"] > results["si_sdr_before"] + 10.0
    assert results["round_trip"]


def test_mirdata_retrieval_on_a_rendered_corpus(model_path, tmp_path):
    render_corpus(tmp_path / "corpus", 2, seed=0, flavour="chorale", workers=1, max_seconds=5.5)
    data_home = str(tmp_path / "corpus" / "cocochorales")
    example = load_example("mirdata_retrieval")
    args = ["--data_home", data_home, "--model", model_path, "--split", "all"]
    args += ["--ks", "2", "4", "--index_dir", str(tmp_path / "index")]
    results = example.main(args)
    # One query per voice active in the middle 5 s of its piece, read here with soundfile.
    expected = 0
    for root, _, files in os.walk(data_home):
        voices = [
            sf.read(os.path.join(root, f), dtype="float32")[0]
            for f in sorted(files)
            if root.endswith("stems_audio")
        ]
        if voices:
            length = min(map(len, voices))
            start = (length - 5 * 16000) // 2
            clips = np.stack([v[start : start + 5 * 16000] for v in voices])
            expected += int((rms_db(clips) >= SILENCE_DB).sum())
    for k in (2, 4):
        assert results[k]["n_queries"] == expected > 0
        assert results[k]["chance"] == pytest.approx(1 / k)
    # The ranking logic on known scores: a perfect and a reversed scorer.
    piece_of = np.repeat(np.arange(3), 4)
    perfect = example.evaluate(torch.eye(12), piece_of, [4], seed=0)[4]
    reversed_ = example.evaluate(-torch.eye(12), piece_of, [4], seed=0)[4]
    assert perfect["top1"] == 1.0 and perfect["mrr"] == 1.0
    assert reversed_["top1"] == 0.0 and reversed_["mrr"] == pytest.approx(0.25)


def test_phasor_plot(model_path, tmp_path):
    png = tmp_path / "phasors.png"
    errors = load_example("phasor_plot").main(["--model", model_path, "--out", str(png)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Median phase error over channels, per component: an untrained model already follows
    # -2πks/N (a wrong sign or shift unit would give about π/2, the error of random phases).
    assert set(errors) == {1, 2, 4}
    assert all(error < 0.6 for error in errors.values()), errors
