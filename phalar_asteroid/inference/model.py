"""Layer 1 of inference: a model by name, file, URL or hub id, ready to embed.

This is the one way the package loads a model for inference: the ``phalar`` command, the
recipes' evaluation stages and users all call :func:`load_model`.
"""

import os
import re
from dataclasses import dataclass

import torch

# Importing phalar_asteroid.models registers its classes, which from_pretrained looks up by name.
from .. import models
from ..models.base import ContrastiveEncoder, resolve_pretrained
from ..utils.io import sha256_file


@dataclass
class LoadedModel:
    """A model ready for inference, with what identifies it.

    Attributes:
        model (ContrastiveEncoder): in eval mode, on its device.
        path (str): the checkpoint file.
        fingerprint (str): SHA-256 of the checkpoint file (libraries and calibrations record it).
    """

    model: ContrastiveEncoder
    path: str
    fingerprint: str


def _first_sentence(err: Exception) -> str:
    # torch's load errors run to dozens of lines: keep the first sentence.
    return str(err).strip().splitlines()[0].split(". ")[0][:200] if str(err).strip() else ""


def _load_failure(err: Exception) -> str:
    """What a file that ``torch.load(weights_only=True)`` refuses is, and what to do."""
    unsupported = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
    if unsupported:  # a pickle of other Python objects, e.g. a whole model or numpy values
        return (
            f"it holds Python objects ({unsupported.group(1)}) that torch.load(weights_only=True) "
            "refuses: load it where you trust it and save it again with "
            "torch.save(model.serialize(), path)"
        )
    return (
        "not a model file saved with torch.save(model.serialize(), path): pass an "
        "experiment's best_model.pth, a shipped name or a hub id"
    )


def _state_dict_mismatch(err: Exception):
    """The first problem that torch's ``Error(s) in loading state_dict`` lists, in one line.

    Returns:
        str or None: None for any other error.
    """
    header, *details = str(err).splitlines() or [""]
    problems = [line.strip().rstrip(". ") for line in details if line.strip()]
    if not header.startswith("Error(s) in loading state_dict") or not problems:
        return None
    first = re.sub(
        r"copying a param with shape torch\.Size\((.*?)\) from checkpoint, the shape in "
        r"current model is torch\.Size\((.*?)\)",
        r"checkpoint \1, model \2",
        problems[0],
    )
    first = first[0].lower() + first[1:]  # "Missing key(s) in state_dict: ..."
    return first[:200] + (f"; {len(problems) - 1} more" if len(problems) > 1 else "")


def contrastive_encoders() -> list:
    """Names of the model classes :func:`load_model` loads."""
    return sorted(
        name
        for name in models.__all__
        if isinstance(getattr(models, name), type)
        and issubclass(getattr(models, name), ContrastiveEncoder)
    )


def load_model(name_or_path: str, device=None, cache_dir: str = None) -> LoadedModel:
    """Loads a contrastive encoder (PHALAR, COCOLA) for inference.

    Args:
        name_or_path (str): a file saved with ``model.serialize()`` (an experiment's
            ``best_model.pth``), a name in ``phalar_asteroid/pretrained/``, a URL or a Hugging
            Face hub id (see :func:`~phalar_asteroid.models.base.resolve_pretrained`).
        device (str or torch.device, optional): where the model runs; cuda when available by
            default.
        cache_dir (str, optional): download cache of URLs and hub ids.

    Returns:
        LoadedModel: the model in eval mode, its file and the file's fingerprint.

    Raises:
        FileNotFoundError: no such file or shipped name.
        IsADirectoryError: a directory (the message names the checkpoints in it).
        ConnectionError: a URL or hub id that can be neither downloaded nor found in the cache.
        ValueError: an unreadable or corrupt file, a model that is not a contrastive encoder,
            weights that do not fit the stored model arguments, or an unusable device; the
            message names the file, says what is wrong in one line and what to do.
    """
    path = resolve_pretrained(str(name_or_path), cache_dir)
    unusable = f"{path}: not a usable model checkpoint"
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:  # e.g. permission denied: the system's message names the file
        raise
    except Exception as err:  # torch raises many types for a file that is not a package
        raise ValueError(f"{unusable}: {_load_failure(err)}") from None
    save_again = "save the model with torch.save(model.serialize(), path)"
    if not isinstance(package, dict) or "model_name" not in package:
        raise ValueError(
            f"{unusable}: no 'model_name' in it (a bare state_dict or a Lightning checkpoint?): "
            f"{save_again}"
        )
    name, known = package["model_name"], ", ".join(contrastive_encoders())
    try:
        model_class = models.get(name)
    except ValueError:
        raise ValueError(
            f"{unusable}: it holds {name!r}, not a contrastive encoder this version knows "
            f"({known}): a checkpoint of another package, or of a newer phalar_asteroid?"
        ) from None
    # Asteroid's registry also holds its separation models, which cannot score stems.
    if not (isinstance(model_class, type) and issubclass(model_class, ContrastiveEncoder)):
        raise ValueError(
            f"{unusable}: it holds {name!r}, not a contrastive encoder ({known}): pass a "
            "checkpoint of one of these"
        )
    missing = [repr(key) for key in ("model_args", "state_dict") if key not in package]
    if missing:
        raise ValueError(f"{unusable}: no {' or '.join(missing)} in it: {save_again}")
    try:
        model = model_class.from_pretrained(package)
    except (ValueError, TypeError, RuntimeError, KeyError, AttributeError) as err:
        mismatch = _state_dict_mismatch(err)
        if mismatch:
            raise ValueError(
                f"{unusable}: its weights do not fit its model_args ({mismatch}): the file was "
                "edited or saved by another version; export it again with model.serialize()"
            ) from None
        raise ValueError(
            f"{unusable}: its model_args do not build a {model_class.__name__} "
            f"({_first_sentence(err)}): the file was saved by another version; export it again "
            "with model.serialize()"
        ) from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        model = model.to(device)
    except RuntimeError as err:
        raise ValueError(f"device {device}: {_first_sentence(err)}") from None
    return LoadedModel(model.eval(), os.path.abspath(path), sha256_file(path))
