"""Configuration of the stem-retrieval recipe: its overlay names, and the model a conf describes.

The conf itself is read by :func:`phalar_asteroid.utils.config.load_conf`.
"""

import os

from phalar_asteroid.models import PHALAR
from phalar_asteroid.models.cocola import COCOLA


def overlay_paths(spec: str, local_dir: str) -> list:
    """Comma-separated overlay names or paths -> existing file paths.

    ``quick`` resolves to ``local/presets/quick.yml``, ``cocola`` to ``local/models/cocola.yml``
    (a preset-specific file ``local/presets/<preset>_<model>.yml`` is named explicitly).

    Args:
        spec (str): e.g. ``"models/cocola,presets/quick"`` or full paths.
        local_dir (str): the recipe's ``local/`` folder.

    Returns:
        list of str: paths.

    Raises:
        FileNotFoundError: naming the missing overlay.
    """
    paths = []
    for name in filter(None, (s.strip() for s in spec.split(","))):
        path = name if name.endswith(".yml") else os.path.join(local_dir, f"{name}.yml")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Overlay {name!r} not found (looked for {path})")
        paths.append(path)
    return paths


def build_model(conf: dict):
    """The encoder described by a (merged) configuration.

    Args:
        conf (dict): two-level configuration.

    Returns:
        ContrastiveEncoder: PHALAR or COCOLA.
    """
    arch = conf["model"]["arch"]
    sample_rate = conf["data"]["sample_rate"]
    if arch == "PHALAR":
        fb, m = conf["filterbank"], conf["model"]
        return PHALAR(
            sample_rate=sample_rate,
            frontend=fb["frontend"],
            n_bins=fb["n_bins"],
            bins_per_octave=fb["bins_per_octave"],
            fmin=fb["fmin"],
            hop_length=fb["hop_length"],
            db_floor=fb["db_floor"],
            backbone_width=m["backbone_width"],
            depth=m["depth"],
            dropout=m["dropout"],
            pool=m["pool"],
            lsp_channels=m["lsp_channels"],
            lsp_components=m["lsp_components"],
            lsp_padding=m["lsp_padding"],
            lsp_norm=m["lsp_norm"],
            lsp_output=m["lsp_output"],
            head=m["head"],
            embed_dim=m["embed_dim"],
            similarity=conf["similarity"]["sim_form"],
            grad_checkpointing=m["grad_checkpointing"],
        )
    if arch == "COCOLA":
        c = conf["cocola"]
        return COCOLA(
            sample_rate=sample_rate,
            features=c["features"],
            n_mels=c["n_mels"],
            embed_dim=conf["model"]["embed_dim"],
            dropout=conf["model"]["dropout"],
            stochastic_depth=c["stochastic_depth"],
        )
    raise ValueError(f"model.arch must be PHALAR or COCOLA, got {arch!r}")
