"""Layer 1 of inference: a model by name, file, URL or hub id, ready to embed.

This is the one way the package loads a model for inference: the ``phalar`` command, the
recipes' evaluation stages and users all call :func:`load_model`.
"""

import os
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
        ConnectionError: a URL or hub id that can be neither downloaded nor found in the cache.
        ValueError: an unreadable or corrupt file, a model that is not a contrastive encoder,
            or an unusable device.
    """
    path = resolve_pretrained(str(name_or_path), cache_dir)
    unusable = f"{path}: not a usable model checkpoint"
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a file that is not a package
        raise ValueError(f"{unusable} ({_first_sentence(err)})") from None
    if not isinstance(package, dict) or "model_name" not in package:
        raise ValueError(f"{unusable} (no model package saved with serialize())")
    try:
        model_class = models.get(package["model_name"])
    except ValueError:
        model_class = None
    # Asteroid's registry also holds its separation models, which cannot score stems.
    if not (isinstance(model_class, type) and issubclass(model_class, ContrastiveEncoder)):
        raise ValueError(
            f"{unusable}: it holds {package['model_name']!r}, not a contrastive encoder "
            "(PHALAR or COCOLA)"
        )
    try:
        model = model_class.from_pretrained(package)
    except (ValueError, TypeError, RuntimeError, KeyError, AttributeError) as err:
        raise ValueError(f"{unusable} ({_first_sentence(err)})") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        model = model.to(device)
    except RuntimeError as err:
        raise ValueError(f"device {device}: {_first_sentence(err)}") from None
    return LoadedModel(model.eval(), os.path.abspath(path), sha256_file(path))
