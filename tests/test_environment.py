"""The installed stack against requirements/lock.txt, run before the rest of the suite.

A drift of one compiled package (torchaudio 2.11.1 beside torch 2.11.0 broke every fresh install)
otherwise shows up as a handful of collection errors far from its cause. Here it fails once, with
the package's name, the locked version and the installed one.
"""

import importlib
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "lock.txt"

#: Packages whose builds must match each other exactly (shared C++ ABI or compiled kernels).
COUPLED = ("torch", "torchaudio", "torchvision", "nnaudio")


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name (``nnAudio`` and ``nnaudio`` are one package)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """Parses ``name==version`` lines of a uv/pip-compile lock, ignoring comments and markers.

    Args:
        path: The lock file.

    Returns:
        Canonical package name -> locked version.
    """
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not requirement:
            continue
        name, sep, version = requirement.partition("==")
        if not sep:
            raise ValueError(f"{path}: '{line}' is not an exact pin (name==version)")
        pins[canonical(name)] = version.strip()
    return pins


def installed_versions() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def test_lock_parses_and_pins_the_coupled_binaries():
    pins = read_lock(LOCK)
    assert len(pins) > 100
    for name in COUPLED + ("madmom", "cython", "numpy", "setuptools"):
        assert name in pins, f"{LOCK} does not pin {name}"
    assert int(pins["setuptools"].split(".")[0]) < 81, "madmom 0.16.1 needs setuptools<81"


def test_installed_versions_equal_the_lock():
    installed = installed_versions()
    drift = [
        f"{name}: locked {locked}, installed {installed.get(name, 'nothing')}"
        for name, locked in sorted(read_lock(LOCK).items())
        if installed.get(name) != locked
    ]
    assert (
        not drift
    ), "environment differs from requirements/lock.txt (run `make clean install`):\n" + (
        "\n".join(drift)
    )


def test_pip_check_finds_no_broken_requirement():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"pip check:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize(
    "module",
    [
        "torch",
        "torchaudio",
        "torchvision",
        "asteroid",
        "asteroid_filterbanks",
        "nnAudio",
        "mirdata",
        "mir_eval",
        "pytorch_lightning",
        "phalar_asteroid.compat.madmom",
    ],
)
def test_compiled_stack_imports(module):
    # Loading torchaudio's extension is what failed on an ABI mismatch ("undefined symbol").
    importlib.import_module(module)


def test_torchaudio_extension_runs_against_this_torch():
    import torch
    import torchaudio

    resampled = torchaudio.functional.resample(torch.ones(1, 160), 16000, 8000)
    assert resampled.shape == (1, 80)
    assert torchaudio.__version__.split("+")[0] == read_lock(LOCK)["torchaudio"]
