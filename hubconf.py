"""torch.hub entry points, as Asteroid and Beat This! offer them.

``torch.hub.load("<this repository>", "phalar_embedded", source="local")`` loads the checkpoint
shipped in the package with no network; ``phalar`` and ``cocola`` take any reference
``from_pretrained`` accepts (file, shipped name, URL, Hugging Face hub id), or build an untrained
model when given none.
"""

dependencies = ["torch", "torchaudio", "torchvision", "asteroid", "nnAudio", "librosa"]


def _load(cls, name_url_or_file, *args, **kwargs):
    if name_url_or_file is None:
        return cls(*args, **kwargs)
    return cls.from_pretrained(name_url_or_file, *args, **kwargs)


def phalar(name_url_or_file=None, *args, **kwargs):
    """PHALAR: untrained, or loaded from ``name_url_or_file``.

    Args:
        name_url_or_file (str, optional): see ``PHALAR.from_pretrained``.
        *args: model arguments.
        **kwargs: model arguments (override those of a loaded package).

    Returns:
        PHALAR: the model.
    """
    from phalar_asteroid.models import PHALAR

    return _load(PHALAR, name_url_or_file, *args, **kwargs)


def cocola(name_url_or_file=None, *args, **kwargs):
    """COCOLA: untrained, or loaded from ``name_url_or_file`` (see :func:`phalar`)."""
    from phalar_asteroid.models import COCOLA

    return _load(COCOLA, name_url_or_file, *args, **kwargs)


def phalar_embedded(**kwargs):
    """The ``phalar-embedded`` checkpoint shipped in the package (no network), in eval mode.

    Args:
        **kwargs: model arguments overriding those of the checkpoint.

    Returns:
        PHALAR: the model.
    """
    return phalar("phalar-embedded", **kwargs).eval()
