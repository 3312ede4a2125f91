"""``load_model``: one loader for every caller, with ValueError / OSError naming the file."""

import hashlib
import os

import pytest
import torch

from phalar_asteroid.inference.model import load_model
from phalar_asteroid.models import PHALAR


def test_loads_in_eval_mode_with_its_fingerprint(model_path):
    loaded = load_model(model_path, "cpu")
    assert isinstance(loaded.model, PHALAR) and not loaded.model.training
    assert loaded.path == os.path.abspath(model_path)
    with open(model_path, "rb") as fhandle:
        assert loaded.fingerprint == hashlib.sha256(fhandle.read()).hexdigest()


def test_bad_references_raise_value_or_os_errors(model_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        load_model("no-such-model")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(os.urandom(256))
    with pytest.raises(ValueError, match=f"{junk}: not a usable model checkpoint"):
        load_model(str(junk))
    package = torch.load(model_path, weights_only=True)
    separator = tmp_path / "separator.pth"
    torch.save(dict(package, model_name="ConvTasNet", model_args={"n_src": 2}), separator)
    with pytest.raises(ValueError, match="holds 'ConvTasNet', not a contrastive encoder"):
        load_model(str(separator))
    with pytest.raises(ValueError, match="device no-such-device"):
        load_model(model_path, "no-such-device")
