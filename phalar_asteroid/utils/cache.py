"""The one user cache folder of phalar_asteroid: downloads and calibration scores live there.

``$PHALAR_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/phalar_asteroid``, else
``~/.cache/phalar_asteroid``. Each use has its own subfolder (``models``, ``calibration``).
"""

import os


def cache_dir(*subfolders: str) -> str:
    """The cache folder, or a subfolder of it (not created here).

    Args:
        *subfolders (str): path components under the cache root, e.g. ``"models"``.

    Returns:
        str: the folder's path.
    """
    root = os.environ.get("PHALAR_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "phalar_asteroid")
    return os.path.join(root, *subfolders)
