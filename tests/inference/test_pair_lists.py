"""Pairs files and folders of stems for the batch forms of ``score`` and ``align``."""

import os
import shutil

import pytest

from phalar_asteroid.inference.pairs import Pair, expand_pairs, read_pairs


def test_read_pairs(tmp_path):
    path = tmp_path / "list" / "pairs.csv"
    path.parent.mkdir()
    path.write_text(
        "# a comment\n"
        "Stem, Mix ,take\n"
        "bass.wav,song/mix.wav,1\n"
        "\n"
        f'"with, comma.wav",{tmp_path / "abs.wav"},2\n'
    )
    folder = str(path.parent)
    assert read_pairs(str(path)) == [
        Pair(
            os.path.join(folder, "song/mix.wav"), os.path.join(folder, "bass.wav"), f"{path} line 3"
        ),
        Pair(str(tmp_path / "abs.wav"), os.path.join(folder, "with, comma.wav"), f"{path} line 5"),
    ]
    for text, message in (
        ("mix;stem\na;b\n", "needs a header row with the columns mix,stem"),
        ("", "got nothing"),
        ("mix,stem\n# nothing\n", "no pairs"),
        ("mix,stem\na.wav,b.wav\na.wav,\n", f"{path} line 3: no stem path"),
        ("mix,stem\n,\n", f"{path} line 2: no mix and no stem path"),
    ):
        path.write_text(text)
        with pytest.raises(ValueError, match=message):
            read_pairs(str(path))
    with pytest.raises(OSError):
        read_pairs(str(tmp_path / "missing.csv"))


def test_expand_pairs_takes_folders_and_leaves_the_mix_out(audio, tmp_path):
    song = tmp_path / "song"
    shutil.copytree(os.path.dirname(audio["bass0"]), song)
    shutil.copy(audio["mix"], song / "mix.wav")
    mix = str(song / "mix.wav")
    pairs = expand_pairs(mix, [str(song), audio["bass0"]])
    assert [p.stem for p in pairs] == [
        str(song / name) for name in sorted(os.listdir(song)) if name != "mix.wav"
    ] + [audio["bass0"]]
    assert {p.mix for p in pairs} == {mix} and {p.where for p in pairs} == {""}
