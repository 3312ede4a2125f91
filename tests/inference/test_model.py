"""``load_model``: one loader for every caller, with ValueError / OSError naming the file."""

import hashlib
import os

import numpy as np
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


def test_unusable_files_say_what_they_are_and_what_to_do(model_path, tmp_path):
    """Each message names the file, says what is wrong in one line and what to do."""
    package = torch.load(model_path, weights_only=True)
    (tmp_path / "junk.pth").write_bytes(os.urandom(256))
    (tmp_path / "notes.pth").write_text("epoch 12: best so far\n")
    torch.save(package["state_dict"], tmp_path / "weights.pth")
    torch.save(dict(package, infos={"loss": np.float64(0.5)}), tmp_path / "pickled.pth")
    torch.save(dict(package, model_name="NoSuchModel"), tmp_path / "unknown.pth")
    torch.save({k: v for k, v in package.items() if k != "model_args"}, tmp_path / "no_args.pth")
    torch.save(dict(package, model_args=dict(package["model_args"], foo=1)), tmp_path / "foo.pth")
    wider = dict(package["model_args"], embed_dim=32)
    torch.save(dict(package, model_args=wider), tmp_path / "wider.pth")
    state = dict(package["state_dict"], **{"extra.weight": torch.zeros(1)})
    torch.save(dict(package, state_dict=state), tmp_path / "extra.pth")
    (tmp_path / "exp").mkdir()
    torch.save(package, tmp_path / "exp" / "best_model.pth")
    expected = {
        "junk": ("not a model file saved with torch.save(model.serialize(), path)", "pass"),
        "notes": ("not a model file saved with torch.save(model.serialize(), path)", "pass"),
        "pickled": ("Python objects (numpy", "torch.save(model.serialize(), path)"),
        "weights": ("no 'model_name'", "a bare state_dict", "serialize()"),
        "unknown": (
            "'NoSuchModel', not a contrastive encoder this version knows",
            "COCOLA, PHALAR",
        ),
        "no_args": ("no 'model_args' in it", "serialize()"),
        "foo": ("model_args do not build a PHALAR", "unexpected keyword argument 'foo'"),
        "wider": (
            "weights do not fit its model_args",
            "size mismatch for head.linear_in.weight: checkpoint [32, 32], model [64, 32]",
            "; 4 more",
            "serialize()",
        ),
        "extra": ("weights do not fit its model_args", 'unexpected key(s) in state_dict: "extra'),
    }
    for name, fragments in expected.items():
        path = str(tmp_path / f"{name}.pth")
        with pytest.raises(ValueError) as error:
            load_model(path, "cpu")
        message = str(error.value)
        assert message.startswith(f"{path}: not a usable model checkpoint: ")
        assert "\n" not in message and len(message) < 400, message
        for fragment in fragments:
            assert fragment in message, message
    folder = tmp_path / "exp"
    with pytest.raises(IsADirectoryError, match=f"{folder}: a directory, not a model file.*best_"):
        load_model(str(folder), "cpu")
