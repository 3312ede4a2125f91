"""``phalar index`` into an existing library (adds, re-embeds, drops, resumes, ``--rebuild``) and
``phalar search --exclude``."""

import json
import os
import shutil

import numpy as np
import pytest

from phalar_asteroid.cli import main
from phalar_asteroid.inference import embedding, model
from phalar_asteroid.inference.library import StemLibrary


def index(capsys, stems, lib, model_path, *extra):
    assert main(["index", stems, "--out", lib, "--json", "--model", model_path, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_index_adds_to_an_existing_library(
    stems, model_path, tmp_path, capsys, embedded, count_calls
):
    lib = str(tmp_path / "stems.lib")
    first = os.path.join(stems, "first")
    os.makedirs(first)
    for name in ("bass0.wav", "bass1.wav"):
        shutil.move(os.path.join(stems, name), first)
    assert index(capsys, first, lib, model_path)["n_stems"] == 2
    assert embedded == ["bass0.wav", "bass1.wav"]
    embedded.clear()

    # The whole folder: only the three files not yet in the library are embedded.
    result = index(capsys, stems, lib, model_path)
    assert embedded == ["bass3.wav", "bass4.wav", "melody_44k.wav"]
    assert result["n_stems"] == 5 and len(result["added"]) == 3 and result["dropped"] == []

    # Nothing new: no model is loaded and the library is left as it is.
    loads = count_calls(model, "load_model")
    written = os.stat(os.path.join(lib, "keys.npy")).st_mtime_ns
    assert main(["index", stems, "--out", lib, "--model", model_path]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert loads == [] and os.stat(os.path.join(lib, "keys.npy")).st_mtime_ns == written

    # A deleted stem is dropped (no model needed either); a search never lists it.
    os.remove(os.path.join(stems, "bass3.wav"))
    result = index(capsys, stems, lib, model_path)
    assert result["dropped"] == [os.path.join(stems, "bass3.wav")] and result["n_stems"] == 4
    assert loads == []

    # --rebuild embeds everything anew.
    embedded.clear()
    assert index(capsys, stems, lib, model_path, "--rebuild")["n_stems"] == 4
    assert len(embedded) == 4


def test_index_refuses_what_it_cannot_add_to(stems, model_path, tiny_model, tmp_path, capsys):
    import torch

    lib = str(tmp_path / "stems.lib")
    index(capsys, stems, lib, model_path)
    other = tmp_path / "other.pth"
    torch.save(tiny_model(seed=1).serialize(), other)
    assert main(["index", stems, "--out", lib, "--model", str(other)]) == 1
    assert "--rebuild" in capsys.readouterr().err
    assert main(["index", stems, "--out", lib, "--float16", "--model", model_path]) == 1
    assert "--rebuild" in capsys.readouterr().err
    # An old format is refused with the command that rebuilds it.
    meta = os.path.join(lib, "meta.npz")
    with np.load(meta) as npz:
        contents = dict(npz)
    contents["info"] = json.dumps(dict(json.loads(str(contents["info"])), format_version=1))
    np.savez(meta, **contents)
    for args in (
        ["index", stems, "--out", lib],
        ["search", os.path.join(stems, "bass0.wav"), "--library", lib],
    ):
        assert main(args + ["--model", model_path]) == 1
        err = capsys.readouterr().err
        assert "library format 1" in err and f"--out {lib} --rebuild" in err
    assert index(capsys, stems, lib, model_path, "--rebuild")["n_stems"] == 5


def test_an_interrupted_index_resumes(stems, model_path, tmp_path, capsys, monkeypatch):
    lib = str(tmp_path / "stems.lib")
    calls, original = [], embedding.embed_file

    def interrupted(model, path, batch_size=16):  # Ctrl-C while the third file is embedded
        calls.append(os.path.basename(path))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(model, path, batch_size)

    monkeypatch.setattr(embedding, "embed_file", interrupted)
    assert main(["index", stems, "--out", lib, "--model", model_path]) == 130
    err = capsys.readouterr().err
    assert f"saved 2 stems to {lib}: run again to resume" in err
    assert err.endswith("phalar index: interrupted\n")
    assert [os.path.basename(p) for p in StemLibrary.load(lib).paths] == calls[:2]
    calls.append("done")  # no more interruptions
    assert index(capsys, stems, lib, model_path)["n_stems"] == 5
    assert calls[4:] == ["bass3.wav", "bass4.wav", "melody_44k.wav"]


def test_search_exclude(audio, stems, model_path, tmp_path, capsys):
    lib = str(tmp_path / "stems.lib")
    index(capsys, stems, lib, model_path)
    args = ["search", audio["mix"], "--library", lib, "--top", "6", "--json", "--model", model_path]
    assert main(args) == 0
    everything = {hit["path"]: hit["score"] for hit in json.loads(capsys.readouterr().out)["hits"]}
    excluded = [os.path.join(stems, "bass0.wav"), os.path.join(stems, "melody_44k.wav")]
    assert main(args + ["--exclude", *excluded]) == 0
    result = json.loads(capsys.readouterr().out)
    kept = {hit["path"]: hit["score"] for hit in result["hits"]}
    assert result["excluded"] == excluded
    assert kept == {p: s for p, s in everything.items() if p not in excluded}
    # A path that matches no stem is a warning, not an error.
    assert main(args + ["--exclude", str(tmp_path / "nothing.wav")]) == 0
    captured = capsys.readouterr()
    assert f"--exclude {tmp_path / 'nothing.wav'}: no stem of {lib}" in captured.err
    assert len(json.loads(captured.out)["hits"]) == 5


def test_a_killed_index_resumes_from_its_last_checkpoint(
    stems, model_path, tmp_path, capsys, monkeypatch
):
    lib = str(tmp_path / "stems.lib")
    calls, original = [], embedding.embed_file

    def killed(model, path, batch_size=16):  # the process dies (no Ctrl-C handler runs)
        calls.append(os.path.basename(path))
        if len(calls) == 4:
            raise SystemExit(137)
        return original(model, path, batch_size)

    monkeypatch.setattr(embedding, "embed_file", killed)
    with pytest.raises(SystemExit):
        main(["index", stems, "--out", lib, "--model", model_path, "--checkpoint-every", "2"])
    assert [os.path.basename(p) for p in StemLibrary.load(lib).paths] == calls[:2]
    calls.append("done")
    assert index(capsys, stems, lib, model_path)["n_stems"] == 5
    assert calls[5:] == ["bass3.wav", "bass4.wav", "melody_44k.wav"]
