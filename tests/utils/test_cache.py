"""One cache rule: $PHALAR_CACHE_DIR, else $XDG_CACHE_HOME/phalar_asteroid, else ~/.cache."""

import os

import pytest

from phalar_asteroid.models.base import resolve_pretrained
from phalar_asteroid.utils.cache import cache_dir


def test_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("PHALAR_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir("models") == str(tmp_path / "mine" / "models")
    monkeypatch.delenv("PHALAR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == str(tmp_path / "xdg" / "phalar_asteroid")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("calibration") == os.path.join(
        str(tmp_path / "home"), ".cache", "phalar_asteroid", "calibration"
    )


def test_downloads_follow_the_same_rule(monkeypatch, tmp_path):
    monkeypatch.setenv("PHALAR_CACHE_DIR", str(tmp_path))
    # Port 9 refuses at once: the error names the folder the download would be cached in.
    with pytest.raises(ConnectionError, match=f"no copy is cached in {tmp_path / 'models'}"):
        resolve_pretrained("http://127.0.0.1:9/phalar.pth")
