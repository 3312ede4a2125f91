"""Bad input: a one-line message on stderr, exit status 1, no traceback, no partial output."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.cli import main
from phalar_asteroid.models import base

SR = 16000


def fails(capsys, args, *fragments):
    """Runs ``phalar args``; checks exit status 1 and a clean message holding ``fragments``."""
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.startswith(f"phalar {args[0]}: error: ")
    assert captured.err.count("\n") == 1  # one line
    for fragment in fragments:
        assert fragment in captured.err, captured.err
    return captured.err


@pytest.fixture
def bad_audio(tmp_path):
    """Files that must be refused, by the message fragment that names the problem."""
    files = {}
    files["no such file"] = tmp_path / "missing.wav"
    (tmp_path / "text.wav").write_text("not audio at all\n")
    files["not a readable audio file"] = tmp_path / "text.wav"
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), SR)
    files["holds no audio samples"] = tmp_path / "empty.wav"
    sf.write(tmp_path / "silent.wav", np.zeros(3 * SR, np.float32), SR)
    files["the audio is silent"] = tmp_path / "silent.wav"
    sf.write(tmp_path / "short.wav", 0.5 * np.ones(SR // 10, np.float32), SR)
    files["shorter than the model's minimum of 0.256 s"] = tmp_path / "short.wav"
    sf.write(tmp_path / "quiet.wav", np.full(3 * SR, 3e-4, np.float32), SR, subtype="FLOAT")
    files["every window is near-silent"] = tmp_path / "quiet.wav"
    sf.write(tmp_path / "cut.wav", np.full(3 * SR, 0.1, np.float32), SR)
    with open(tmp_path / "cut.wav", "r+b") as fhandle:  # 40 % of its bytes
        fhandle.truncate(int(0.4 * os.path.getsize(tmp_path / "cut.wav")))
    files["truncated audio file"] = tmp_path / "cut.wav"
    return {k: str(v) for k, v in files.items()}


def test_bad_audio_is_refused_by_every_command(bad_audio, audio, model_path, tmp_path, capsys):
    good, model = audio["bass1"], ["--model", model_path]
    for message, path in bad_audio.items():
        out = tmp_path / "emb.npz"
        fails(capsys, ["embed", good, path, "--out", str(out), *model], path, message)
        assert not out.exists()
        fails(capsys, ["score", good, path, "--no-calibration", *model], path, message)
        fails(capsys, ["score", path, good, "--no-calibration", *model], path, message)
        fails(capsys, ["align", good, path, *model], path, message)
    # A folder is a batch of stems for score and align; as a mix, or for embed, it is refused.
    folder, message = str(tmp_path), "is a folder, not an audio file: pass the files in it"
    for args in (
        ["embed", good, folder, "--out", str(tmp_path / "e.npz")],
        ["score", folder, good],
    ):
        fails(capsys, [*args, *model], folder, message)
    lib = tmp_path / "lib"
    assert main(["index", os.path.dirname(good), "--out", str(lib), *model]) == 0
    for message, path in bad_audio.items():
        fails(capsys, ["search", path, "--library", str(lib), *model], path, message)


def test_index_refuses_a_stem_shorter_than_the_windows(audio, model_path, tmp_path, capsys):
    # It cannot be searched: refused, or left out on request.
    stems = tmp_path / "stems"
    stems.mkdir()
    sf.write(stems / "a.wav", sf.read(audio["bass1"])[0], SR)
    sf.write(stems / "short.wav", sf.read(audio["bass2"])[0], SR)
    args = ["index", str(stems), "--out", str(tmp_path / "lib"), "--model", model_path]
    fails(capsys, args, "short.wav", "7.00 s", "shorter than the 10 s windows", "--skip-errors")
    assert not (tmp_path / "lib").exists()
    assert main(args + ["--skip-errors"]) == 0
    captured = capsys.readouterr()
    assert "skipping" in captured.err and "short.wav" in captured.err
    assert "1 windows of 1 stems" in captured.out


def test_failed_outputs_leave_nothing_behind(bad_audio, audio, model_path, tmp_path, capsys):
    out = tmp_path / "out" / "emb.npz"
    out.parent.mkdir()
    out.write_bytes(b"previous")
    args = ["embed", audio["bass1"], bad_audio["the audio is silent"], "--out", str(out)]
    fails(capsys, args + ["--model", model_path])
    assert os.listdir(out.parent) == ["emb.npz"] and out.read_bytes() == b"previous"
    # Index: one bad file stops the build unless asked to skip it.
    stems = tmp_path / "stems"
    stems.mkdir()
    sf.write(stems / "a.wav", sf.read(audio["bass1"])[0], SR)
    (stems / "b.wav").write_text("not audio")
    lib = tmp_path / "out" / "lib"
    fails(
        capsys,
        ["index", str(stems), "--out", str(lib), "--model", model_path],
        "b.wav",
        "--skip-errors",
    )
    assert os.listdir(out.parent) == ["emb.npz"]
    assert (
        main(["index", str(stems), "--out", str(lib), "--skip-errors", "--model", model_path]) == 0
    )
    captured = capsys.readouterr()
    assert "skipping" in captured.err and "b.wav" in captured.err
    assert "1 windows of 1 stems" in captured.out
    assert sorted(os.listdir(out.parent)) == ["emb.npz", "lib"]
    # A folder that is not a library is never overwritten; an unknown plot format writes nothing.
    fails(
        capsys,
        ["index", str(stems), "--out", str(stems), "--model", model_path],
        "not a stem library",
    )
    assert sorted(os.listdir(stems)) == ["a.wav", "b.wav"]
    # An existing folder as --out: named, and left as it was.
    args = ["embed", audio["bass1"], "--out", str(stems), "--model", model_path]
    fails(capsys, args, f"--out {stems}: is a folder, not a file to write")
    assert sorted(os.listdir(stems)) == ["a.wav", "b.wav"]
    plot = tmp_path / "out" / "curve.xyz"
    args = ["align", audio["mix"], audio["bass1"], "--max-offset", "0.04", "--plot", str(plot)]
    fails(capsys, args + ["--model", model_path], "--plot")
    assert sorted(os.listdir(out.parent)) == ["emb.npz", "lib"]


def test_bad_models_are_refused(audio, model_path, tmp_path, capsys, monkeypatch):
    args = ["embed", audio["bass1"], "--out", str(tmp_path / "e.npz")]
    # The default checkpoint, while it is not shipped.
    monkeypatch.setattr(base, "PRETRAINED_DIR", str(tmp_path / "no-pretrained"))
    fails(capsys, args, "'phalar-embedded' is not shipped", "--model PATH")
    fails(capsys, args + ["--model", "no-such-model"], "no-such-model")
    (tmp_path / "junk.pth").write_bytes(os.urandom(1000))
    torch.save({"weights": 1}, tmp_path / "dict.pth")
    package = torch.load(model_path, weights_only=True)
    torch.save(dict(package, model_name="NoSuchModel"), tmp_path / "unknown.pth")
    package["state_dict"] = {k: v[..., :1] for k, v in package["state_dict"].items()}
    torch.save(package, tmp_path / "shapes.pth")
    (tmp_path / "notes.pth").write_text("epoch 12: best so far\n")
    package = torch.load(model_path, weights_only=True)
    package["model_args"] = dict(package["model_args"], embed_dim=32)
    torch.save(package, tmp_path / "args.pth")
    (tmp_path / "run").mkdir()
    what = {
        "junk": "not a model file saved with torch.save(model.serialize(), path)",
        "notes": "not a model file saved with torch.save(model.serialize(), path)",
        "dict": "no 'model_name'",
        "unknown": "'NoSuchModel', not a contrastive encoder this version knows (COCOLA, PHALAR)",
        "shapes": "size mismatch for ",
        "args": "size mismatch for head.linear_in.weight: checkpoint [32, 32], model [64, 32]",
    }
    for name, fragment in what.items():
        path = str(tmp_path / f"{name}.pth")
        fails(capsys, args + ["--model", path], path, "not a usable model checkpoint", fragment)
    fails(capsys, args + ["--model", str(tmp_path / "run")], "run: a directory, not a model file")
    assert not (tmp_path / "e.npz").exists()


def test_bad_libraries_and_options(audio, model_path, tiny_model, tmp_path, capsys):
    model = ["--model", model_path]
    fails(
        capsys, ["search", audio["mix"], "--library", str(tmp_path), *model], "not a stem library"
    )
    lib = tmp_path / "lib"
    assert main(["index", os.path.dirname(audio["bass0"]), "--out", str(lib), *model]) == 0
    other = tmp_path / "other.pth"
    torch.save(tiny_model(seed=1).serialize(), other)
    fails(
        capsys,
        ["search", audio["mix"], "--library", str(lib), "--model", str(other)],
        "was built with model",
    )
    (lib / "meta.npz").write_bytes(b"corrupt")
    fails(
        capsys, ["search", audio["mix"], "--library", str(lib), *model], "unreadable stem library"
    )
    fails(
        capsys, ["index", str(tmp_path / "nowhere"), "--out", str(lib), *model], "not a directory"
    )
    (tmp_path / "empty").mkdir()
    fails(capsys, ["index", str(tmp_path / "empty"), "--out", str(lib), *model], "no audio files")
    fails(capsys, ["align", audio["mix"], audio["bass1"], "--step", "0", *model], "--step")
    with pytest.raises(SystemExit) as exit_info:
        main(["embed", audio["mix"], "--out", "x.npz", "--batch-size", "0"])
    assert exit_info.value.code == 2
